// Package app assembles atende from its parts — database, domain services, HTTP API, background loops —
// for the serve command and for end-to-end tests, so both run the same wiring.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/httpapi"
	"github.com/atende/atende/internal/idempotency"
	"github.com/atende/atende/internal/inbox"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/plinx"
	"github.com/atende/atende/internal/portfolio"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/telephony"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/ticket"
)

// App is a running atende: its database, services and HTTP handler.
type App struct {
	cfg     config.Config
	logger  *slog.Logger
	clock   clock.Clock
	DB      *store.DB
	Tenants *tenant.Service
	// CRM is the records service.
	CRM *crm.Service
	// Conversations is the WhatsApp conversations service.
	Conversations *conversation.Service
	// Dialer is the dialer service; Telephony the simulated telephony it places calls on when the tenant
	// uses no other.
	Dialer    *dialer.Service
	Telephony *telephony.Simulated
	// Tickets is the tickets service: integrations, tickets, procedures and their WhatsApp messages.
	Tickets *ticket.Service
	// Portfolios groups contacts in portfolios owned by agents.
	Portfolios *portfolio.Service
	// Router routes new conversations to agents and moves waiting ones on.
	Router *routing.Router
	// Outbound keeps the outbound webhook endpoints and delivers events to them.
	Outbound *outbound.Service
	Hub      *events.Hub
	plinx    *plinx.Clients
	// Handler serves the whole HTTP API.
	Handler *echo.Echo

	// Idempotency stores the responses of idempotent writes.
	Idempotency *idempotency.Store
}

// New migrates the database to the current schema, opens it and builds the services and the API.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, clk clock.Clock) (*App, error) {
	if err := store.MigrateUp(cfg.DatabaseURL); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &App{
		cfg: cfg, logger: logger, clock: clk, DB: db,
		Tenants:     tenant.NewService(db.DB, clk),
		CRM:         crm.NewService(db, clk),
		Idempotency: idempotency.NewStore(db.DB, clk),
	}
	a.Outbound = outbound.NewService(db, clk, logger.With("component", "webhooks"), outbound.NewMetrics(reg))
	a.Conversations = conversation.NewService(db, a.CRM, clk)
	a.Conversations.SetOutbox(a.Outbound)
	a.Portfolios = portfolio.NewService(db, clk)
	a.Router = routing.New(routing.Deps{DB: db, Conversations: a.Conversations, Clock: clk,
		Logger: logger.With("component", "routing"), Metrics: routing.NewMetrics(reg)})
	a.Conversations.OnQualified(func(ctx context.Context, tx bun.Tx, actor tenant.Actor, c conversation.Conversation) error {
		return a.Portfolios.FileOnQualification(ctx, tx, actor, c.ContactID)
	})
	a.plinx = plinx.NewClients(plinx.Config{BaseURL: cfg.PlinxURL, Token: cfg.PlinxToken.Reveal(), Timeout: cfg.PlinxTimeout,
		Logger: logger.With("component", "plinx")}, reg)
	a.Hub = events.NewHub(db, logger.With("component", "events"))
	mode, err := telephony.ParseMode(cfg.TelephonySimulator)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	a.Telephony = telephony.NewSimulated(func(ctx context.Context, ev telephony.Event) error {
		return a.Dialer.CallEvent(ctx, ev)
	}, clk, telephony.SimulatedOptions{Mode: mode, Logger: logger.With("component", "telephony"), Reporters: 4,
		// In auto mode the adapter runs unattended for as long as the server does (development, load runs):
		// it keeps counts, not every call. Manual mode keeps the calls, for tests to look at.
		CountOnly:   mode == telephony.Auto,
		ReportBatch: func(ctx context.Context, evs []telephony.Event) []error { return a.Dialer.CallEvents(ctx, evs) }})
	if len(cfg.TelephonyScript) > 0 {
		a.Telephony.SetDefault(cfg.TelephonyScript...)
	}
	webhookPhones := telephony.NewWebhook(telephony.WebhookOptions{Clock: clk, Logger: logger.With("component", "telephony"),
		Target: func(ctx context.Context, tenantID uuid.UUID) (string, string, error) {
			st, err := a.Dialer.Settings(ctx, tenantID)
			if err != nil || st.TelephonyURL == nil || st.TelephonySecret == nil {
				return "", "", err
			}
			return *st.TelephonyURL, *st.TelephonySecret, nil
		}})
	router := telephony.NewRouter(func(ctx context.Context, tenantID uuid.UUID) (string, error) {
		st, err := a.Dialer.Settings(ctx, tenantID)
		return st.TelephonyAdapter, err
	}, map[string]telephony.Port{telephony.AdapterSimulated: a.Telephony, telephony.AdapterWebhook: webhookPhones})
	checker := newPlinxChecker(a.Tenants, a.plinx)
	a.Tickets = ticket.NewService(ticket.Deps{DB: db, Tenants: a.Tenants, Clock: clk, Logger: logger.With("component", "tickets"),
		PublicURL: cfg.PublicURL, Plinx: checker, Metrics: ticket.NewMetrics(reg), Outbox: a.Outbound})
	a.Conversations.OnUnknownMessageStatus(func(ctx context.Context, tx bun.Tx, tenantID uuid.UUID, ev conversation.Event) (bool, error) {
		m := ev.Message
		return a.Tickets.ApplyMessageStatus(ctx, tx, tenantID, ticket.StatusUpdate{PlinxMessageID: m.ID, Status: m.Status,
			OccurredAt: ev.OccurredAt, ErrorCode: m.ErrorCode, ErrorMessage: m.ErrorMessage})
	})
	a.Dialer = dialer.NewService(dialer.Deps{DB: db, Tenants: a.Tenants, Clock: clk, Checker: checker,
		Telephony: router, Hub: a.Hub, Logger: logger.With("component", "dialer"), Metrics: dialer.NewMetrics(reg, db), Outbox: a.Outbound})
	a.Handler, err = httpapi.New(httpapi.Config{
		BodyLimit: cfg.BodyLimit, UploadLimit: cfg.UploadLimit, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
		OperatorKey: cfg.OperatorKey.Reveal(), RequestTimeout: cfg.RequestTimeout,
	}, httpapi.Deps{
		DB: db, Tenants: a.Tenants, CRM: a.CRM, Conversations: a.Conversations, Dialer: a.Dialer, Tickets: a.Tickets, Portfolios: a.Portfolios, Router: a.Router, Outbound: a.Outbound, Hub: a.Hub, Idempotency: a.Idempotency, Clock: clk, Logger: logger, Registry: reg,
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

// Bootstrap creates the "default" tenant on an empty database. Its admin key is the configured bootstrap
// key or, without one, a generated key returned here to be shown once.
func (a *App) Bootstrap(ctx context.Context) (created bool, generatedKey string, err error) {
	p, err := a.Tenants.Bootstrap(ctx, a.cfg.BootstrapAdminKey.Reveal())
	if err != nil || p == nil {
		return false, "", err
	}
	a.logger.Info("created the default tenant on an empty database",
		"tenant_id", p.Tenant.ID.String(), "admin_user_id", p.Admin.ID.String(), "api_key_prefix", p.Key.Key.Prefix)
	if a.cfg.BootstrapAdminKey != "" {
		return true, "", nil
	}
	return true, p.Key.Secret, nil
}

// Serve serves HTTP on ln and runs the background loops until ctx ends, then shuts down gracefully: HTTP
// first, then the loops.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := httpapi.NewHTTPServer(ln.Addr().String(), a.Handler)
	loops, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.sweep(loops) })
	if err := a.Hub.Start(loops); err != nil {
		stopLoops()
		return err
	}
	workers := a.startWorkers(loops)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.logger.Info("serving HTTP", "addr", ln.Addr().String(), "database", string(a.DB.Kind))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		a.logger.Error("HTTP shutdown", "error", err)
	}
	a.stopWorkers(workers)
	stopLoops()
	wg.Wait()
	a.Hub.Stop()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// Close releases the database and the clients.
func (a *App) Close() error {
	_ = a.Telephony.Close()
	a.plinx.Close()
	return a.DB.Close()
}

// background is what a process runs besides the API: dial queue workers, a message sender, a webhook
// deliverer and the routing sweep.
type background struct {
	dialers   []*dialer.Worker
	sender    *ticket.Sender
	deliverer *outbound.Deliverer
	// stopRouter ends the routing sweep and waits for its pass in progress.
	stopRouter func()
}

// startWorkers starts the configured number of dial queue workers and, with any, the message sender and
// the routing sweep (overflow of offered conversations, queued ones to members who became available).
func (a *App) startWorkers(ctx context.Context) background {
	bg := background{dialers: make([]*dialer.Worker, a.cfg.Workers)}
	for i := range bg.dialers {
		bg.dialers[i] = a.Dialer.NewWorker(dialer.WorkerOptions{Lease: a.cfg.WorkerLease, Batch: a.cfg.WorkerBatch})
		bg.dialers[i].Start(ctx)
	}
	if len(bg.dialers) > 0 {
		// A send holds its lease through a WhatsApp check and a send, each bounded by the Plinx timeout
		// (retries included); the lease outlasts both with room to record the outcome.
		lease := max(a.cfg.WorkerLease, 4*a.cfg.PlinxTimeout)
		bg.sender = a.Tickets.NewSender(ticket.SenderOptions{Rate: a.cfg.PlinxSendRate, Lease: lease})
		bg.sender.Start(ctx)
		// A delivery's lease outlasts its POST and the recording of the answer.
		timeout := cmp.Or(a.cfg.WebhookTimeout, 15*time.Second)
		bg.deliverer = a.Outbound.NewDeliverer(outbound.DelivererOptions{Timeout: timeout, Lease: max(a.cfg.WorkerLease, 2*timeout)})
		bg.deliverer.Start(ctx)
		routerCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.Router.Run(routerCtx, time.Second)
		}()
		bg.stopRouter = func() {
			cancel()
			<-done
		}
		a.logger.Info("dial queue workers, message sender and webhook deliverer running", "workers", len(bg.dialers))
	}
	return bg
}

// stopWorkers lets the workers settle what they hold and the sender record the sends in flight, within
// the shutdown timeout.
func (a *App) stopWorkers(bg background) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range bg.dialers {
		wg.Go(func() { w.Stop(ctx) })
	}
	if bg.sender != nil {
		wg.Go(func() { bg.sender.Stop(ctx) })
	}
	if bg.deliverer != nil {
		wg.Go(func() { bg.deliverer.Stop(ctx) })
	}
	if bg.stopRouter != nil {
		wg.Go(bg.stopRouter)
	}
	wg.Wait()
}

// RunWorkers runs the dial queue workers and the event hub, without the API, until ctx ends.
func (a *App) RunWorkers(ctx context.Context) error {
	loops, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	if err := a.Hub.Start(loops); err != nil {
		return err
	}
	defer a.Hub.Stop()
	if a.cfg.Workers < 1 {
		a.cfg.Workers = 1
	}
	workers := a.startWorkers(loops)
	<-ctx.Done()
	a.stopWorkers(workers)
	return nil
}

// sweep forgets, hourly, the idempotency keys and webhook deliveries past their retention, and refreshes
// SQLite's planner statistics.
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := a.Idempotency.Sweep(ctx)
		if err == nil {
			var m int64
			m, err = inbox.Sweep(ctx, a.DB, a.clock.Now().Add(-inbox.Retention))
			n += m
		}
		if err == nil {
			var m int64
			m, err = a.Tickets.SweepPendingStatuses(ctx, a.clock.Now().Add(-inbox.Retention))
			n += m
		}
		if err == nil {
			var m int64
			m, err = a.Outbound.Sweep(ctx, a.clock.Now().Add(-outbound.Retention))
			n += m
		}
		if err == nil {
			err = a.DB.Optimize(ctx)
		}
		if err != nil && ctx.Err() == nil {
			a.logger.Error("sweep expired keys and deliveries", "error", err)
		} else if n > 0 {
			a.logger.Debug("swept expired keys and deliveries", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Listen opens the configured address.
func (a *App) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	return ln, nil
}
