package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/store"
)

func migrateCmd(cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("migrate needs up, down [N] or version")
	}
	mg, err := store.NewMigrator(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer mg.Close()
	switch args[0] {
	case "up":
		if err := mg.Up(); err != nil {
			return err
		}
	case "down":
		steps := 1
		if len(args) > 1 {
			if steps, err = strconv.Atoi(args[1]); err != nil || steps < 1 {
				return fmt.Errorf("migrate down: N must be a positive number")
			}
		}
		if err := mg.Down(steps); err != nil {
			return err
		}
	case "version":
	default:
		return fmt.Errorf("migrate needs up, down [N] or version, not %q", args[0])
	}
	v, dirty, err := mg.Version()
	if err != nil {
		return err
	}
	if dirty {
		fmt.Fprintf(stdout, "%d (dirty: a migration failed midway; fix it and force the version)\n", v)
		return nil
	}
	fmt.Fprintln(stdout, v)
	return nil
}
