package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/inbox"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// Events arriving together are applied together: each of a few lanes takes the events waiting for it and
// applies them in one transaction, so that a burst of deliveries shares its transactions' round trips and
// commits. An event waits for no timer: a lane starts its next transaction as soon as the last one ends,
// with whatever arrived meanwhile. The events of one external code always take the same lane, so one
// transaction never waits for a ticket another lane of the process holds (lanes may still meet over a
// customer they share; a deadlock there sends the batch's events one by one, and each is retried).
const (
	intakeLanes    = 4
	intakeMaxBatch = 32
	// intakeIdle is how long an idle lane's goroutine waits for work before it ends.
	intakeIdle = 500 * time.Millisecond
	// intakeTimeout bounds one batch's transaction.
	intakeTimeout = 30 * time.Second
)

// intakeJob is one event to apply, with what it is answered with.
type intakeJob struct {
	t         tenant.Tenant
	ig        Integration
	webhookID string
	ev        Event
	done      chan intakeDone
}

type intakeDone struct {
	res Result
	err error
}

// intake spreads events over its lanes.
type intake struct {
	s     *Service
	lanes [intakeLanes]lane
}

// lane is a queue of events and, while it has work, the goroutine applying them.
type lane struct {
	mu      sync.Mutex
	queue   []intakeJob
	running bool
	// wake tells the lane's goroutine, lingering idle, that work arrived.
	wake chan struct{}
}

func newIntake(s *Service) *intake {
	in := &intake{s: s}
	for i := range in.lanes {
		in.lanes[i].wake = make(chan struct{}, 1)
	}
	return in
}

// apply queues an event on its lane and waits for its outcome.
func (in *intake) apply(ctx context.Context, j intakeJob) (Result, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(j.ig.ID.String() + "|" + j.ev.ExternalCode))
	l := &in.lanes[h.Sum32()%intakeLanes]
	j.done = make(chan intakeDone, 1)
	l.mu.Lock()
	l.queue = append(l.queue, j)
	if !l.running {
		l.running = true
		go in.run(l)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	select {
	case d := <-j.done:
		return d.res, d.err
	case <-ctx.Done():
		// The event is applied all the same; the caller no longer waits for the answer.
		return Result{}, ctx.Err()
	}
}

// run applies the lane's queue, batch after batch, until the lane stays idle.
func (in *intake) run(l *lane) {
	idle := time.NewTimer(intakeIdle)
	defer idle.Stop()
	for {
		l.mu.Lock()
		n := min(len(l.queue), intakeMaxBatch)
		batch := append([]intakeJob(nil), l.queue[:n]...)
		l.queue = l.queue[n:]
		l.mu.Unlock()
		if n > 0 {
			in.applyBatch(batch)
			continue
		}
		// Nothing waiting: linger a little for more, then end; apply starts a new goroutine when needed.
		idle.Reset(intakeIdle)
		select {
		case <-l.wake:
			idle.Stop()
			continue
		case <-idle.C:
		}
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}

// applyBatch applies events in one transaction; if any fails, each is applied again in a transaction of its
// own, so that one event's failure is its own answer. Every job is answered, whatever happens.
func (in *intake) applyBatch(batch []intakeJob) {
	answered := 0
	defer func() {
		if p := recover(); p != nil {
			in.s.logger.Error("intake batch panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			for _, j := range batch[answered:] {
				j.done <- intakeDone{err: fmt.Errorf("applying the event panicked: %v", p)}
			}
		}
	}()
	if len(batch) > 1 {
		ctx, cancel := context.WithTimeout(context.Background(), intakeTimeout)
		results := make([]Result, len(batch))
		err := store.RunInTx(ctx, in.s.db, func(ctx context.Context, tx bun.Tx) error {
			var b *batchState
			if in.s.concurrent() {
				var err error
				if b, err = in.s.readBatch(ctx, tx, batch); err != nil {
					return err
				}
			}
			for i, j := range batch {
				var err error
				if results[i], err = in.s.applyIn(ctx, tx, j, b); err != nil {
					return err
				}
			}
			if b != nil {
				return in.s.writeBatch(ctx, tx, b)
			}
			return nil
		})
		cancel()
		if err == nil {
			for i, j := range batch {
				j.done <- intakeDone{res: results[i]}
				answered++
			}
			return
		}
		// An invalid event, a deadlock with another process, a ticket created meanwhile by another process:
		// each event on its own.
		in.s.logger.Info("intake batch failed; applying its events one by one", "events", len(batch), "error", err.Error())
	}
	for _, j := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), intakeTimeout)
		res, err := in.s.applyAlone(ctx, j)
		cancel()
		j.done <- intakeDone{res: res, err: err}
		answered++
	}
}

// batchState is what a lane's transaction on PostgreSQL reads for all its events at once — which deliveries
// are new, and their tickets, locked — and the changes it writes for all of them at its end.
type batchState struct {
	// fresh holds the deliveries whose receipts the transaction wrote and no event has used yet.
	fresh   map[string]bool
	tickets map[codeKey]*Ticket
	dirty   []*Ticket
	// timeline holds the entries of the batch's events, written at its end.
	timeline []TimelineEntry
	// messages are the messages the batch queues, each with the entry that tells of it.
	messages []queuedMessage
	// tasks caches the tasks of the procedures the batch's tickets follow.
	tasks map[uuid.UUID][]Task
	// hooks are the batch's events for outbound webhooks, published at its end.
	hooks []outbound.Event
}

// queuedMessage is a message a batch writes at its end, and the timeline entry written if it is new.
type queuedMessage struct {
	m     Message
	entry TimelineEntry
}

// queue adds a message to write at the end; a second one for the same (ticket, task) is dropped.
func (b *batchState) queue(m Message, entry TimelineEntry) {
	for _, q := range b.messages {
		if q.m.TicketID == m.TicketID && q.m.TaskID == m.TaskID {
			return
		}
	}
	b.messages = append(b.messages, queuedMessage{m: m, entry: entry})
}

type codeKey struct {
	integration uuid.UUID
	code        string
}

func receiptKey(ig Integration, webhookID string) string { return ig.ID.String() + "|" + webhookID }

// changed records an updated ticket and its timeline entries, to be written at the end.
func (b *batchState) changed(tk *Ticket, w *timeline) {
	if !slices.Contains(b.dirty, tk) {
		b.dirty = append(b.dirty, tk)
	}
	b.timeline = append(b.timeline, w.entries...)
	w.entries = nil
}

// readBatch records the batch's deliveries and reads its tickets, locked: two statements for the batch.
func (s *Service) readBatch(ctx context.Context, tx bun.Tx, batch []intakeJob) (*batchState, error) {
	b := &batchState{fresh: map[string]bool{}, tickets: map[codeKey]*Ticket{}, tasks: map[uuid.UUID][]Task{}}
	now := s.clock.Now()
	var receipts []inbox.Receipt
	for _, j := range batch {
		if j.webhookID != "" {
			receipts = append(receipts, inbox.Receipt{TenantID: j.ig.TenantID, Source: "integration:" + j.ig.ID.String(),
				WebhookID: j.webhookID, ReceivedAt: now})
		}
	}
	if len(receipts) > 0 {
		var written []inbox.Receipt
		if err := tx.NewInsert().Model(&receipts).On("CONFLICT DO NOTHING").Returning("source, webhook_id").Scan(ctx, &written); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("record deliveries: %w", err)
		}
		for _, r := range written {
			b.fresh[strings.TrimPrefix(r.Source, "integration:")+"|"+r.WebhookID] = true
		}
	}
	var where strings.Builder
	args := make([]any, 0, 3*len(batch))
	for i, j := range batch {
		if i > 0 {
			where.WriteString(", ")
		}
		where.WriteString("(?, ?, ?)")
		args = append(args, j.ig.TenantID, j.ig.ID, j.ev.ExternalCode)
	}
	var found []Ticket
	err := withCurrentTask(tx, &found).
		Where("(tc.tenant_id, tc.integration_id, tc.external_code) IN ("+where.String()+")", args...).
		OrderExpr("tc.tenant_id, tc.id").For("UPDATE OF tc").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tickets: %w", err)
	}
	for i := range found {
		tk := &found[i]
		s.setCurrentTask(tk)
		b.tickets[codeKey{tk.IntegrationID, tk.ExternalCode}] = tk
	}
	return b, nil
}

// applyInBatch applies one event of a batch read by readBatch.
func (s *Service) applyInBatch(ctx context.Context, tx bun.Tx, j intakeJob, b *batchState) (Result, error) {
	var res Result
	ig, ev, now := j.ig, j.ev, s.clock.Now()
	fresh := j.webhookID == ""
	if !fresh {
		key := receiptKey(ig, j.webhookID)
		fresh = b.fresh[key]
		delete(b.fresh, key) // a second delivery of it in the batch is a duplicate
	}
	key := codeKey{ig.ID, ev.ExternalCode}
	tk := b.tickets[key]
	switch {
	case !fresh:
		res.Outcome = OutcomeDuplicate
		if tk == nil {
			t, err := s.ticketByCode(ctx, tx, ig, ev.ExternalCode, false)
			res.Ticket = t
			return res, err
		}
		res.Ticket = *tk
		return res, nil
	case tk == nil:
		created, err := s.create(ctx, tx, j.t, ig, ev, now, b)
		if err != nil {
			return res, err
		}
		b.tickets[key] = &created
		res.Outcome, res.Ticket = OutcomeCreated, created
		return res, nil
	}
	outcome, err := s.update(ctx, tx, j.t, ig, tk, ev, now, b)
	res.Outcome, res.Ticket = outcome, *tk
	return res, err
}

// writeBatch writes the batch's updated tickets, queued messages and timeline entries: three statements.
func (s *Service) writeBatch(ctx context.Context, tx bun.Tx, b *batchState) error {
	if len(b.dirty) > 0 {
		rows := make([]Ticket, len(b.dirty))
		for i, tk := range b.dirty {
			rows[i] = *tk
		}
		if _, err := tx.NewUpdate().Model(&rows).Column(ticketColumns...).Bulk().Exec(ctx); err != nil {
			return fmt.Errorf("save tickets: %w", err)
		}
	}
	if len(b.messages) > 0 {
		msgs := make([]Message, len(b.messages))
		for i, q := range b.messages {
			msgs[i] = q.m
		}
		var written []uuid.UUID
		err := tx.NewInsert().Model(&msgs).On("CONFLICT (tenant_id, ticket_id, task_id) DO NOTHING").Returning("id").
			Scan(ctx, &written)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queue messages: %w", err)
		}
		for _, q := range b.messages {
			if slices.Contains(written, q.m.ID) { // the others were written before
				s.metrics.outcome(q.m.Status)
				b.timeline = append(b.timeline, q.entry)
				if q.m.Status == MessageFailed {
					if err := s.emitMessage(ctx, tx, &q.m, MessageFailed, q.m.CreatedAt); err != nil {
						return err
					}
				}
			}
		}
	}
	if len(b.timeline) > 0 {
		if _, err := tx.NewInsert().Model(&b.timeline).Exec(ctx); err != nil {
			return fmt.Errorf("write timeline: %w", err)
		}
	}
	return outbound.Emit(ctx, s.outbox, tx, b.hooks...)
}
