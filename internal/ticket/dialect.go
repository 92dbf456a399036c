package ticket

// The dialect seam of tickets. PostgreSQL runs many writers at once: rows are locked FOR UPDATE, the events
// of one key are serialised with transaction-scoped advisory locks, and several writes share a statement
// (CTEs, bulk VALUES) to save round trips. SQLite has a single writer whose transaction already excludes
// every other: no locks, and one statement per write.

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/inbox"
	"github.com/atende/atende/internal/store"
)

// concurrent tells whether several transactions write at once (PostgreSQL).
func (s *Service) concurrent() bool { return s.db.Kind == store.Postgres }

// forUpdate locks the rows q reads — of the table alias of, or all when empty — until the transaction ends,
// on PostgreSQL.
func (s *Service) forUpdate(q *bun.SelectQuery, of string) *bun.SelectQuery {
	switch {
	case !s.concurrent():
		return q
	case of != "":
		return q.For("UPDATE OF " + of)
	}
	return q.For("UPDATE")
}

// skipLocked is the clause that makes a claim skip the rows other workers hold, on PostgreSQL.
func (s *Service) skipLocked() string {
	if s.concurrent() {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// lockCode serialises, on PostgreSQL, the events of one external code, so that two first events do not
// both set out to create its ticket. SQLite's single writer already serialises them.
func (s *Service) lockCode(ctx context.Context, tx bun.IDB, ig Integration, code string) error {
	return s.serialise(ctx, tx, "code|"+ig.ID.String()+"|"+code)
}

// serialise takes, on PostgreSQL, a transaction-scoped advisory lock on key: transactions serialise on it.
// SQLite's single writer already serialises them.
func (s *Service) serialise(ctx context.Context, tx bun.IDB, key string) error {
	if !s.concurrent() {
		return nil
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())); err != nil {
		return fmt.Errorf("advisory lock: %w", err)
	}
	return nil
}

// lockPlinxMessage serialises, on PostgreSQL, the sender recording a send and a webhook about the same
// Plinx message: whichever comes second sees what the first committed, so an early status is either found
// by the sender or finds the message — never missed by both. SQLite's single writer already serialises them.
func (s *Service) lockPlinxMessage(ctx context.Context, tx bun.IDB, tenantID uuid.UUID, plinxID string) error {
	return s.serialise(ctx, tx, "plinx-message|"+tenantID.String()+"|"+plinxID)
}

// acceptAndFind records an event's delivery (webhookID, when not empty) and finds its ticket, locked. fresh
// is false for a delivery recorded before; ErrNotFound says there is no ticket yet. On PostgreSQL both take
// one statement.
func (s *Service) acceptAndFind(ctx context.Context, tx bun.Tx, ig Integration, webhookID, code string, now time.Time) (Ticket, bool, error) {
	source := "integration:" + ig.ID.String()
	if webhookID == "" {
		tk, err := s.ticketByCode(ctx, tx, ig, code, true)
		return tk, true, err
	}
	if !s.concurrent() {
		fresh, err := inbox.Accept(ctx, tx, ig.TenantID, source, webhookID, now)
		if err != nil {
			return Ticket{}, false, err
		}
		tk, err := s.ticketByCode(ctx, tx, ig, code, fresh)
		return tk, fresh, err
	}
	receipt := inbox.Receipt{TenantID: ig.TenantID, Source: source, WebhookID: webhookID, ReceivedAt: now}
	var tk Ticket
	err := s.ticketQuery(tx, &tk, ig, code).
		With("r", tx.NewInsert().Model(&receipt).On("CONFLICT DO NOTHING").Returning("webhook_id")).
		ColumnExpr("EXISTS (SELECT 1 FROM r) AS fresh_receipt").For("UPDATE OF tc").Scan(ctx)
	if err == nil {
		s.setCurrentTask(&tk)
		return tk, tk.FreshReceipt != nil && *tk.FreshReceipt, nil
	}
	if notFound(err) != ErrNotFound {
		return Ticket{}, false, fmt.Errorf("find ticket: %w", err)
	}
	// No ticket: whether the delivery is new is whether this transaction wrote its receipt.
	fresh, err := tx.NewSelect().Model((*inbox.Receipt)(nil)).
		Where("tenant_id = ? AND source = ? AND webhook_id = ? AND xmin = pg_current_xact_id()::xid", ig.TenantID, source, webhookID).
		Exists(ctx)
	if err != nil {
		return Ticket{}, false, fmt.Errorf("check delivery: %w", err)
	}
	return Ticket{}, fresh, ErrNotFound
}

// saveTicket writes an existing ticket's changes, moved to its next version, and its new timeline entries;
// on PostgreSQL in one statement.
func (s *Service) saveTicket(ctx context.Context, tx bun.IDB, tk *Ticket, w *timeline) error {
	tk.Version++
	update := tx.NewUpdate().Model(tk).Column(ticketColumns...).WherePK()
	if s.concurrent() && len(w.entries) > 0 {
		if _, err := tx.NewInsert().With("u", update.Returning("NULL")).Model(&w.entries).Exec(ctx); err != nil {
			return fmt.Errorf("save ticket: %w", err)
		}
		w.entries = nil
		return nil
	}
	if _, err := update.Exec(ctx); err != nil {
		return fmt.Errorf("save ticket: %w", err)
	}
	return w.flush(ctx, tx)
}
