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

	"github.com/atende/atende/internal/loop"
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
	// Sends is how many deliveries are in flight at once (default 16). A delivery is claimed when a send
	// slot is free and sent at once, so a slow one never holds up the others.
	Sends int
	// PerEndpoint is how many of the slots one endpoint may hold (default half of Sends): a slow or hanging
	// receiver takes at most these, and the other endpoints' deliveries go on in the rest.
	PerEndpoint int
	// Timeout bounds one POST, answer included (default 15 s).
	Timeout time.Duration
	// Lease is how long a claim holds before another deliverer may rescue it (at least Timeout + 15 s).
	Lease time.Duration
	// Tick is the pause between passes when nothing is due (default 250 ms); a send that ends wakes the
	// deliverer at once.
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
	loop loop.Loop

	mu       sync.Mutex
	inFlight int
	// busy counts the deliveries in flight per endpoint.
	busy  map[[2]uuid.UUID]int
	sends sync.WaitGroup
}

// NewDeliverer returns a deliverer of s's deliveries.
func (s *Service) NewDeliverer(opts DelivererOptions) *Deliverer {
	if opts.ID == "" {
		host, _ := os.Hostname()
		opts.ID = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if opts.Sends <= 0 {
		opts.Sends = 16
	}
	if opts.PerEndpoint <= 0 {
		opts.PerEndpoint = max(1, opts.Sends/2)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	opts.Lease = max(opts.Lease, opts.Timeout+15*time.Second)
	if opts.Tick <= 0 {
		opts.Tick = 250 * time.Millisecond
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			// A redirect is an answer like any other non-2xx: the endpoint's URL is what was subscribed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	w := &Deliverer{s: s, opts: opts, busy: map[[2]uuid.UUID]int{}}
	w.loop = loop.Loop{Tick: opts.Tick, Failed: func(err error) { s.logger.Error("webhook deliverer pass", "error", err) }}
	return w
}

// Start runs the deliverer until Stop or ctx ends.
func (w *Deliverer) Start(ctx context.Context) { w.loop.Start(ctx, w.RunOnce) }

// Stop stops claiming and waits, until ctx ends, for the deliveries in flight to be sent and recorded.
func (w *Deliverer) Stop(ctx context.Context) {
	w.loop.Stop(ctx)
	done := make(chan struct{})
	go func() {
		w.sends.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Wait waits for the deliveries in flight to be sent and recorded.
func (w *Deliverer) Wait() { w.sends.Wait() }

// RunOnce claims as many due deliveries of enabled endpoints as there are free send slots — none of the
// endpoints holding their share of the slots — and starts sending them; it returns how many it started.
// Once claimed, a delivery is sent and recorded even if ctx ends meanwhile (Wait or Stop waits for it).
func (w *Deliverer) RunOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	w.mu.Lock()
	free := w.opts.Sends - w.inFlight
	var full []uuid.UUID
	for key, n := range w.busy {
		if n >= w.opts.PerEndpoint {
			full = append(full, key[1])
		}
	}
	inFlight := w.inFlight
	w.mu.Unlock()
	// Claims come in chunks: with sends in flight, wait until a quarter of the slots are free, so that a busy
	// deliverer does not claim row by row.
	if free <= 0 || (inFlight > 0 && free < max(1, w.opts.Sends/4)) {
		return 0, nil
	}
	// A claim that started completes and is worked off: cancelled halfway, its rows could be leased in the
	// database with nobody delivering them until the lease expires.
	work := context.WithoutCancel(ctx)
	ds, err := w.claim(work, free, full)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	endpoints, err := w.endpoints(work, ds)
	if err != nil {
		return 0, err
	}
	var release []Delivery
	started := 0
	for i := range ds {
		key := [2]uuid.UUID{ds[i].TenantID, ds[i].EndpointID}
		ep, ok := endpoints[key]
		if !ok {
			continue // deleted since the claim, with its deliveries
		}
		w.mu.Lock()
		take := ep.Enabled && w.busy[key] < w.opts.PerEndpoint
		if take {
			w.inFlight++
			w.busy[key]++
		}
		w.mu.Unlock()
		if !take {
			release = append(release, ds[i])
			continue
		}
		started++
		w.sends.Add(1)
		go func(d Delivery) {
			defer w.sent(key)
			if err := w.deliver(work, &d, ep); err != nil {
				w.s.logger.Error("record webhook delivery", "delivery_id", d.ID.String(), "tenant_id", d.TenantID.String(), "error", err)
			}
		}(ds[i])
	}
	if err := w.release(work, release); err != nil {
		return started, err
	}
	return started, nil
}

// sent frees a send slot and wakes the loop to fill it.
func (w *Deliverer) sent(key [2]uuid.UUID) {
	w.mu.Lock()
	w.inFlight--
	if w.busy[key]--; w.busy[key] <= 0 {
		delete(w.busy, key)
	}
	w.mu.Unlock()
	w.sends.Done()
	w.loop.Wake()
}

// release gives claimed deliveries back, unsent, to be claimed again.
func (w *Deliverer) release(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	keys := make([][]any, len(ds))
	for i, d := range ds {
		keys[i] = []any{d.TenantID, d.ID}
	}
	_, err := w.s.db.NewUpdate().Model((*Delivery)(nil)).Set("lease_until = NULL").Set("leased_by = NULL").
		Where("(tenant_id, id) IN (?)", bun.In(keys)).Where("leased_by = ?", w.opts.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release webhook deliveries: %w", err)
	}
	return nil
}

// claim leases up to n due deliveries of enabled endpoints, other than the full ones, to this deliverer.
// PostgreSQL skips the rows other deliverers are claiming; SQLite's single writer excludes every other.
func (w *Deliverer) claim(ctx context.Context, n int, full []uuid.UUID) ([]Delivery, error) {
	now := w.s.clock.Now()
	lock := ""
	if w.s.db.Kind == store.Postgres {
		lock = " FOR UPDATE OF wd SKIP LOCKED"
	}
	skip := ""
	args := []any{now.Add(w.opts.Lease), w.opts.ID, StatusPending, now, now}
	if len(full) > 0 {
		skip = " AND wd.endpoint_id NOT IN (?)"
		args = append(args, bun.In(full))
	}
	args = append(args, n)
	var out []Delivery
	err := w.s.db.NewRaw(`UPDATE webhook_deliveries SET lease_until = ?, leased_by = ?
		WHERE (tenant_id, id) IN (SELECT wd.tenant_id, wd.id FROM webhook_deliveries wd
			JOIN webhook_endpoints we ON we.tenant_id = wd.tenant_id AND we.id = wd.endpoint_id
			WHERE wd.status = ? AND wd.next_attempt_at <= ? AND (wd.lease_until IS NULL OR wd.lease_until < ?) AND we.enabled`+skip+`
			ORDER BY wd.next_attempt_at LIMIT ?`+lock+`)
		RETURNING *`, args...).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	return out, nil
}

// endpoints reads the endpoints of a batch of deliveries.
func (w *Deliverer) endpoints(ctx context.Context, ds []Delivery) (map[[2]uuid.UUID]Endpoint, error) {
	keys := make([][]any, 0, len(ds))
	for _, d := range ds {
		keys = append(keys, []any{d.TenantID, d.EndpointID})
	}
	var eps []Endpoint
	if err := w.s.db.NewSelect().Model(&eps).Where("(we.tenant_id, we.id) IN (?)", bun.In(keys)).Scan(ctx); err != nil {
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
// fails the delivery and disables an endpoint that has not succeeded since the delivery first failed. An
// endpoint disabled meanwhile holds a failed delivery instead of scheduling it.
//
// The endpoint's row is written only when its state changes — its first failure, a success after failures
// or successEvery after the last one written, disabling — so deliveries to one endpoint do not queue behind
// each other on it. When it will be written, it is locked before the delivery, in the order every other
// writer of both takes them (endpoint, then deliveries).
func (w *Deliverer) record(ctx context.Context, d *Delivery, ans answer) error {
	return store.RunInTx(ctx, w.s.db, func(ctx context.Context, tx bun.Tx) error {
		var ep Endpoint
		if err := tx.NewSelect().Model(&ep).Where("we.tenant_id = ? AND we.id = ?", d.TenantID, d.EndpointID).Scan(ctx); err != nil {
			if errors.Is(notFound(err), ErrNotFound) {
				return nil // deleted meanwhile, with its deliveries
			}
			return fmt.Errorf("read webhook endpoint: %w", err)
		}
		now := w.s.clock.Now()
		exhausted := d.Attempts+1-d.ScheduleStart > len(Schedule)
		if endpointChanges(&ep, ans, exhausted, now) {
			var err error
			if ep, err = w.s.lockEndpointFor(ctx, tx, d.TenantID, d.EndpointID, "NO KEY UPDATE"); err != nil {
				if errors.Is(err, ErrNotFound) {
					return nil
				}
				return err
			}
		}
		var held Delivery
		q := tx.NewSelect().Model(&held).Where("wd.tenant_id = ? AND wd.id = ?", d.TenantID, d.ID)
		if err := store.Lock(w.s.db.Kind, q, "UPDATE").Scan(ctx); err != nil {
			if errors.Is(notFound(err), ErrNotFound) {
				return nil
			}
			return fmt.Errorf("read webhook delivery: %w", err)
		}
		if held.Status != StatusPending || held.LeasedBy == nil || *held.LeasedBy != w.opts.ID {
			w.s.logger.Warn("webhook delivery lease lost before its answer was recorded", "delivery_id", d.ID.String())
			return nil
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
		*d = held
		d.Attempts, d.LastAttemptAt, d.LastStatusCode, d.LastError = held.Attempts+1, &ans.at, at.StatusCode, at.Error
		d.LeaseUntil, d.LeasedBy, d.UpdatedAt = nil, nil, now
		endpoint := tx.NewUpdate().Model((*Endpoint)(nil)).Where("tenant_id = ? AND id = ?", ep.TenantID, ep.ID)
		var change *bun.UpdateQuery
		held2 := false
		switch {
		case ans.ok():
			d.Status, d.SucceededAt, d.NextAttemptAt = StatusSucceeded, &now, nil
			if ep.FailingSince != nil || ep.LastSuccessAt == nil || now.Sub(*ep.LastSuccessAt) >= successEvery {
				change = endpoint.Set("last_success_at = ?", now).Set("failing_since = NULL")
			}
			w.s.metrics.outcome(StatusSucceeded)
		case ans.status == http.StatusGone:
			d.Status, d.NextAttemptAt = StatusFailed, nil
			if ep.Enabled {
				change, held2 = disable(endpoint, DisabledGone, now), true
				w.s.logger.Info("webhook endpoint answered 410 Gone: disabled", "endpoint_id", ep.ID.String(), "tenant_id", ep.TenantID.String())
			}
			w.s.metrics.outcome("gone")
		default:
			if d.FirstFailedAt == nil {
				d.FirstFailedAt = &ans.at
			}
			if ep.FailingSince == nil {
				change = endpoint.Set("failing_since = COALESCE(failing_since, ?)", ans.at)
			}
			n := d.Attempts - d.ScheduleStart
			switch {
			case !ep.Enabled: // disabled meanwhile: held until it is enabled
				d.NextAttemptAt = nil
				w.s.metrics.outcome("held")
			case n <= len(Schedule):
				wait := Schedule[n-1]
				wait += time.Duration(rand.Int64N(int64(wait)/10 + 1))
				next := now.Add(wait)
				d.NextAttemptAt = &next
				w.s.metrics.outcome("retried")
			default:
				d.Status, d.NextAttemptAt = StatusFailed, nil
				w.s.metrics.outcome(StatusFailed)
				if ep.LastSuccessAt == nil || ep.LastSuccessAt.Before(*d.FirstFailedAt) {
					change, held2 = disable(endpoint, DisabledFailing, now).Where("last_success_at IS NULL OR last_success_at < ?", *d.FirstFailedAt), true
					w.s.logger.Info("webhook endpoint failing for a day: disabled", "endpoint_id", ep.ID.String(), "tenant_id", ep.TenantID.String())
				}
			}
		}
		if _, err := tx.NewUpdate().Model(d).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
		if change == nil {
			return nil
		}
		res, err := change.Exec(ctx)
		if err != nil {
			return fmt.Errorf("record the endpoint's state: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 && held2 {
			return holdPending(ctx, tx, ep.TenantID, ep.ID, now)
		}
		return nil
	})
}

// endpointChanges tells, from an unlocked read of the endpoint, whether recording this answer will write
// the endpoint's row.
func endpointChanges(ep *Endpoint, ans answer, exhausted bool, now time.Time) bool {
	switch {
	case ans.ok():
		return ep.FailingSince != nil || ep.LastSuccessAt == nil || now.Sub(*ep.LastSuccessAt) >= successEvery
	case ans.status == http.StatusGone:
		return ep.Enabled
	default:
		return ep.FailingSince == nil || (exhausted && ep.Enabled)
	}
}

// disable turns an endpoint off for a reason; the change is the endpoint's (its version moves on).
func disable(q *bun.UpdateQuery, reason string, now time.Time) *bun.UpdateQuery {
	return q.Set("enabled = ?", false).Set("disabled_reason = ?", reason).Set("disabled_at = ?", now).
		Set("version = version + 1").Set("updated_at = ?", now).Where("enabled")
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
