package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

func tenantCmd(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("tenant needs a subcommand: create")
	}
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var in tenant.NewTenant
	fs.StringVar(&in.Name, "name", "", "tenant name (required)")
	fs.StringVar(&in.AdminName, "admin-name", "", "first admin's name (required)")
	fs.StringVar(&in.AdminEmail, "admin-email", "", "first admin's email (required)")
	fs.StringVar(&in.Timezone, "timezone", tenant.DefaultTimezone, "IANA time zone")
	fs.StringVar(&in.DefaultCountryCode, "country-code", tenant.DefaultCountryCode, "default country calling code")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := store.MigrateUp(cfg.DatabaseURL); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := tenant.NewService(db.DB, clock.System{}).CreateTenant(ctx, in)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]string{
		"tenant_id":     p.Tenant.ID.String(),
		"admin_user_id": p.Admin.ID.String(),
		"admin_api_key": p.Key.Secret,
	})
}
