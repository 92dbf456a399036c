package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/webhook"
)

func serve(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	logger := cfg.Logger(stderr)
	var simulator *devPlinx
	if cfg.PlinxURL == "" {
		var err error
		if simulator, err = startDevPlinx(logger); err != nil {
			return err
		}
		defer simulator.close()
		cfg.PlinxURL, cfg.PlinxToken = simulator.url, config.Secret(simulator.sim.Token())
		logger.Warn("ATENDE_PLINX_URL is not set: serving the Plinx simulator in-process for development; "+
			"drive it through its admin API", "plinx_url", simulator.url, "admin", simulator.url+"/_admin/state")
	}
	a, err := app.New(ctx, cfg, logger, clock.System{})
	if err != nil {
		return err
	}
	defer a.Close()
	created, key, err := a.Bootstrap(ctx)
	if err != nil {
		return err
	}
	if created && key != "" {
		// Shown once, outside the structured log, on purpose: it is the only way to learn this key.
		fmt.Fprintf(stderr, "\n  Created tenant \"default\". Its admin API key (shown only now):\n\n    %s\n\n"+
			"  Set ATENDE_BOOTSTRAP_ADMIN_KEY to choose this key yourself on a new database.\n\n", key)
	}
	ln, err := a.Listen()
	if err != nil {
		return err
	}
	if simulator != nil && created {
		// A fresh development install: let the simulator's webhooks reach the default tenant.
		if err := simulator.connect(ctx, a, "http://"+ln.Addr().String()); err != nil {
			return err
		}
	}
	return a.Serve(ctx, ln)
}

// devPlinx is the Plinx simulator served in-process when no Plinx is configured.
type devPlinx struct {
	sim *sim.Server
	srv *http.Server
	url string
}

func startDevPlinx(logger *slog.Logger) (*devPlinx, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the Plinx simulator: %w", err)
	}
	s := sim.New(sim.Options{Logger: logger.With("component", "plinx-sim")})
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &devPlinx{sim: s, srv: srv, url: "http://" + ln.Addr().String()}, nil
}

// connect points the simulator's webhooks at the default tenant of a new install, with a fresh secret.
func (d *devPlinx) connect(ctx context.Context, a *app.App, atendeURL string) error {
	t, err := a.Tenants.DefaultTenant(ctx)
	if err != nil {
		return err
	}
	secret := webhook.NewSecret()
	if _, err := a.Tenants.UpdatePlinxSettings(ctx, t.ID, tenant.PlinxPatch{
		WebhookSecret: tenant.Optional[string]{Set: true, Value: &secret},
	}, nil); err != nil {
		return err
	}
	_, err = d.sim.SetWebhook(sim.WebhookConfig{URL: atendeURL + "/v1/webhooks/plinx/" + t.ID.String(), Secret: secret})
	return err
}

func (d *devPlinx) close() {
	d.sim.Close()
	_ = d.srv.Close()
}
