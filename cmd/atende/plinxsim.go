package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/atende/atende/internal/plinx/sim"
)

// plinxSim serves the Plinx simulator (internal/plinx/sim) until ctx ends. It reads only its own settings,
// ATENDE_PLINX_SIM_ADDR and ATENDE_PLINX_SIM_TOKEN, which its flags override.
func plinxSim(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("plinx-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("ATENDE_PLINX_SIM_ADDR", "127.0.0.1:8090"), "listen address (ATENDE_PLINX_SIM_ADDR)")
	token := fs.String("token", envOr("ATENDE_PLINX_SIM_TOKEN", sim.DefaultToken), "bearer token required on /v1 (ATENDE_PLINX_SIM_TOKEN)")
	webhookURL := fs.String("webhook-url", "", "where to send webhooks (also POST /_admin/config)")
	webhookSecret := fs.String("webhook-secret", "", "whsec_ secret to sign them with (default: a new one, shown by GET /_admin/config)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if *token == "" {
		return errors.New("plinx-sim: the token must not be empty")
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	s := sim.New(sim.Options{Token: *token, Logger: logger,
		Webhook: sim.WebhookConfig{URL: *webhookURL, Secret: *webhookSecret}})
	defer s.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("plinx-sim: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("plinx simulator listening", "addr", ln.Addr().String(), "default_token", *token == sim.DefaultToken,
		"webhook_url", *webhookURL, "admin", "/_admin/state")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	select {
	case err := <-done:
		return fmt.Errorf("plinx-sim: %w", err)
	case <-ctx.Done():
	}
	s.Close() // release requests hanging in the timeout failure mode before waiting for them
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-done
	logger.Info("plinx simulator stopped")
	return err
}

func envOr(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}
