package events

// This file is the dialect seam of the package: how an event is written, and how the PostgreSQL
// notification names a session. The listener that receives those notifications is in listen.go.

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

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

// maxPayload keeps a notification's payload under PostgreSQL's 8000-byte limit.
const maxPayload = 7900

// insertMany writes evs in one statement; on PostgreSQL the same statement notifies their sessions, many
// "<tenant_id>:<session_id>" keys per notification, comma-separated, so that a batch of hundreds of sessions
// costs a handful of notifications.
func insertMany(ctx context.Context, db bun.IDB, kind store.Dialect, evs []Event) error {
	switch kind {
	case store.Postgres:
		_, err := db.NewSelect().
			With("ins", db.NewInsert().Model(&evs)).
			TableExpr("unnest(?::text[]) AS p", pgdialect.Array(notifications(evs))).
			ColumnExpr("pg_notify(?, p)", notifyChannel).
			Exec(ctx)
		return err
	case store.SQLite:
		_, err := db.NewInsert().Model(&evs).Exec(ctx)
		return err
	}
	return fmt.Errorf("unknown dialect %q", kind)
}

// notifications packs the distinct sessions of evs into notification payloads.
func notifications(evs []Event) []string {
	seen := map[sessionKey]bool{}
	var out []string
	var b strings.Builder
	for _, ev := range evs {
		key := sessionKey{tenant: ev.TenantID, session: ev.SessionID}
		if seen[key] {
			continue
		}
		seen[key] = true
		item := ev.TenantID.String() + ":" + ev.SessionID.String()
		if b.Len() > 0 && b.Len()+1+len(item) > maxPayload {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// parseNotification reads the comma-separated "<tenant_id>:<session_id>" keys of a notification.
func parseNotification(payload string) ([]sessionKey, error) {
	var out []sessionKey
	for item := range strings.SplitSeq(payload, ",") {
		key, err := parseKey(item)
		if err != nil {
			return nil, err
		}
		out = append(out, key)
	}
	return out, nil
}

// parseKey reads one "<tenant_id>:<session_id>" key.
func parseKey(payload string) (sessionKey, error) {
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
