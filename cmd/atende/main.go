// Command atende is the whole of atende in one binary: the API server, migrations and tenant provisioning.
//
//	atende serve                 serve the API and the dial queue workers (migrates first)
//	atende worker                run dial queue workers only
//	atende migrate up|down N|version
//	atende tenant create --name ... --admin-name ... --admin-email ...
//	atende version
//
// Configuration comes from ATENDE_* environment variables; see the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // tenant time zones must resolve on hosts without a zoneinfo database

	"github.com/atende/atende/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: atende <command>

commands:
  serve                   serve the API on ATENDE_ADDR (runs pending migrations first)
  worker                  run dial queue workers without the API (ATENDE_WORKERS of them)
  migrate up              apply pending migrations
  migrate down [N]        revert the last N migrations (default 1)
  migrate version         print the applied migration version
  tenant create [flags]   create a tenant and print its admin API key
  plinx-sim [flags]       serve the Plinx simulator on ATENDE_PLINX_SIM_ADDR (default 127.0.0.1:8090)
  version                 print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "atende:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	if args[0] == "version" {
		fmt.Fprintln(stdout, version)
		return nil
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if args[0] == "plinx-sim" {
		// The simulator stands alone: atende's own configuration does not concern it.
		return plinxSim(ctx, args[1:], stderr)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, stderr)
	case "worker":
		return worker(ctx, cfg, stderr)
	case "migrate":
		return migrateCmd(cfg, args[1:], stdout)
	case "tenant":
		return tenantCmd(ctx, cfg, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
