package events

// This file is the dialect seam of the package: how an event is written, and how the PostgreSQL
// notification names a session. The listener that receives those notifications is in listen.go.

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
)

// insert writes ev. On PostgreSQL the INSERT and pg_notify are one statement (a data-modifying CTE), so
// they are atomic even outside a transaction and cost one round trip; the notification is delivered by
// PostgreSQL only when the surrounding transaction commits, and never if it rolls back.
func insert(ctx context.Context, db bun.IDB, kind store.Dialect, ev *Event) error {
	switch kind {
	case store.Postgres:
		_, err := db.NewSelect().
			With("ins", db.NewInsert().Model(ev).Returning("tenant_id, session_id")).
			TableExpr("ins").
			ColumnExpr("pg_notify(?, ins.tenant_id::text || ':' || ins.session_id::text)", notifyChannel).
			Exec(ctx)
		return err
	case store.SQLite:
		_, err := db.NewInsert().Model(ev).Exec(ctx)
		return err
	}
	return fmt.Errorf("unknown dialect %q", kind)
}

// insertMany writes evs in one statement; on PostgreSQL the same statement notifies each distinct session
// once.
func insertMany(ctx context.Context, db bun.IDB, kind store.Dialect, evs []Event) error {
	switch kind {
	case store.Postgres:
		_, err := db.NewSelect().
			With("ins", db.NewInsert().Model(&evs).Returning("tenant_id, session_id")).
			TableExpr("(SELECT DISTINCT tenant_id, session_id FROM ins) AS d").
			ColumnExpr("pg_notify(?, d.tenant_id::text || ':' || d.session_id::text)", notifyChannel).
			Exec(ctx)
		return err
	case store.SQLite:
		_, err := db.NewInsert().Model(&evs).Exec(ctx)
		return err
	}
	return fmt.Errorf("unknown dialect %q", kind)
}

// parseNotification reads the "<tenant_id>:<session_id>" payload that insert sends.
func parseNotification(payload string) (sessionKey, error) {
	tenant, session, ok := strings.Cut(payload, ":")
	if !ok {
		return sessionKey{}, fmt.Errorf("notification %q is not tenant:session", payload)
	}
	t, err := uuid.Parse(tenant)
	if err != nil {
		return sessionKey{}, fmt.Errorf("notification %q: tenant: %w", payload, err)
	}
	s, err := uuid.Parse(session)
	if err != nil {
		return sessionKey{}, fmt.Errorf("notification %q: session: %w", payload, err)
	}
	return sessionKey{tenant: t, session: s}, nil
}
