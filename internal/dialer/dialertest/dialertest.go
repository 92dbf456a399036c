// Package dialertest sets up large dialing campaigns for the dialer's benchmarks and multi-process tests:
// a running campaign with agents logged in, and entries queued in bulk, straight in SQL.
package dialertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// Campaign creates, in the default tenant, a running campaign open every day and all day with one attempt
// per entry, and logs agents in to it. It returns the tenant and the campaign.
func Campaign(ctx context.Context, a *app.App, agents int) (tenantID, campaignID uuid.UUID, err error) {
	t, err := a.Tenants.DefaultTenant(ctx)
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	all := []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	c, err := a.Dialer.CreateCampaign(ctx, t.ID, dialer.NewCampaign{Name: "Carga", WindowDays: all, WindowStart: "00:00",
		WindowEnd: "23:59", MaxAttempts: 1, RetryNoAnswerS: 3600, RetryBusyS: 3600, RetryFailedS: 3600, RetryWhatsAppS: 3600})
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if _, err := a.Dialer.SetCampaignStatus(ctx, t.ID, c.ID, dialer.CampaignRunning); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	for i := range agents {
		u, err := a.Tenants.CreateUser(ctx, t.ID, tenant.NewUser{Name: fmt.Sprintf("Agente %d", i),
			Email: fmt.Sprintf("agente%d@example.com", i), Role: tenant.RoleAgent})
		if err != nil {
			return uuid.Nil, uuid.Nil, err
		}
		if _, err := a.Dialer.Join(ctx, tenant.Actor{TenantID: t.ID, UserID: u.ID, Role: tenant.RoleAgent}, c.ID); err != nil {
			return uuid.Nil, uuid.Nil, err
		}
	}
	return t.ID, c.ID, nil
}

// Number is the phone number of the i-th entry Seed queues (from 1).
func Number(i int) string { return "+5547" + strconv.Itoa(900000000+i) }

// Seed queues n entries, due now, each with a phone of its own (Number(1) to Number(n)), in two statements.
// It needs PostgreSQL.
func Seed(ctx context.Context, db *store.DB, tenantID, campaignID uuid.UUID, n int) error {
	if db.Kind != store.Postgres {
		return fmt.Errorf("dialertest: seeding needs PostgreSQL, not %s", db.Kind)
	}
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO phones (tenant_id, id, e164, type, created_at, updated_at)
		  SELECT ?, md5('phone' || i)::uuid, '+5547' || (900000000 + i)::text, 'mobile', now(), now()
		  FROM generate_series(1, ?) AS i`, []any{tenantID, n}},
		{`INSERT INTO dial_entries (tenant_id, id, campaign_id, phone_id, e164, status, due_at, priority, created_at, updated_at)
		  SELECT ?, md5('entry' || i)::uuid, ?, md5('phone' || i)::uuid, '+5547' || (900000000 + i)::text, 'queued',
		         now() - interval '1 minute', 0, now(), now()
		  FROM generate_series(1, ?) AS i`, []any{tenantID, campaignID, n}},
		{`ANALYZE dial_entries`, nil},
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("dialertest: seed %d entries: %w", n, err)
		}
	}
	return nil
}

// Open counts the entries not yet closed: a scan of the whole queue, slow on a large one.
func Open(ctx context.Context, db *store.DB) (int, error) {
	var n int
	err := db.NewRaw("SELECT count(*) FROM dial_entries WHERE status <> 'closed'").Scan(ctx, &n)
	return n, err
}

// AnyQueued reports whether some entry is still queued, through the queue's partial index: cheap at any size.
func AnyQueued(ctx context.Context, db *store.DB) (bool, error) {
	var yes bool
	err := db.NewRaw("SELECT EXISTS (SELECT 1 FROM dial_entries WHERE status = 'queued')").Scan(ctx, &yes)
	return yes, err
}

// WaitDrained returns nil once every entry is closed, or an error at the deadline. It looks at the queue
// cheaply while entries are queued, and counts the rest (claimed, dialing) only after.
func WaitDrained(ctx context.Context, db *store.DB, deadline time.Time) error {
	for {
		queued, err := AnyQueued(ctx, db)
		if err != nil {
			return err
		}
		if !queued {
			open, err := Open(ctx, db)
			if err != nil || open == 0 {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%d entries still open", open)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if time.Now().After(deadline) {
			return errors.New("entries still queued")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
