package dialer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/telephony"
)

// after is one transaction's batch. The dialer's transitions append to it — the entry's new state, its dial
// events, new calls, events for the screens — and it writes them in a few multi-row statements just before
// the commit, so that a worker settling a hundred entries makes a handful of round trips instead of a
// thousand. It also holds what happens after the commit: screens to wake, outcomes to count, calls to place.
//
// An entry saved in a batch is not written until the flush: nothing in the same transaction may read it
// back from the database in between.
type after struct {
	entries    []Entry
	entryAt    map[uuid.UUID]int
	dialEvents []DialEvent
	calls      []Call
	callRows   []Call
	frees      []free
	callCache  map[uuid.UUID]Call
	entryCache map[uuid.UUID]Entry
	screen     []events.Event
	campaigns  map[[2]uuid.UUID]Campaign
	// hooks are the events for outbound webhooks, published just after the flush.
	hooks []outbound.Event

	pokes    [][2]uuid.UUID
	outcomes []string
	place    []telephony.Call
}

// free is a session to make ready again if it is still on the call.
type free struct {
	tenantID, sessionID, callID uuid.UUID
	at                          time.Time
}

func newAfter() *after {
	return &after{entryAt: map[uuid.UUID]int{}, campaigns: map[[2]uuid.UUID]Campaign{},
		callCache: map[uuid.UUID]Call{}, entryCache: map[uuid.UUID]Entry{}}
}

// prefetch reads — and on PostgreSQL locks — the calls of evs and their entries in two statements, for
// the events' transitions to find them without a query each.
func (a *after) prefetch(ctx context.Context, tx bun.Tx, kind store.Dialect, evs []telephony.Event) error {
	ids := make([]uuid.UUID, len(evs))
	tenants := map[uuid.UUID]bool{}
	for i, ev := range evs {
		ids[i] = ev.CallID
		tenants[ev.TenantID] = true
	}
	var calls []Call
	q := tx.NewSelect().Model(&calls).Where("cl.tenant_id IN (?) AND cl.id IN (?)", bun.In(keys(tenants)), bun.In(ids)).OrderExpr("cl.id")
	if kind == store.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return fmt.Errorf("read calls: %w", err)
	}
	if len(calls) == 0 {
		return nil
	}
	entryIDs := make([]uuid.UUID, len(calls))
	for i, c := range calls {
		a.callCache[c.ID] = c
		entryIDs[i] = c.EntryID
	}
	var entries []Entry
	if err := tx.NewSelect().Model(&entries).Where("de.tenant_id IN (?) AND de.id IN (?)", bun.In(keys(tenants)), bun.In(entryIDs)).
		Scan(ctx); err != nil {
		return fmt.Errorf("read entries: %w", err)
	}
	for _, e := range entries {
		a.entryCache[e.ID] = e
	}
	return nil
}

// cachedCall returns a prefetched call of the tenant, once: a second event about it reads it afresh.
func (a *after) cachedCall(tenantID, id uuid.UUID) (Call, bool) {
	c, ok := a.callCache[id]
	if ok {
		delete(a.callCache, id)
	}
	return c, ok && c.TenantID == tenantID
}

// cachedEntry returns a prefetched entry of the tenant, once.
func (a *after) cachedEntry(tenantID, id uuid.UUID) (Entry, bool) {
	e, ok := a.entryCache[id]
	if ok {
		delete(a.entryCache, id)
	}
	return e, ok && e.TenantID == tenantID
}

// entryOf returns an entry, prefetched or read now.
func (a *after) entryOf(ctx context.Context, tx bun.Tx, tenantID, id uuid.UUID) (*Entry, error) {
	if e, ok := a.cachedEntry(tenantID, id); ok {
		return &e, nil
	}
	var e Entry
	if err := tx.NewSelect().Model(&e).Where("de.tenant_id = ? AND de.id = ?", tenantID, id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read entry: %w", err)
	}
	return &e, nil
}

// saveCallRow records a call's new state, to be written with the rest.
func (a *after) saveCallRow(c *Call, now time.Time) {
	c.Version++
	c.UpdatedAt = now
	a.callRows = append(a.callRows, *c)
}

// freeAgent makes the session that handled a call ready for the next one, if it is still on that call;
// its screen is told when the batch is written.
func (a *after) freeAgent(tenantID, sessionID, callID uuid.UUID, now time.Time) {
	a.frees = append(a.frees, free{tenantID, sessionID, callID, now})
}

// log records a transition of the entry, at its current attempt.
func (a *after) log(e *Entry, kind, reason string, now time.Time) {
	ev := DialEvent{TenantID: e.TenantID, ID: newID(), EntryID: e.ID, Attempt: e.Attempts, Kind: kind, CreatedAt: now}
	if reason != "" {
		ev.Reason = &reason
	}
	a.dialEvents = append(a.dialEvents, ev)
}

// save records the entry's state (status, due time, attempts, lease, outcome) as it is now.
func (a *after) save(e *Entry, now time.Time) {
	e.Version++
	e.UpdatedAt = now
	if i, ok := a.entryAt[e.ID]; ok {
		a.entries[i] = *e
		return
	}
	a.entryAt[e.ID] = len(a.entries)
	a.entries = append(a.entries, *e)
}

// requeue puts an entry back in the queue, due at due.
func (a *after) requeue(e *Entry, due, now time.Time) {
	e.Status, e.DueAt, e.LeaseOwner, e.LeaseUntil = EntryQueued, due, nil, nil
	a.save(e, now)
}

// close ends an entry with a reason, and completes the follow-up it carried out.
func (a *after) close(ctx context.Context, tx bun.IDB, e *Entry, reason string, now time.Time) error {
	e.Status, e.CloseReason, e.LeaseOwner, e.LeaseUntil = EntryClosed, &reason, nil, nil
	a.save(e, now)
	if e.FollowUpID != nil {
		_, err := tx.NewUpdate().Model((*crm.FollowUp)(nil)).Set("status = ?", crm.FollowUpDone).Set("updated_at = ?", now).
			Set("version = version + 1").Where("tenant_id = ? AND id = ? AND status = ?", e.TenantID, *e.FollowUpID, crm.FollowUpPending).Exec(ctx)
		if err != nil {
			return fmt.Errorf("complete follow-up: %w", err)
		}
	}
	a.log(e, "closed", reason, now)
	return nil
}

// afterOutcome moves an entry on after an attempt that did not reach the customer: to the queue after the
// campaign's retry interval, or closed when its attempts are used up.
func (a *after) afterOutcome(ctx context.Context, tx bun.IDB, e *Entry, c Campaign, outcome string, now time.Time) error {
	e.LastOutcome = &outcome
	if e.Attempts >= c.MaxAttempts {
		return a.close(ctx, tx, e, CloseMaxAttempts, now)
	}
	a.requeue(e, now.Add(c.retryAfter(outcome)), now)
	return nil
}

// publish stores an event for a session's screen; it reaches the screen once the transaction commits.
func (a *after) publish(tenantID, sessionID uuid.UUID, kind string, payload any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	a.screen = append(a.screen, events.Event{TenantID: tenantID, SessionID: sessionID, Kind: kind, Payload: body, CreatedAt: now})
	a.pokes = append(a.pokes, [2]uuid.UUID{tenantID, sessionID})
	return nil
}

// hook records an event for outbound webhooks.
func (a *after) hook(tenantID uuid.UUID, typ string, data any, now time.Time) {
	a.hooks = append(a.hooks, outbound.Event{TenantID: tenantID, Type: typ, At: now, Data: data})
}

// callData is a call as outbound webhooks tell it.
func callData(c *Call, e *Entry) outbound.CallData {
	return outbound.CallData{CallID: c.ID, EntryID: c.EntryID, CampaignID: c.CampaignID, AgentID: c.AgentID, Number: c.E164,
		Attempt: c.Attempt, Status: c.Status, Outcome: c.Outcome, CompanyID: e.CompanyID, ContactID: e.ContactID, LeadID: e.LeadID}
}

// publishState tells a session's screen its state.
func (a *after) publishState(sess *Session, now time.Time) error {
	return a.publish(sess.TenantID, sess.ID, "state", map[string]any{
		"status": sess.Status, "pause_reason": sess.PauseReason, "call_id": sess.CallID, "prompt_id": sess.PromptID,
	}, now)
}

// outcome counts a decision or call outcome once the transaction commits.
func (a *after) outcome(kind string) { a.outcomes = append(a.outcomes, kind) }

// campaign reads a campaign once per batch.
func (a *after) campaign(ctx context.Context, tx bun.IDB, tenantID, id uuid.UUID) (Campaign, error) {
	key := [2]uuid.UUID{tenantID, id}
	if c, ok := a.campaigns[key]; ok {
		return c, nil
	}
	c, err := campaignOf(ctx, tx, tenantID, id)
	if err != nil {
		return Campaign{}, err
	}
	a.campaigns[key] = c
	return c, nil
}

// flush writes the batch: new calls, entry states, dial events and screen events.
func (a *after) flush(ctx context.Context, db bun.IDB, kind store.Dialect) error {
	if len(a.calls) > 0 {
		if _, err := db.NewInsert().Model(&a.calls).Exec(ctx); err != nil {
			return fmt.Errorf("insert calls: %w", err)
		}
	}
	if err := saveEntries(ctx, db, kind, a.entries); err != nil {
		return err
	}
	if err := saveCalls(ctx, db, kind, a.callRows); err != nil {
		return err
	}
	if err := a.freeAgents(ctx, db, kind); err != nil {
		return err
	}
	if len(a.dialEvents) > 0 {
		if _, err := db.NewInsert().Model(&a.dialEvents).Exec(ctx); err != nil {
			return fmt.Errorf("log dial events: %w", err)
		}
	}
	if len(a.screen) > 0 {
		if err := events.PublishMany(ctx, db, kind, a.screen); err != nil {
			return err
		}
	}
	return nil
}

// entryColumns are the columns a transition changes.
var entryColumns = []string{"status", "due_at", "attempts", "lease_owner", "lease_until", "close_reason", "last_outcome", "version", "updated_at"}

// saveEntries writes entries' states: on PostgreSQL in one UPDATE … FROM unnest(…), on SQLite (local, a
// single writer) one row at a time.
func saveEntries(ctx context.Context, db bun.IDB, kind store.Dialect, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if kind != store.Postgres || len(entries) == 1 {
		for i := range entries {
			if _, err := db.NewUpdate().Model(&entries[i]).Column(entryColumns...).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("update entry: %w", err)
			}
		}
		return nil
	}
	n := len(entries)
	var (
		tenants, ids, statuses    = make([]string, n), make([]string, n), make([]string, n)
		owners, reasons, outcomes = make([]*string, n), make([]*string, n), make([]*string, n)
		dues, updated             = make([]time.Time, n), make([]time.Time, n)
		leases                    = make([]*time.Time, n)
		attempts                  = make([]int64, n)
		versions                  = make([]int64, n)
	)
	for i, e := range entries {
		tenants[i], ids[i], statuses[i] = e.TenantID.String(), e.ID.String(), e.Status
		owners[i], reasons[i], outcomes[i] = e.LeaseOwner, e.CloseReason, e.LastOutcome
		dues[i], updated[i], leases[i] = e.DueAt, e.UpdatedAt, e.LeaseUntil
		attempts[i], versions[i] = int64(e.Attempts), e.Version
	}
	_, err := db.NewRaw(`UPDATE dial_entries AS de SET status = d.status, due_at = d.due_at, attempts = d.attempts,
			lease_owner = d.lease_owner, lease_until = d.lease_until, close_reason = d.close_reason,
			last_outcome = d.last_outcome, version = d.version, updated_at = d.updated_at
		FROM unnest(?::uuid[], ?::uuid[], ?::text[], ?::timestamptz[], ?::int[], ?::text[], ?::timestamptz[], ?::text[],
			?::text[], ?::bigint[], ?::timestamptz[])
			AS d(tenant_id, id, status, due_at, attempts, lease_owner, lease_until, close_reason, last_outcome, version, updated_at)
		WHERE de.tenant_id = d.tenant_id AND de.id = d.id`,
		pgdialect.Array(tenants), pgdialect.Array(ids), pgdialect.Array(statuses), pgdialect.Array(dues),
		pgdialect.Array(attempts), pgdialect.Array(owners), pgdialect.Array(leases), pgdialect.Array(reasons),
		pgdialect.Array(outcomes), pgdialect.Array(versions), pgdialect.Array(updated)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update entries: %w", err)
	}
	return nil
}

// saveCalls writes calls' states: on PostgreSQL in one statement.
func saveCalls(ctx context.Context, db bun.IDB, kind store.Dialect, calls []Call) error {
	if len(calls) == 0 {
		return nil
	}
	if kind != store.Postgres || len(calls) == 1 {
		for i := range calls {
			if _, err := db.NewUpdate().Model(&calls[i]).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("update call: %w", err)
			}
		}
		return nil
	}
	n := len(calls)
	tenants, ids, statuses := make([]string, n), make([]string, n), make([]string, n)
	outcomes, interactions := make([]*string, n), make([]*string, n)
	placed, answered, ended, qualified := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	versions, updated := make([]int64, n), make([]time.Time, n)
	for i, c := range calls {
		tenants[i], ids[i], statuses[i], outcomes[i], interactions[i] = c.TenantID.String(), c.ID.String(), c.Status, c.Outcome, uuidText(c.InteractionID)
		placed[i], answered[i], ended[i], qualified[i] = c.PlacedAt, c.AnsweredAt, c.EndedAt, c.QualifiedAt
		versions[i], updated[i] = c.Version, c.UpdatedAt
	}
	_, err := db.NewRaw(`UPDATE calls AS cl SET status = d.status, outcome = d.outcome, interaction_id = d.interaction_id,
			placed_at = d.placed_at, answered_at = d.answered_at, ended_at = d.ended_at, qualified_at = d.qualified_at,
			version = d.version, updated_at = d.updated_at
		FROM unnest(?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::uuid[], ?::timestamptz[], ?::timestamptz[],
			?::timestamptz[], ?::timestamptz[], ?::bigint[], ?::timestamptz[])
			AS d(tenant_id, id, status, outcome, interaction_id, placed_at, answered_at, ended_at, qualified_at, version, updated_at)
		WHERE cl.tenant_id = d.tenant_id AND cl.id = d.id`,
		pgdialect.Array(tenants), pgdialect.Array(ids), pgdialect.Array(statuses), pgdialect.Array(outcomes),
		pgdialect.Array(interactions), pgdialect.Array(placed), pgdialect.Array(answered), pgdialect.Array(ended),
		pgdialect.Array(qualified), pgdialect.Array(versions), pgdialect.Array(updated)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update calls: %w", err)
	}
	return nil
}

// freeAgents makes ready the sessions still on the calls that ended, and tells their screens.
func (a *after) freeAgents(ctx context.Context, db bun.IDB, kind store.Dialect) error {
	if len(a.frees) == 0 {
		return nil
	}
	var out []Session
	if kind == store.Postgres {
		n := len(a.frees)
		tenants, sessions, calls := make([]string, n), make([]string, n), make([]string, n)
		at := make([]time.Time, n)
		for i, f := range a.frees {
			tenants[i], sessions[i], calls[i], at[i] = f.tenantID.String(), f.sessionID.String(), f.callID.String(), f.at
		}
		err := db.NewRaw(`UPDATE agent_sessions AS sn SET status = ?, call_id = NULL, updated_at = d.at, version = sn.version + 1
			FROM unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::timestamptz[]) AS d(tenant_id, id, call_id, at)
			WHERE sn.tenant_id = d.tenant_id AND sn.id = d.id AND sn.call_id = d.call_id AND sn.status IN (?)
			RETURNING sn.*`, SessionReady, pgdialect.Array(tenants), pgdialect.Array(sessions), pgdialect.Array(calls),
			pgdialect.Array(at), bun.In([]string{SessionOnCall, SessionWrapUp})).Scan(ctx, &out)
		if err != nil {
			return fmt.Errorf("free agents: %w", err)
		}
	} else {
		for _, f := range a.frees {
			var one []Session
			err := db.NewRaw(`UPDATE agent_sessions SET status = ?, call_id = NULL, updated_at = ?, version = version + 1
				WHERE tenant_id = ? AND id = ? AND call_id = ? AND status IN (?) RETURNING *`,
				SessionReady, f.at, f.tenantID, f.sessionID, f.callID, bun.In([]string{SessionOnCall, SessionWrapUp})).Scan(ctx, &one)
			if err != nil {
				return fmt.Errorf("free the agent: %w", err)
			}
			out = append(out, one...)
		}
	}
	for i := range out {
		if err := a.publishState(&out[i], out[i].UpdatedAt); err != nil {
			return err
		}
	}
	return nil
}

// keys lists a set's members: lookups by id name their tenants too, so that they use the (tenant_id, id)
// primary keys.
func keys(set map[uuid.UUID]bool) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}

func uuidText(id *uuid.UUID) *string {
	if id == nil {
		return nil
	}
	s := id.String()
	return &s
}

// placeConcurrency bounds how many calls are handed to telephony at once after a commit.
const placeConcurrency = 16

// placeAll hands committed calls to telephony, several at a time, and records in one statement the ones
// that went out. A call telephony refuses ends as failed; one it could not be reached for stays created and
// is handed over again by a worker.
func (s *Service) placeAll(ctx context.Context, calls []telephony.Call) {
	if len(calls) == 0 {
		return
	}
	var (
		mu      sync.Mutex
		placed  []uuid.UUID
		tenants = map[uuid.UUID]bool{}
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, placeConcurrency)
	for _, c := range calls {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if s.place(ctx, c) {
				mu.Lock()
				placed = append(placed, c.ID)
				tenants[c.TenantID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(placed) == 0 {
		return
	}
	// A call whose row is locked is having an event applied, which moves it on from created anyway: skip it
	// rather than wait, so this statement never queues behind (or deadlocks with) the call's own events.
	now := s.clock.Now()
	lock := ""
	if s.db.Kind == store.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	_, err := s.db.NewRaw(`UPDATE calls SET status = ?, placed_at = ?, updated_at = ?
		WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM calls WHERE tenant_id IN (?) AND id IN (?) AND status = ?`+lock+`)`,
		CallPlaced, now, now, bun.In(keys(tenants)), bun.In(placed), CallCreated).Exec(ctx)
	if err != nil {
		s.logger.Error("record placed calls", "calls", len(placed), "error", err)
	}
}
