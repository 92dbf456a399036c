package dialer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/calendar"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/loop"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/telephony"
	"github.com/atende/atende/internal/tenant"
)

// WorkerOptions tune a worker.
type WorkerOptions struct {
	// ID names the worker in leases; default host:pid:random.
	ID string
	// Batch is how many entries one claim takes (default 50).
	Batch int
	// Checks is how many Plinx checks run at once (default 32).
	Checks int
	// Lease is how long a claim holds before another worker may rescue it (default 30 s).
	Lease time.Duration
	// Tick is the pause between passes when the queue is empty (default 250 ms).
	Tick time.Duration
}

// Worker drains the dial queue: it claims due entries, checks each customer with Plinx, and skips, asks
// the agent or dials. Many workers, in many processes, share one PostgreSQL.
type Worker struct {
	s    *Service
	opts WorkerOptions

	lastSweep time.Time // used by the worker's own goroutine (or RunOnce's caller) only
	settled   atomic.Int64

	loop loop.Loop
}

// NewWorker returns a worker of s.
func (s *Service) NewWorker(opts WorkerOptions) *Worker {
	if opts.ID == "" {
		host, _ := os.Hostname()
		opts.ID = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.Checks <= 0 {
		opts.Checks = 32
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Tick <= 0 {
		opts.Tick = 250 * time.Millisecond
	}
	w := &Worker{s: s, opts: opts}
	w.loop = loop.Loop{Tick: opts.Tick,
		Failed:  func(err error) { s.logger.Error("dialer pass failed", "worker", opts.ID, "error", err) },
		Stopped: func() { s.logger.Info("dial queue worker stopped", "worker", opts.ID, "settled", w.settled.Load()) }}
	return w
}

// ID is the worker's name in leases.
func (w *Worker) ID() string { return w.opts.ID }

// Start runs the worker until Stop or ctx ends; it returns at once.
func (w *Worker) Start(ctx context.Context) { w.loop.Start(ctx, w.RunOnce) }

// Wake makes a waiting worker look at the queue now.
func (w *Worker) Wake() { w.loop.Wake() }

// Stop stops the worker after the entries it holds are settled, or when ctx ends; entries still claimed
// then are rescued by another worker once their lease expires.
func (w *Worker) Stop(ctx context.Context) { w.loop.Stop(ctx) }

// sweepEvery is how often a worker sweeps: rescues expired claims, expires unanswered prompts, turns due
// follow-ups into entries and hands calls that never reached telephony to it again.
const sweepEvery = time.Second

// RunOnce makes one pass: it sweeps (at most every sweepEvery), then claims and settles one batch. It
// reports how many entries it settled.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	s := w.s
	now := s.clock.Now()
	if w.lastSweep.IsZero() || now.Sub(w.lastSweep) >= sweepEvery || now.Before(w.lastSweep) {
		if err := s.sweep(ctx, now); err != nil {
			return 0, err
		}
		w.lastSweep = now
	}
	entries, err := claim(ctx, s.db, w.opts.ID, w.opts.Batch, now, now.Add(w.opts.Lease))
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	s.metrics.claimed(len(entries))

	// Keep the claims alive while the checks run.
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	var hb sync.WaitGroup
	hb.Go(func() { w.heartbeat(hbCtx, entries) })
	defer func() { stopHeartbeat(); hb.Wait() }()

	plans, err := s.plan(ctx, entries)
	if err != nil {
		return 0, err
	}
	w.check(ctx, plans)
	n, err := s.settleAll(ctx, plans)
	w.settled.Add(int64(n))
	return n, err
}

// settleAll applies the batch's outcomes in one transaction. Should any entry fail, the batch is rolled back
// and settled again one entry per transaction, so that one bad entry holds back no other.
func (s *Service) settleAll(ctx context.Context, plans []*plan) (int, error) {
	settled := 0
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		settled = 0
		current, err := ownClaims(ctx, tx, s.db.Kind, plans)
		if err != nil {
			return err
		}
		agents, err := s.reserveFor(ctx, tx, plans, current)
		if err != nil {
			return err
		}
		for _, p := range plans {
			e, ok := current[p.entry.ID]
			if !ok {
				s.logger.Warn("dial entry no longer claimed by this worker", "tenant_id", p.entry.TenantID.String(),
					"entry_id", p.entry.ID.String())
				continue
			}
			if err := s.settle(ctx, tx, a, p, e, agents); err != nil {
				return fmt.Errorf("entry %s: %w", p.entry.ID, err)
			}
			settled++
		}
		return nil
	})
	if err == nil || ctx.Err() != nil {
		return settled, err
	}
	s.logger.Warn("settle dial batch; settling its entries one by one", "entries", len(plans), "error", err)
	settled = 0
	for _, p := range plans {
		err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
			current, err := ownClaims(ctx, tx, s.db.Kind, []*plan{p})
			if err != nil {
				return err
			}
			e, ok := current[p.entry.ID]
			if !ok {
				return errors.New("no longer claimed by this worker")
			}
			agents, err := s.reserveFor(ctx, tx, []*plan{p}, current)
			if err != nil {
				return err
			}
			return s.settle(ctx, tx, a, p, e, agents)
		})
		if err != nil {
			if ctx.Err() != nil {
				return settled, ctx.Err()
			}
			s.logger.Error("settle dial entry", "tenant_id", p.entry.TenantID.String(), "entry_id", p.entry.ID.String(), "error", err)
			continue
		}
		settled++
	}
	return settled, nil
}

// needsAgent reports whether the plan ends with an agent: a call, or a prompt to decide on one.
func (p *plan) needsAgent() bool {
	return p.precheck == "" && p.checked && p.checkErr == nil && (!p.active || p.settings.DialActiveWhatsApp)
}

// agentPool holds the sessions a batch reserved, each already on the call or prompt of its plan.
type agentPool map[*plan]*Session

// take hands out the session reserved for p, or nil when no agent was left for it.
func (pool agentPool) take(p *plan) *Session { return pool[p] }

// reserveFor reserves, in one statement per campaign, a ready agent for each plan that ends with one, and
// moves it on the plan's new call or prompt.
func (s *Service) reserveFor(ctx context.Context, tx bun.Tx, plans []*plan, current map[uuid.UUID]Entry) (agentPool, error) {
	byCampaign := map[[2]uuid.UUID][]*plan{}
	var order [][2]uuid.UUID
	for _, p := range plans {
		if _, ok := current[p.entry.ID]; !ok || !p.needsAgent() {
			continue
		}
		key := [2]uuid.UUID{p.entry.TenantID, p.entry.CampaignID}
		if _, ok := byCampaign[key]; !ok {
			order = append(order, key)
		}
		byCampaign[key] = append(byCampaign[key], p)
	}
	pool := agentPool{}
	now := s.clock.Now()
	for _, key := range order {
		ps := byCampaign[key]
		work := make([]assignment, len(ps))
		of := map[uuid.UUID]*plan{}
		for i, p := range ps {
			id := newID()
			if p.active {
				work[i] = assignment{status: SessionPrompting, promptID: &id}
			} else {
				work[i] = assignment{status: SessionOnCall, callID: &id}
			}
			of[id] = p
		}
		sessions, err := reserveAgents(ctx, tx, s.db.Kind, key[0], key[1], work, now)
		if err != nil {
			return nil, err
		}
		for i := range sessions {
			sess := &sessions[i]
			switch {
			case sess.CallID != nil && of[*sess.CallID] != nil:
				pool[of[*sess.CallID]] = sess
			case sess.PromptID != nil && of[*sess.PromptID] != nil:
				pool[of[*sess.PromptID]] = sess
			}
		}
	}
	return pool, nil
}

// ownClaims reads, and on PostgreSQL locks, the entries of plans still claimed by the worker that claimed
// them: a lease that expired meanwhile was rescued by another worker, and that entry is no longer ours.
func ownClaims(ctx context.Context, tx bun.Tx, kind store.Dialect, plans []*plan) (map[uuid.UUID]Entry, error) {
	ids := make([]uuid.UUID, len(plans))
	tenants := map[uuid.UUID]bool{}
	for i, p := range plans {
		ids[i] = p.entry.ID
		tenants[p.entry.TenantID] = true
	}
	var rows []Entry
	q := tx.NewSelect().Model(&rows).Where("de.tenant_id IN (?) AND de.id IN (?) AND de.status = ?", bun.In(keys(tenants)), bun.In(ids), EntryClaimed)
	if kind == store.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read claimed entries: %w", err)
	}
	out := make(map[uuid.UUID]Entry, len(rows))
	for _, p := range plans {
		out[p.entry.ID] = Entry{}
	}
	for _, e := range rows {
		for _, p := range plans {
			if p.entry.ID == e.ID && p.entry.TenantID == e.TenantID && e.LeaseOwner != nil && p.entry.LeaseOwner != nil &&
				*e.LeaseOwner == *p.entry.LeaseOwner {
				out[e.ID] = e
			}
		}
	}
	for id, e := range out {
		if e.ID == uuid.Nil {
			delete(out, id)
		}
	}
	return out, nil
}

// sweep does the time-driven work of the queue: claims whose worker stopped go back to the queue (and say
// so), unanswered prompts expire, due follow-ups become entries, and calls committed but never placed are
// handed to telephony again.
func (s *Service) sweep(ctx context.Context, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		rescued, err := rescueLeases(ctx, tx, now)
		if err != nil {
			return err
		}
		for i := range rescued {
			a.log(&rescued[i], EventRescued, "the worker holding it stopped before settling it", now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.expirePrompts(ctx); err != nil {
		return err
	}
	if err := s.enqueueFollowUps(ctx); err != nil {
		return err
	}
	return s.redispatch(ctx)
}

func (w *Worker) heartbeat(ctx context.Context, entries []Entry) {
	ids := make([]uuid.UUID, len(entries))
	tenants := map[uuid.UUID]bool{}
	for i, e := range entries {
		ids[i] = e.ID
		tenants[e.TenantID] = true
	}
	t := time.NewTicker(w.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := extendLeases(ctx, w.s.db, w.opts.ID, keys(tenants), ids, w.s.clock.Now().Add(w.opts.Lease)); err != nil && ctx.Err() == nil {
				w.s.logger.Warn("extend dial leases", "worker", w.opts.ID, "error", err)
			}
		}
	}
}

// plan is one claimed entry on its way to an outcome.
type plan struct {
	entry    Entry
	campaign Campaign
	settings Settings
	// precheck is the outcome decided before asking Plinx (outside the window, DNC, attempts used up).
	precheck string
	nextOpen time.Time
	// active and checkErr are the Plinx check's answer.
	checked  bool
	active   bool
	checkErr error
}

// plan loads what each entry's decision needs and makes the decisions that need no Plinx check.
func (s *Service) plan(ctx context.Context, entries []Entry) ([]*plan, error) {
	campaigns := map[[2]uuid.UUID]Campaign{}
	settings := map[uuid.UUID]Settings{}
	windows := map[[2]uuid.UUID]*calendar.Calendar{}
	now := s.clock.Now()
	blocked, err := dncAmong(ctx, s.db, entries)
	if err != nil {
		return nil, err
	}
	out := make([]*plan, 0, len(entries))
	for _, e := range entries {
		key := [2]uuid.UUID{e.TenantID, e.CampaignID}
		c, ok := campaigns[key]
		if !ok {
			var err error
			if c, err = campaignOf(ctx, s.db, e.TenantID, e.CampaignID); err != nil {
				return nil, err
			}
			campaigns[key] = c
		}
		st, ok := settings[e.TenantID]
		if !ok {
			var err error
			if st, err = settingsOf(ctx, s.db, e.TenantID); err != nil {
				return nil, err
			}
			settings[e.TenantID] = st
		}
		win, ok := windows[key]
		if !ok {
			var err error
			if win, err = window(ctx, s.db, c); err != nil {
				return nil, err
			}
			windows[key] = win
		}
		p := &plan{entry: e, campaign: c, settings: st}
		switch {
		case !win.IsOpen(now):
			p.precheck = EventOutsideWindow
			p.nextOpen, _ = win.NextOpen(now)
		case blocked[e.ID]:
			p.precheck = EventDNC
		case e.Attempts >= c.MaxAttempts:
			p.precheck = EventMaxAttempts
		}
		out = append(out, p)
	}
	return out, nil
}

// window is a campaign's calling window in its tenant's zone, with the tenant's holidays off, read through
// db (the pool or the caller's transaction).
func window(ctx context.Context, db bun.IDB, c Campaign) (*calendar.Calendar, error) {
	loc, holidays, err := tenant.ZoneAndHolidays(ctx, db, c.TenantID)
	if err != nil {
		return nil, err
	}
	return windowIn(c, loc, holidays)
}

// check asks Plinx about every entry that needs it, several at a time, each within its tenant's timeout.
func (w *Worker) check(ctx context.Context, plans []*plan) {
	sem := make(chan struct{}, w.opts.Checks)
	var wg sync.WaitGroup
	for _, p := range plans {
		if p.precheck != "" {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			timeout := time.Duration(p.settings.CheckTimeoutMS) * time.Millisecond
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			p.active, p.checkErr = w.s.checker.Active(cctx, p.entry.TenantID, p.entry.E164)
			p.checked = true
			w.s.metrics.checked(time.Since(start), p.checkErr)
		})
	}
	wg.Wait()
}

// settle applies a claimed entry's outcome in the batch's transaction; e is its current row.
func (s *Service) settle(ctx context.Context, tx bun.Tx, a *after, p *plan, e Entry, agents agentPool) error {
	now := s.clock.Now()
	switch p.precheck {
	case EventOutsideWindow:
		a.outcome(EventOutsideWindow)
		a.log(&e, EventOutsideWindow, "outside the campaign's calling window", now)
		a.requeue(&e, p.nextOpen, now)
		return nil
	case EventDNC:
		a.outcome(EventDNC)
		return a.close(ctx, tx, &e, CloseDNC, now)
	case EventMaxAttempts:
		a.outcome(EventMaxAttempts)
		return a.close(ctx, tx, &e, CloseMaxAttempts, now)
	}
	if !p.checked {
		return errors.New("no Plinx check was made")
	}
	if p.checkErr != nil {
		// Plinx could not answer: no call without a check. Defer, without using an attempt.
		a.outcome(EventDeferred)
		backoff := time.Duration(p.settings.UnavailableBackoffMS) * time.Millisecond
		reason := "Plinx did not answer: " + p.checkErr.Error()
		a.log(&e, EventDeferred, reason, now)
		msg := fmt.Sprintf(DeferredPlinxMessage, plinxReason(p.checkErr), backoff.Round(time.Second))
		if err := logUpdate(ctx, tx, &e, msg, now); err != nil {
			return err
		}
		a.requeue(&e, now.Add(backoff), now)
		return nil
	}
	a.log(&e, EventChecked, fmt.Sprintf("active=%t", p.active), now)
	switch {
	case p.active && !p.settings.DialActiveWhatsApp:
		a.outcome(EventSkipped)
		e.Attempts++
		a.log(&e, EventSkipped, "active WhatsApp conversation in Plinx", now)
		if err := logUpdate(ctx, tx, &e, SkippedWhatsAppMessage, now); err != nil {
			return err
		}
		return a.afterOutcome(ctx, tx, &e, p.campaign, OutcomeSkippedWhatsApp, now)
	case p.active:
		return s.prompt(ctx, tx, a, &e, p, agents.take(p), now)
	default:
		return s.dial(ctx, tx, a, &e, agents.take(p), p.settings.TelephonyAdapter, now)
	}
}

func plinxReason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "tempo esgotado"
	default:
		return "indisponível"
	}
}

// prompt asks a ready agent whether to call a customer who is talking on WhatsApp.
func (s *Service) prompt(ctx context.Context, tx bun.Tx, a *after, e *Entry, p *plan, sess *Session, now time.Time) error {
	if sess == nil {
		return s.noAgent(a, e, now)
	}
	promptID := *sess.PromptID // the reservation put the session on it
	a.outcome(EventPrompted)
	pr := Prompt{TenantID: e.TenantID, ID: promptID, EntryID: e.ID, SessionID: sess.ID, Attempt: e.Attempts + 1,
		Text: PromptText, Status: PromptPending, ExpiresAt: now.Add(time.Duration(p.settings.PromptTimeoutMS) * time.Millisecond),
		CreatedAt: now}
	if _, err := tx.NewInsert().Model(&pr).Exec(ctx); err != nil {
		return fmt.Errorf("insert prompt: %w", err)
	}
	e.Status, e.LeaseOwner, e.LeaseUntil = EntryPrompting, nil, nil
	a.save(e, now)
	a.log(e, EventPrompted, "active WhatsApp conversation; the agent decides", now)
	a.hook(e.TenantID, outbound.DialerPromptCreated, outbound.PromptData{PromptID: pr.ID, EntryID: e.ID, CampaignID: e.CampaignID,
		SessionID: sess.ID, AgentID: sess.UserID, Number: e.E164, Text: pr.Text, ExpiresAt: pr.ExpiresAt,
		CompanyID: e.CompanyID, ContactID: e.ContactID, LeadID: e.LeadID}, now)
	return a.publish(e.TenantID, sess.ID, "prompt", map[string]any{
		"prompt_id": pr.ID, "entry_id": e.ID, "text": pr.Text, "expires_at": pr.ExpiresAt,
		"number": e.E164, "company_id": e.CompanyID, "contact_id": e.ContactID, "lead_id": e.LeadID,
		"session_status": sess.Status,
	}, now)
}

// noAgent returns an entry to the queue when no agent is ready after all (another worker took them).
func (s *Service) noAgent(a *after, e *Entry, now time.Time) error {
	a.outcome(EventNoAgent)
	a.log(e, EventNoAgent, "no ready agent", now)
	a.requeue(e, now, now)
	return nil
}

// dial creates the attempt's call on the agent reserved for it; telephony gets it once this commits.
func (s *Service) dial(ctx context.Context, tx bun.Tx, a *after, e *Entry, sess *Session, adapter string, now time.Time) error {
	if sess == nil {
		return s.noAgent(a, e, now)
	}
	return s.call(ctx, tx, a, e, sess, true, adapter, now)
}

// call creates the call for the entry's next attempt on a session: the one a batch's reservation put the
// session on, or a new one the session moves on now. The (entry, attempt) key makes a second call for the
// same attempt impossible. adapter is the tenant's telephony adapter when the caller knows it.
func (s *Service) call(ctx context.Context, tx bun.Tx, a *after, e *Entry, sess *Session, reserved bool, adapter string, now time.Time) error {
	a.outcome(EventCalled)
	e.Attempts++
	id := newID()
	if reserved {
		id = *sess.CallID
	}
	call := Call{TenantID: e.TenantID, ID: id, EntryID: e.ID, CampaignID: e.CampaignID, Attempt: e.Attempts,
		SessionID: sess.ID, AgentID: sess.UserID, E164: e.E164, Status: CallCreated, Version: 1, CreatedAt: now, UpdatedAt: now}
	a.calls = append(a.calls, call)
	if !reserved {
		sess.Status, sess.CallID, sess.PromptID = SessionOnCall, &call.ID, nil
		if err := saveSession(ctx, tx, sess, now); err != nil {
			return err
		}
	}
	e.Status, e.LeaseOwner, e.LeaseUntil = EntryDialing, nil, nil
	a.save(e, now)
	a.log(e, EventCalled, "call "+call.ID.String(), now)
	a.hook(e.TenantID, outbound.CallCreated, callData(&call, e), now)
	// One event tells the screen both: the new call, and that the session is on it.
	payload := callPayload(call, e)
	payload["session_status"] = sess.Status
	if err := a.publish(e.TenantID, sess.ID, "call", payload, now); err != nil {
		return err
	}
	a.place = append(a.place, telephony.Call{TenantID: e.TenantID, ID: call.ID, EntryID: e.ID, CampaignID: e.CampaignID,
		AgentID: sess.UserID, Attempt: call.Attempt, Number: e.E164, Adapter: adapter})
	return nil
}

// actorOf is the system acting for a tenant, for work the worker does on its own.
func actorOf(tenantID uuid.UUID) tenant.Actor { return tenant.Actor{TenantID: tenantID} }

func callPayload(c Call, e *Entry) map[string]any {
	return map[string]any{"call_id": c.ID, "entry_id": c.EntryID, "number": c.E164, "status": c.Status, "outcome": c.Outcome,
		"attempt": c.Attempt, "company_id": e.CompanyID, "contact_id": e.ContactID, "lead_id": e.LeadID}
}

// expirePrompts ends the prompts nobody answered in time: the entry goes back to the queue now and the
// agent's session is paused.
func (s *Service) expirePrompts(ctx context.Context) error {
	var due []Prompt
	now := s.clock.Now()
	if err := s.db.NewSelect().Model(&due).Where("dp.status = ? AND dp.expires_at <= ?", PromptPending, now).
		OrderExpr("dp.expires_at").Limit(100).Scan(ctx); err != nil {
		return fmt.Errorf("find expired prompts: %w", err)
	}
	for _, p := range due {
		err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
			return s.expirePrompt(ctx, tx, a, p, now)
		})
		if err != nil && !errors.Is(err, ErrPromptAnswered) {
			return err
		}
	}
	return nil
}

func (s *Service) expirePrompt(ctx context.Context, tx bun.Tx, a *after, p Prompt, now time.Time) error {
	res, err := tx.NewUpdate().Model((*Prompt)(nil)).Set("status = ?", PromptExpired).
		Where("tenant_id = ? AND id = ? AND status = ?", p.TenantID, p.ID, PromptPending).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrPromptAnswered
	}
	a.outcome(EventPromptExpired)
	var e Entry
	if err := tx.NewSelect().Model(&e).Where("de.tenant_id = ? AND de.id = ?", p.TenantID, p.EntryID).Scan(ctx); err != nil {
		return err
	}
	a.log(&e, EventPromptExpired, "the agent did not answer the prompt in time", now)
	a.requeue(&e, now, now)
	sess, err := sessionOf(ctx, tx, p.TenantID, p.SessionID)
	if err != nil {
		return err
	}
	reason := PausePromptTimeout
	sess.Status, sess.PauseReason, sess.PromptID = SessionPaused, &reason, nil
	if err := saveSession(ctx, tx, &sess, now); err != nil {
		return err
	}
	if err := a.publish(p.TenantID, sess.ID, "prompt_expired", map[string]any{"prompt_id": p.ID}, now); err != nil {
		return err
	}
	return a.publishState(&sess, now)
}

// enqueueFollowUps turns follow-ups of campaigns that fall due into dial entries, once each.
func (s *Service) enqueueFollowUps(ctx context.Context) error {
	now := s.clock.Now()
	var due []crm.FollowUp
	err := s.db.NewSelect().Model(&due).
		Join("JOIN campaigns AS cp ON cp.tenant_id = fu.tenant_id AND cp.id = fu.campaign_id AND cp.status IN (?)",
			bun.In([]string{CampaignRunning, CampaignPaused, CampaignDraft})).
		Where("fu.status = ? AND fu.due_at <= ?", crm.FollowUpPending, now).
		Where("NOT EXISTS (SELECT 1 FROM dial_entries AS e WHERE e.tenant_id = fu.tenant_id AND e.follow_up_id = fu.id)").
		OrderExpr("fu.due_at").Limit(200).Scan(ctx)
	if err != nil {
		return fmt.Errorf("find due follow-ups: %w", err)
	}
	for _, f := range due {
		err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
			c, err := campaignOf(ctx, tx, f.TenantID, *f.CampaignID)
			if err != nil {
				return err
			}
			target := Target{CompanyID: f.CompanyID, ContactID: f.ContactID, LeadID: f.LeadID, PhoneID: f.PhoneID, DueAt: &f.DueAt}
			e, err := s.resolve(ctx, tx, actorOf(f.TenantID), c, target, now)
			if err != nil {
				return err
			}
			e.FollowUpID = &f.ID
			_, err = tx.NewInsert().Model(&e).On("CONFLICT DO NOTHING").Exec(ctx)
			return err
		})
		if err != nil {
			s.logger.Warn("follow-up could not become a dial entry", "tenant_id", f.TenantID.String(),
				"follow_up_id", f.ID.String(), "error", err)
		}
	}
	return nil
}

// redispatch hands to telephony again the calls committed but never placed (the process died in between,
// or telephony could not be reached). Telephony drops repeats of a call id.
func (s *Service) redispatch(ctx context.Context) error {
	var stuck []Call
	cutoff := s.clock.Now().Add(-10 * time.Second)
	if err := s.db.NewSelect().Model(&stuck).Where("cl.status = ? AND cl.created_at <= ?", CallCreated, cutoff).
		OrderExpr("cl.created_at").Limit(100).Scan(ctx); err != nil {
		return fmt.Errorf("find calls to place: %w", err)
	}
	for _, c := range stuck {
		s.place(ctx, telephony.Call{TenantID: c.TenantID, ID: c.ID, EntryID: c.EntryID, CampaignID: c.CampaignID,
			AgentID: c.AgentID, Attempt: c.Attempt, Number: c.E164})
	}
	return nil
}
