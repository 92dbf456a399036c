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
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/atende/atende/internal/store"
)

// staffed is a running campaign with agents ready for calls.
type staffed struct {
	TenantID   uuid.UUID `bun:"tenant_id"`
	CampaignID uuid.UUID `bun:"campaign_id"`
	Ready      int       `bun:"ready"`
}

// staffedCampaigns lists the running campaigns that have ready agents, highest priority first.
func staffedCampaigns(ctx context.Context, db bun.IDB) ([]staffed, error) {
	var out []staffed
	err := db.NewRaw(`SELECT c.tenant_id, c.id AS campaign_id, count(*) AS ready
		FROM campaigns AS c JOIN agent_sessions AS s ON s.tenant_id = c.tenant_id AND s.campaign_id = c.id AND s.status = 'ready'
		WHERE c.status = 'running'
		GROUP BY c.tenant_id, c.id, c.priority
		ORDER BY c.priority DESC, c.id`).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("find staffed campaigns: %w", err)
	}
	return out, nil
}

// claim leases to owner, until leaseUntil, up to n due entries of the staffed campaigns, no more in a
// campaign than it has ready agents: one statement per campaign, each an index scan that stops at its
// limit. PostgreSQL skips the rows other workers hold (FOR UPDATE SKIP LOCKED); SQLite's single writer
// excludes every other.
func claim(ctx context.Context, db *store.DB, owner string, n int, now, leaseUntil time.Time) ([]Entry, error) {
	campaigns, err := staffedCampaigns(ctx, db)
	if err != nil {
		return nil, err
	}
	lock := ""
	if db.Kind == store.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []Entry
	for _, c := range campaigns {
		if len(out) >= n {
			break
		}
		var got []Entry
		err := db.NewRaw(`UPDATE dial_entries SET status = 'claimed', lease_owner = ?, lease_until = ?, updated_at = ?,
				version = version + 1
			WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM dial_entries
				WHERE tenant_id = ? AND campaign_id = ? AND status = 'queued' AND due_at <= ?
				ORDER BY priority DESC, due_at
				LIMIT ?`+lock+`)
			RETURNING *`, owner, leaseUntil, now, c.TenantID, c.CampaignID, now, min(n-len(out), c.Ready)).Scan(ctx, &got)
		if err != nil {
			return nil, fmt.Errorf("claim dial entries: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// assignment is what a reserved session is put on: a call or a prompt.
type assignment struct {
	status           string
	callID, promptID *uuid.UUID
}

// reserveAgents takes ready sessions of the campaign, longest waiting first, one per assignment while they
// last, and puts each on its assignment; it returns the sessions as written. On PostgreSQL that is one
// statement, which skips sessions other workers hold.
func reserveAgents(ctx context.Context, tx bun.Tx, kind store.Dialect, tenantID, campaignID uuid.UUID, work []assignment, now time.Time) ([]Session, error) {
	if len(work) == 0 {
		return nil, nil
	}
	var out []Session
	if kind == store.Postgres {
		n := len(work)
		statuses, calls, prompts := make([]string, n), make([]*string, n), make([]*string, n)
		for i, w := range work {
			statuses[i], calls[i], prompts[i] = w.status, uuidText(w.callID), uuidText(w.promptID)
		}
		err := tx.NewRaw(`WITH picked AS (
				SELECT tenant_id, id, row_number() OVER (ORDER BY updated_at, id) AS n FROM (
					SELECT tenant_id, id, updated_at FROM agent_sessions
					WHERE tenant_id = ? AND campaign_id = ? AND status = 'ready'
					ORDER BY updated_at, id LIMIT ? FOR UPDATE SKIP LOCKED) AS ready),
			d AS (SELECT * FROM unnest(?::text[], ?::uuid[], ?::uuid[]) WITH ORDINALITY AS d(status, call_id, prompt_id, n))
			UPDATE agent_sessions AS sn SET status = d.status, call_id = d.call_id, prompt_id = d.prompt_id,
				updated_at = ?, version = sn.version + 1
			FROM picked JOIN d ON d.n = picked.n
			WHERE sn.tenant_id = picked.tenant_id AND sn.id = picked.id
			RETURNING sn.*`, tenantID, campaignID, n, pgdialect.Array(statuses), pgdialect.Array(calls),
			pgdialect.Array(prompts), now).Scan(ctx, &out)
		if err != nil {
			return nil, fmt.Errorf("reserve agents: %w", err)
		}
		return out, nil
	}
	var ready []Session
	err := tx.NewSelect().Model(&ready).Where("sn.tenant_id = ? AND sn.campaign_id = ? AND sn.status = ?", tenantID, campaignID, SessionReady).
		OrderExpr("sn.updated_at, sn.id").Limit(int64(len(work))).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("reserve agents: %w", err)
	}
	for i := range ready {
		sess := &ready[i]
		sess.Status, sess.CallID, sess.PromptID, sess.UpdatedAt = work[i].status, work[i].callID, work[i].promptID, now
		sess.Version++
		if _, err := tx.NewUpdate().Model(sess).Column("status", "call_id", "prompt_id", "updated_at", "version").WherePK().Exec(ctx); err != nil {
			return nil, fmt.Errorf("reserve agents: %w", err)
		}
	}
	return ready, nil
}

// extendLeases keeps owner's claims alive while it works on them.
func extendLeases(ctx context.Context, db bun.IDB, owner string, tenants, ids []uuid.UUID, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.NewUpdate().Model((*Entry)(nil)).Set("lease_until = ?", until).
		Where("tenant_id IN (?) AND id IN (?) AND status = ? AND lease_owner = ?", bun.In(tenants), bun.In(ids), EntryClaimed, owner).Exec(ctx)
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
