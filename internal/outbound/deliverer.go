package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/webhook"
)

// Schedule is the wait before each retry of a delivery that failed: its first attempt is due at once, the
// second 5 seconds after the first fails, and so on; after the last wait's attempt fails, the delivery has
// failed (about 28 hours after its first attempt). Each wait is lengthened by up to 10% at random, so that
// deliveries that failed together do not all come back at the same instant.
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// DelivererOptions tune a deliverer.
type DelivererOptions struct {
	// ID names the deliverer in leases; default host:pid:random.
	ID string
	// Batch is how many deliveries one claim takes (default 50).
	Batch int
	// Sends is how many deliveries are in flight at once (default 16).
	Sends int
	// Timeout bounds one POST, answer included (default 15 s).
	Timeout time.Duration
	// Lease is how long a claim holds before another deliverer may rescue it (default Timeout + 15 s).
	Lease time.Duration
	// Tick is the pause between passes when nothing is due (default 250 ms).
	Tick time.Duration
	// Client sends the POSTs (default: an http.Client that follows no redirects).
	Client *http.Client
}

// Deliverer POSTs due deliveries to their endpoints. Many deliverers, in many processes, share one
// PostgreSQL: each claims due deliveries under a lease, so one is sent again only when its deliverer died
// with it in flight or did not record its answer in time.
type Deliverer struct {
	s    *Service
	opts DelivererOptions

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewDeliverer returns a deliverer of s's deliveries.
func (s *Service) NewDeliverer(opts DelivererOptions) *Deliverer {
	if opts.ID == "" {
		host, _ := os.Hostname()
		opts.ID = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.Sends <= 0 {
		opts.Sends = 16
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Lease <= opts.Timeout {
		opts.Lease = opts.Timeout + 15*time.Second
	}
	if opts.Tick <= 0 {
		opts.Tick = 250 * time.Millisecond
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			// A redirect is an answer like any other non-2xx: the endpoint's URL is what was subscribed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Deliverer{s: s, opts: opts}
}

// Start runs the deliverer until Stop or ctx ends.
func (w *Deliverer) Start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go w.run(ctx)
}

// Stop stops claiming and waits, until ctx ends, for the deliveries in flight to be sent and recorded.
func (w *Deliverer) Stop(ctx context.Context) {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (w *Deliverer) run(ctx context.Context) {
	defer close(w.done)
	for ctx.Err() == nil {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.s.logger.Error("webhook deliverer pass", "error", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.opts.Tick):
		}
	}
}

// RunOnce claims one batch of due deliveries of enabled endpoints and sends them; it returns how many it
// claimed. Once claimed, a delivery is sent and recorded even if ctx ends meanwhile.
func (w *Deliverer) RunOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	// A claim that started completes and is worked off: cancelled halfway, its rows could be leased in the
	// database with nobody delivering them until the lease expires.
	work := context.WithoutCancel(ctx)
	ds, err := w.claim(work)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	endpoints, err := w.endpoints(work, ds)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, w.opts.Sends)
	var wg sync.WaitGroup
	for i := range ds {
		ep, ok := endpoints[[2]uuid.UUID{ds[i].TenantID, ds[i].EndpointID}]
		if !ok {
			continue // deleted since the claim, with its deliveries
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := w.deliver(work, &ds[i], ep); err != nil {
				w.s.logger.Error("record webhook delivery", "delivery_id", ds[i].ID.String(), "tenant_id", ds[i].TenantID.String(), "error", err)
			}
		})
	}
	wg.Wait()
	return len(ds), nil
}

// claim leases due deliveries of enabled endpoints to this deliverer. PostgreSQL skips the rows other
// deliverers are claiming; SQLite's single writer excludes every other.
func (w *Deliverer) claim(ctx context.Context) ([]Delivery, error) {
	now := w.s.clock.Now()
	lock := ""
	if w.s.db.Kind == store.Postgres {
		lock = " FOR UPDATE OF wd SKIP LOCKED"
	}
	var out []Delivery
	err := w.s.db.NewRaw(`UPDATE webhook_deliveries SET lease_until = ?, leased_by = ?
		WHERE (tenant_id, id) IN (SELECT wd.tenant_id, wd.id FROM webhook_deliveries wd
			JOIN webhook_endpoints we ON we.tenant_id = wd.tenant_id AND we.id = wd.endpoint_id
			WHERE wd.status = ? AND wd.next_attempt_at <= ? AND (wd.lease_until IS NULL OR wd.lease_until < ?) AND we.enabled
			ORDER BY wd.next_attempt_at LIMIT ?`+lock+`)
		RETURNING *`, now.Add(w.opts.Lease), w.opts.ID, StatusPending, now, now, w.opts.Batch).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	return out, nil
}

// endpoints reads the endpoints of a batch of deliveries.
func (w *Deliverer) endpoints(ctx context.Context, ds []Delivery) (map[[2]uuid.UUID]Endpoint, error) {
	keys := make([]uuid.UUID, 0, len(ds))
	for _, d := range ds {
		keys = append(keys, d.EndpointID)
	}
	var eps []Endpoint
	if err := w.s.db.NewSelect().Model(&eps).Where("we.id IN (?)", bun.In(keys)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read webhook endpoints: %w", err)
	}
	out := make(map[[2]uuid.UUID]Endpoint, len(eps))
	for _, ep := range eps {
		out[[2]uuid.UUID{ep.TenantID, ep.ID}] = ep
	}
	return out, nil
}

// answer is what one POST got.
type answer struct {
	at       time.Time
	status   int // 0 without an answer
	err      string
	duration time.Duration
	body     string
}

func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

// deliver POSTs a delivery and records the answer.
func (w *Deliverer) deliver(ctx context.Context, d *Delivery, ep Endpoint) error {
	ans := w.post(ctx, d, ep)
	w.s.metrics.observe(ans)
	// The answer must be recorded, or the lease's expiry delivers again: retry a failing write briefly.
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err = w.record(ctx, d, ans); err == nil {
			return nil
		}
	}
	return err
}

// post sends the delivery once, signed with each of the endpoint's current secrets.
func (w *Deliverer) post(ctx context.Context, d *Delivery, ep Endpoint) answer {
	now := w.s.clock.Now()
	ans := answer{at: now}
	var sigs []string
	for _, secret := range ep.secrets(now) {
		sig, err := webhook.Sign(secret, d.EventID, now, d.Payload)
		if err != nil {
			ans.err = "the endpoint's secret cannot sign: " + err.Error()
			return ans
		}
		sigs = append(sigs, sig)
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.Payload))
	if err != nil {
		ans.err = "the URL cannot be requested: " + err.Error()
		return ans
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "atende-webhooks/1")
	req.Header.Set(webhook.HeaderID, d.EventID)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, strings.Join(sigs, " "))
	start := time.Now()
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		ans.duration = time.Since(start)
		ans.err = describe(err)
		return ans
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	ans.duration = time.Since(start)
	// Kept as text: valid UTF-8 without NULs, which PostgreSQL's text refuses.
	ans.status, ans.body = resp.StatusCode, strings.ReplaceAll(strings.ToValidUTF8(string(body), "\uFFFD"), "\x00", "")
	if !ans.ok() {
		ans.err = fmt.Sprintf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return ans
}

// describe words a transport error without internals a receiver's operator cannot act on.
func describe(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within the timeout"
	default:
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return msg
	}
}

// successEvery bounds how often successes are written on their endpoint: a busy endpoint's row is not
// rewritten by every delivery, and last_success_at is at most this old.
const successEvery = time.Minute

// record writes a delivery's attempt and outcome, if this deliverer still holds its lease: a 2xx ends it;
// a 410 ends it and disables the endpoint; anything else schedules the next attempt, or, after the last,
// fails the delivery and disables an endpoint that has not succeeded since the delivery first failed.
//
// Only the delivery's row is locked. The endpoint's row is written when its state changes — its first
// failure, a success after failures or successEvery after the last one written, disabling — by statements
// that change only those columns, so deliveries to one endpoint do not queue behind each other.
func (w *Deliverer) record(ctx context.Context, d *Delivery, ans answer) error {
	return store.RunInTx(ctx, w.s.db, func(ctx context.Context, tx bun.Tx) error {
		var held Delivery
		q := tx.NewSelect().Model(&held).Where("wd.tenant_id = ? AND wd.id = ?", d.TenantID, d.ID)
		if err := store.Lock(w.s.db.Kind, q, "UPDATE").Scan(ctx); err != nil {
			if errors.Is(notFound(err), ErrNotFound) {
				return nil // deleted with its endpoint meanwhile
			}
			return fmt.Errorf("read webhook delivery: %w", err)
		}
		if held.Status != StatusPending || held.LeasedBy == nil || *held.LeasedBy != w.opts.ID {
			w.s.logger.Warn("webhook delivery lease lost before its answer was recorded", "delivery_id", d.ID.String())
			return nil
		}
		var ep Endpoint
		if err := tx.NewSelect().Model(&ep).Where("we.tenant_id = ? AND we.id = ?", d.TenantID, d.EndpointID).Scan(ctx); err != nil {
			return fmt.Errorf("read webhook endpoint: %w", notFound(err))
		}
		at := Attempt{TenantID: d.TenantID, ID: newID(), DeliveryID: d.ID, AttemptedAt: ans.at, DurationMS: ans.duration.Milliseconds()}
		if ans.status != 0 {
			at.StatusCode = &ans.status
			at.ResponseBody = &ans.body
		}
		if ans.err != "" {
			at.Error = &ans.err
		}
		if _, err := tx.NewInsert().Model(&at).Exec(ctx); err != nil {
			return fmt.Errorf("log webhook attempt: %w", err)
		}
		now := w.s.clock.Now()
		d.Attempts, d.LastAttemptAt, d.LastStatusCode, d.LastError = held.Attempts+1, &ans.at, at.StatusCode, at.Error
		d.ScheduleStart, d.FirstFailedAt = held.ScheduleStart, held.FirstFailedAt
		d.LeaseUntil, d.LeasedBy, d.UpdatedAt = nil, nil, now
		endpoint := tx.NewUpdate().Model((*Endpoint)(nil)).Where("tenant_id = ? AND id = ?", ep.TenantID, ep.ID)
		var change *bun.UpdateQuery
		switch {
		case ans.ok():
			d.Status, d.SucceededAt, d.NextAttemptAt = StatusSucceeded, &now, nil
			if ep.FailingSince != nil || ep.LastSuccessAt == nil || now.Sub(*ep.LastSuccessAt) >= successEvery {
				change = endpoint.Set("last_success_at = ?", now).Set("failing_since = NULL")
			}
			w.s.metrics.outcome(StatusSucceeded)
		case ans.status == http.StatusGone:
			d.Status, d.NextAttemptAt = StatusFailed, nil
			change = disable(endpoint, DisabledGone, now)
			w.s.metrics.outcome("gone")
			w.s.logger.Info("webhook endpoint answered 410 Gone: disabled", "endpoint_id", ep.ID.String(), "tenant_id", ep.TenantID.String())
		default:
			if d.FirstFailedAt == nil {
				d.FirstFailedAt = &ans.at
			}
			if ep.FailingSince == nil {
				change = endpoint.Set("failing_since = COALESCE(failing_since, ?)", ans.at)
			}
			if n := d.Attempts - d.ScheduleStart; n <= len(Schedule) {
				wait := Schedule[n-1]
				wait += time.Duration(rand.Int64N(int64(wait)/10 + 1))
				next := now.Add(wait)
				d.NextAttemptAt = &next
				w.s.metrics.outcome("retried")
				break
			}
			d.Status, d.NextAttemptAt = StatusFailed, nil
			w.s.metrics.outcome(StatusFailed)
			if ep.Enabled && (ep.LastSuccessAt == nil || ep.LastSuccessAt.Before(*d.FirstFailedAt)) {
				change = disable(endpoint, DisabledFailing, now).Where("last_success_at IS NULL OR last_success_at < ?", *d.FirstFailedAt)
				w.s.logger.Info("webhook endpoint failing for a day: disabled", "endpoint_id", ep.ID.String(), "tenant_id", ep.TenantID.String())
			}
		}
		if _, err := tx.NewUpdate().Model(d).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
		if change != nil {
			res, err := change.Exec(ctx)
			if err != nil {
				return fmt.Errorf("record the endpoint's state: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 && d.Status == StatusFailed {
				return holdPending(ctx, tx, ep.TenantID, ep.ID, now)
			}
		}
		return nil
	})
}

// holdPending takes a disabled endpoint's pending deliveries out of the queue (no next attempt), so claims do
// not walk past them; enabling the endpoint makes them due again.
func holdPending(ctx context.Context, tx bun.IDB, tenantID, endpointID uuid.UUID, now time.Time) error {
	_, err := tx.NewUpdate().Model((*Delivery)(nil)).Set("next_attempt_at = NULL").Set("updated_at = ?", now).
		Where("tenant_id = ? AND endpoint_id = ? AND status = ?", tenantID, endpointID, StatusPending).Exec(ctx)
	if err != nil {
		return fmt.Errorf("hold the deliveries of a disabled endpoint: %w", err)
	}
	return nil
}

// disable turns an endpoint off for a reason; the change is the endpoint's (its version moves on).
func disable(q *bun.UpdateQuery, reason string, now time.Time) *bun.UpdateQuery {
	return q.Set("enabled = ?", false).Set("disabled_reason = ?", reason).Set("disabled_at = ?", now).
		Set("version = version + 1").Set("updated_at = ?", now).Where("enabled")
}
