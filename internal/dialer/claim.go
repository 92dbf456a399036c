package dialer

// The dialect seam of the dial queue: claiming due entries and reserving agents. PostgreSQL uses
// FOR UPDATE SKIP LOCKED so that many workers share the queue; SQLite has a single writer, whose
// transaction already excludes every other.

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
)

// claimable selects due, queued entries of running campaigns that have a ready agent, best first.
const claimable = `SELECT e.tenant_id, e.id FROM dial_entries AS e
	JOIN campaigns AS c ON c.tenant_id = e.tenant_id AND c.id = e.campaign_id AND c.status = 'running'
	WHERE e.status = 'queued' AND e.due_at <= ?
	  AND EXISTS (SELECT 1 FROM agent_sessions AS s
	              WHERE s.tenant_id = e.tenant_id AND s.campaign_id = e.campaign_id AND s.status = 'ready')
	ORDER BY e.priority DESC, e.due_at
	LIMIT ?`

// claim leases up to n due entries to owner until leaseUntil.
func claim(ctx context.Context, db *store.DB, owner string, n int, now, leaseUntil time.Time) ([]Entry, error) {
	var out []Entry
	var err error
	switch db.Kind {
	case store.Postgres:
		err = db.NewRaw(`UPDATE dial_entries AS de
			SET status = 'claimed', lease_owner = ?, lease_until = ?, updated_at = ?, version = de.version + 1
			FROM (`+claimable+` FOR UPDATE OF e SKIP LOCKED) AS pick
			WHERE de.tenant_id = pick.tenant_id AND de.id = pick.id
			RETURNING de.*`, owner, leaseUntil, now, now, n).Scan(ctx, &out)
	default:
		err = db.NewRaw(`UPDATE dial_entries
			SET status = 'claimed', lease_owner = ?, lease_until = ?, updated_at = ?, version = version + 1
			WHERE (tenant_id, id) IN (`+claimable+`)
			RETURNING *`, owner, leaseUntil, now, now, n).Scan(ctx, &out)
	}
	if err != nil {
		return nil, fmt.Errorf("claim dial entries: %w", err)
	}
	return out, nil
}

// reserveAgent moves one ready session of the campaign to status, or reports that none is ready.
func reserveAgent(ctx context.Context, tx bun.Tx, kind store.Dialect, tenantID, campaignID uuid.UUID, status string, now time.Time) (*Session, error) {
	lock := ""
	if kind == store.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []Session
	err := tx.NewRaw(`UPDATE agent_sessions SET status = ?, updated_at = ?, version = version + 1
		WHERE tenant_id = ? AND id = (SELECT id FROM agent_sessions
			WHERE tenant_id = ? AND campaign_id = ? AND status = 'ready'
			ORDER BY updated_at LIMIT 1`+lock+`)
		RETURNING *`, status, now, tenantID, tenantID, campaignID).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("reserve an agent: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return &out[0], nil
}

// extendLeases keeps owner's claims alive while it works on them.
func extendLeases(ctx context.Context, db bun.IDB, owner string, ids []uuid.UUID, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.NewUpdate().Model((*Entry)(nil)).Set("lease_until = ?", until).
		Where("status = ? AND lease_owner = ? AND id IN (?)", EntryClaimed, owner, bun.In(ids)).Exec(ctx)
	return err
}

// rescueLeases returns to the queue the entries whose claim expired (their worker died), without using an
// attempt.
func rescueLeases(ctx context.Context, db bun.IDB, now time.Time) ([]Entry, error) {
	var out []Entry
	err := db.NewRaw(`UPDATE dial_entries SET status = 'queued', lease_owner = NULL, lease_until = NULL,
		updated_at = ?, version = version + 1
		WHERE status = 'claimed' AND lease_until < ? RETURNING *`, now, now).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("rescue expired leases: %w", err)
	}
	return out, nil
}
