package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/ticket"
)

const operationKey = "atende.operation"

// operationOf returns the contract operation matched for the request, or nil outside the contract.
func operationOf(c echo.Context) *operation {
	op, _ := c.Get(operationKey).(*operation)
	return op
}

// matchOperation finds the contract operation of the route echo matched and records the request's id and
// path for problem documents.
func matchOperation(ct *contract) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := withRequestInfo(req.Context(), requestInfo{id: requestID(c), path: req.URL.Path})
			c.SetRequest(req.WithContext(ctx))
			if op := ct.lookup(req.Method, c.Path()); op != nil {
				c.Set(operationKey, op)
			}
			return next(c)
		}
	}
}

// boundRequests gives each request a deadline, so that one waiting for a database connection the pool
// cannot give, or for a database that does not answer, ends as a 503 instead of hanging. Uploads and event
// streams last as long as they need.
func boundRequests(timeout time.Duration) echo.MiddlewareFunc {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if op := operationOf(c); op != nil && (op.stream || op.events) {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			if err := next(c); err != nil {
				// Rendered while the deadline still stands, so a cancelled context means the client left.
				c.Error(err)
			}
			return nil
		}
	}
}

// caller is who a request authenticated as: a tenant principal, the operator, or a signed webhook.
type caller struct {
	principal *tenant.Principal
	operator  bool
	webhook   *webhookCaller
}

// webhookCaller is a verified webhook delivery: the tenant it is for and its delivery id.
type webhookCaller struct {
	tenant tenant.Tenant
	id     string
	// subject is the object the delivery is addressed to (an integration), when the route names one.
	subject any
}

// rateKey identifies the caller for rate limiting.
func (c caller) rateKey() string {
	switch {
	case c.principal != nil:
		return c.principal.Key.ID.String()
	case c.webhook != nil:
		if ig, ok := c.webhook.subject.(ticket.Integration); ok {
			return "integration:" + ig.ID.String()
		}
		return "webhook:" + c.webhook.tenant.ID.String()
	}
	return "operator"
}

// webhookFrom returns the verified delivery of a signed webhook operation.
func webhookFrom(ctx context.Context) webhookCaller {
	c, _ := callerFrom(ctx)
	if c.webhook == nil {
		panic("httpapi: no verified delivery on a signed webhook operation")
	}
	return *c.webhook
}

type callerKey struct{}

func callerFrom(ctx context.Context) (caller, bool) {
	c, ok := ctx.Value(callerKey{}).(caller)
	return c, ok
}

// principalFrom returns the tenant principal of an API-key request. The contract middleware guarantees one
// on every operation secured by an API key.
func principalFrom(ctx context.Context) tenant.Principal {
	c, _ := callerFrom(ctx)
	if c.principal == nil {
		panic("httpapi: no principal on an API-key operation")
	}
	return *c.principal
}

// authenticate enforces the operation's security scheme and, for API keys, its roles.
func authenticate(ct *contract, tenants *tenant.Service, operatorKey string, secrets map[string]webhookSecret, clk clock.Clock) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op := operationOf(c)
			if op != nil && op.signed {
				return verifyWebhook(c, op, secrets[op.id], clk, next)
			}
			if op == nil || op.scheme == "" {
				return next(c)
			}
			ctx := c.Request().Context()
			secret, err := bearer(c.Request())
			if err != nil {
				return unauthorized(ctx, err.Error())
			}
			var who caller
			switch op.scheme {
			case schemeOperator:
				if operatorKey == "" {
					return problemErr(ctx, http.StatusUnauthorized, problemUnauthorized,
						"Tenant provisioning is disabled: the server has no operator key configured.")
				}
				if subtle.ConstantTimeCompare([]byte(secret), []byte(operatorKey)) != 1 {
					return unauthorized(ctx, "The operator key is not valid.")
				}
				who.operator = true
			case schemeAPIKey:
				p, err := tenants.Authenticate(ctx, secret)
				switch {
				case errors.Is(err, tenant.ErrKeyUnknown):
					return unauthorized(ctx, "The API key is not valid.")
				case errors.Is(err, tenant.ErrKeyRevoked):
					return unauthorized(ctx, "The API key has been revoked.")
				case errors.Is(err, tenant.ErrKeyExpired):
					return unauthorized(ctx, "The API key has expired.")
				case errors.Is(err, tenant.ErrUserDisabled):
					return unauthorized(ctx, "The API key's user is disabled.")
				case err != nil:
					return err
				}
				if !op.allows(p.User.Role) {
					return problemErr(ctx, http.StatusForbidden, problemForbidden,
						fmt.Sprintf("This operation needs one of the roles %s; the API key's user is %s.",
							rolesText(op.roles), p.User.Role))
				}
				who.principal = &p
			}
			c.SetRequest(c.Request().WithContext(context.WithValue(ctx, callerKey{}, who)))
			return next(c)
		}
	}
}

func bearer(r *http.Request) (string, error) {
	h := r.Header.Get(echo.HeaderAuthorization)
	if h == "" {
		return "", errors.New(`The Authorization header is missing; send "Authorization: Bearer <api key>".`)
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", errors.New(`The Authorization header must be "Bearer <api key>".`)
	}
	return token, nil
}

func unauthorized(ctx context.Context, detail string) *problemError {
	e := problemErr(ctx, http.StatusUnauthorized, problemUnauthorized, detail)
	e.headers = map[string]string{"WWW-Authenticate": `Bearer realm="atende"`}
	return e
}

// rateLimiter keeps one token bucket per caller.
type rateLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limiter  *rate.Limiter
	lastSeen time.Time
}

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	return &rateLimiter{limit: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucket{}}
}

// allow takes a token for key; when none is left it says how long until one is.
func (rl *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if now.Sub(rl.lastSweep) > time.Minute {
		for k, b := range rl.buckets {
			if now.Sub(b.lastSeen) > 10*time.Minute {
				delete(rl.buckets, k)
			}
		}
		rl.lastSweep = now
	}
	b, ok := rl.buckets[key]
	if !ok {
		b = &bucket{limiter: rate.NewLimiter(rl.limit, rl.burst)}
		rl.buckets[key] = b
	}
	b.lastSeen = now
	r := b.limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limitRate answers 429 with Retry-After once a caller is over its rate.
func limitRate(rl *rateLimiter, clk clock.Clock) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			who, ok := callerFrom(c.Request().Context())
			if !ok {
				return next(c)
			}
			allowed, wait := rl.allow(who.rateKey(), clk.Now())
			if !allowed {
				secs := int(math.Ceil(wait.Seconds()))
				e := problemErr(c.Request().Context(), http.StatusTooManyRequests, problemRateLimited,
					fmt.Sprintf("This API key is over its rate limit; retry in %d s.", secs))
				e.headers = map[string]string{"Retry-After": strconv.Itoa(secs)}
				return e
			}
			return next(c)
		}
	}
}

// accessLog logs one line per request — never its headers, query string or body, which may hold secrets
// and personal data — and feeds the HTTP metrics. Errors are rendered here so the line has the final status.
func accessLog(logger *slog.Logger, m *httpMetrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)
			route := c.Path()
			if operationOf(c) == nil && c.Response().Status == http.StatusNotFound {
				route = "unmatched"
			}
			status := c.Response().Status
			m.observe(c.Request().Method, route, status, elapsed)
			attrs := []slog.Attr{
				slog.String("request_id", requestID(c)),
				slog.String("method", c.Request().Method),
				slog.String("route", route),
				slog.String("path", c.Request().URL.Path),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes_out", c.Response().Size),
			}
			if who, ok := callerFrom(c.Request().Context()); ok && who.principal != nil {
				attrs = append(attrs,
					slog.String("tenant_id", who.principal.Tenant.ID.String()),
					slog.String("user_id", who.principal.User.ID.String()),
					slog.String("api_key_id", who.principal.Key.ID.String()))
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		}
	}
}
