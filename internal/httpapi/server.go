// Package httpapi is atende's HTTP face: echo wiring, authentication, request validation against the
// OpenAPI contract, problem+json errors, idempotency, rate limits, metrics, and the handlers — thin
// translators between the generated API types and the domain packages.
package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/idempotency"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/portfolio"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/ticket"
)

// Config holds the HTTP settings.
type Config struct {
	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit int64
	// UploadLimit is the largest streamed upload (contact imports), in bytes.
	UploadLimit int64
	// RateLimit is the sustained requests per second per API key; RateBurst the bucket size.
	RateLimit float64
	RateBurst int
	// OperatorKey authorises POST /v1/tenants; empty disables it.
	OperatorKey string
	// RequestTimeout bounds each request but uploads and event streams (default 30 s).
	RequestTimeout time.Duration
}

// Deps are the services the API serves.
type Deps struct {
	DB            *store.DB
	Tenants       *tenant.Service
	CRM           *crm.Service
	Conversations *conversation.Service
	Dialer        *dialer.Service
	Tickets       *ticket.Service
	Portfolios    *portfolio.Service
	Router        *routing.Router
	// Outbound keeps the outbound webhook endpoints and their deliveries.
	Outbound    *outbound.Service
	Hub         *events.Hub
	Idempotency *idempotency.Store
	Clock       clock.Clock
	Logger      *slog.Logger
	// Registry receives the HTTP metrics and is served at /metrics.
	Registry *prometheus.Registry
}

// Server implements the generated strict server interface, one embedded handler set per resource.
type Server struct {
	systemHandlers
	tenantHandlers
	meHandlers
	userHandlers
	apiKeyHandlers
	settingsHandlers
	recordHandlers
	phoneHandlers
	resultHandlers
	interactionHandlers
	calendarHandlers
	importHandlers
	conversationHandlers
	dialerHandlers
	ticketHandlers
	portfolioHandlers
	routingHandlers
	webhookEndpointHandlers
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New builds the HTTP handler for the whole API.
func New(cfg Config, deps Deps) (*echo.Echo, error) {
	ct, err := loadContract()
	if err != nil {
		return nil, err
	}
	docs, err := newDocsPage(ct)
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(deps.Logger)

	e.Use(
		middleware.RequestID(),
		accessLog(deps.Logger, newHTTPMetrics(deps.Registry)),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			DisablePrintStack: true,
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				deps.Logger.ErrorContext(c.Request().Context(), "panic serving request",
					"request_id", requestID(c), "error", err, "stack", string(stack))
				return err
			},
		}),
		matchOperation(ct),
		boundRequests(cfg.RequestTimeout),
		limitBodies(cfg.BodyLimit, cfg.UploadLimit),
		authenticate(ct, deps.Tenants, cfg.OperatorKey, map[string]webhookSecret{
			"receivePlinxWebhook":     plinxWebhookSecret(deps.Tenants),
			"receiveIntegrationEvent": integrationWebhookSecret(deps.Tickets, deps.Clock),
		}, deps.Clock),
		limitRate(newRateLimiter(cfg.RateLimit, cfg.RateBurst), deps.Clock),
		validateRequests(),
		idempotent(deps.Idempotency, deps.Logger),
	)

	srv := &Server{
		systemHandlers:          systemHandlers{db: deps.DB},
		tenantHandlers:          tenantHandlers{tenants: deps.Tenants},
		meHandlers:              meHandlers{},
		userHandlers:            userHandlers{tenants: deps.Tenants},
		apiKeyHandlers:          apiKeyHandlers{tenants: deps.Tenants},
		settingsHandlers:        settingsHandlers{tenants: deps.Tenants},
		recordHandlers:          recordHandlers{crm: deps.CRM},
		phoneHandlers:           phoneHandlers{crm: deps.CRM},
		resultHandlers:          resultHandlers{crm: deps.CRM},
		interactionHandlers:     interactionHandlers{crm: deps.CRM},
		calendarHandlers:        calendarHandlers{tenants: deps.Tenants, clock: deps.Clock},
		importHandlers:          importHandlers{crm: deps.CRM},
		conversationHandlers:    conversationHandlers{conversations: deps.Conversations, tenants: deps.Tenants},
		dialerHandlers:          dialerHandlers{dialer: deps.Dialer},
		ticketHandlers:          ticketHandlers{tickets: deps.Tickets},
		portfolioHandlers:       portfolioHandlers{portfolios: deps.Portfolios},
		routingHandlers:         routingHandlers{router: deps.Router},
		webhookEndpointHandlers: webhookEndpointHandlers{outbound: deps.Outbound},
	}
	gen.RegisterHandlers(e, gen.NewStrictHandler(srv, nil))

	gzip := middleware.Gzip()
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(deps.Registry, promhttp.HandlerOpts{})))
	e.GET("/openapi.yaml", serveSpec, gzip)
	e.GET("/docs", docs.serve, gzip)
	e.GET("/v1/dialer/sessions/:id/events", sessionEvents(deps.Dialer, deps.Hub))
	return e, nil
}

// NewHTTPServer wraps the handler in an http.Server with timeouts fit for an API.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// No WriteTimeout: event streams stay open; handlers bound their own work.
	}
}

// ifMatch reads an If-Match header written from an etag: a quoted version, possibly weak, or "*". It
// returns the version to check, nil for "*" or no header, and false for a value this API never issued.
func ifMatch(h *string) (*int64, bool) {
	if h == nil || *h == "*" {
		return nil, true
	}
	s := strings.TrimPrefix(strings.TrimSpace(*h), "W/")
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return nil, false
	}
	v, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	if err != nil || v < 1 {
		return nil, false
	}
	return &v, true
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }
