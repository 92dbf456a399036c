package main

import (
	"context"
	"io"

	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
)

// worker runs dial queue workers without the API: run several, on several machines, against one
// PostgreSQL to drain a large queue.
func worker(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	logger := cfg.Logger(stderr)
	if cfg.PlinxURL == "" {
		logger.Warn("ATENDE_PLINX_URL is not set: every Plinx check fails and no entry is dialed")
	}
	a, err := app.New(ctx, cfg, logger, clock.System{})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.RunWorkers(ctx)
}
