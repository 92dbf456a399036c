package ticket

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// Events arriving together are applied together: each of a few lanes takes the events waiting for it and
// applies them in one transaction, so that a burst of deliveries shares its transactions' round trips and
// commits. An event waits for no timer: a lane starts its next transaction as soon as the last one ends,
// with whatever arrived meanwhile. The events of one external code always take the same lane, so one
// transaction never waits for a ticket another lane of the process holds.
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
// own, so that one event's failure is its own answer.
func (in *intake) applyBatch(batch []intakeJob) {
	ctx, cancel := context.WithTimeout(context.Background(), intakeTimeout)
	defer cancel()
	if len(batch) > 1 {
		results := make([]Result, len(batch))
		err := store.RunInTx(ctx, in.s.db, func(ctx context.Context, tx bun.Tx) error {
			for i, j := range batch {
				var err error
				if results[i], err = in.s.applyIn(ctx, tx, j); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for i, j := range batch {
				j.done <- intakeDone{res: results[i]}
			}
			return
		}
	}
	for _, j := range batch {
		res, err := in.s.applyAlone(ctx, j)
		j.done <- intakeDone{res: res, err: err}
	}
}
