package main

import (
	"context"
	"fmt"
	"io"

	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
)

func serve(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	logger := cfg.Logger(stderr)
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
	return a.Serve(ctx, ln)
}
