package ticket

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/time/rate"

	"github.com/atende/atende/internal/loop"
	"github.com/atende/atende/internal/plinx"
	"github.com/atende/atende/internal/store"
)

// PlinxResolver calls the Plinx of a tenant.
type PlinxResolver interface {
	WhatsAppNumber(ctx context.Context, tenantID uuid.UUID, e164 string) (plinx.Number, error)
	SendTemplate(ctx context.Context, tenantID uuid.UUID, m plinx.TemplateMessage) (plinx.Sent, error)
}

// SenderOptions tune a sender.
type SenderOptions struct {
	// ID names the sender in leases; default host:pid:random.
	ID string
	// Batch is how many messages one claim takes (default 50).
	Batch int
	// Sends is how many messages are in flight at once (default 16).
	Sends int
	// Lease is how long a claim holds before another sender may rescue it (default 60 s); it must exceed
	// the longest a WhatsApp check and a send can take together.
	Lease time.Duration
	// Tick is the pause between passes when nothing is due (default 250 ms).
	Tick time.Duration
	// Rate caps sends per second per tenant in this process (default 80, WhatsApp's pace per number).
	Rate float64
	// MaxAge gives up on a message still failing this long after it was queued (default 24 h).
	MaxAge time.Duration
	// BaseBackoff and MaxBackoff bound the wait between attempts: doubling from the base, capped, with
	// jitter (defaults 2 s and 5 min).
	BaseBackoff, MaxBackoff time.Duration
}

// Sender sends the outbox's template messages through Plinx. Many senders, in many processes, share one
// PostgreSQL: each claims due messages under a lease, so a message is sent again only when its sender
// died with the send in flight.
type Sender struct {
	s    *Service
	opts SenderOptions

	limMu    sync.Mutex
	limiters map[uuid.UUID]*rate.Limiter

	loop loop.Loop
}

// NewSender returns a sender of s.
func (s *Service) NewSender(opts SenderOptions) *Sender {
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
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Tick <= 0 {
		opts.Tick = 250 * time.Millisecond
	}
	if opts.Rate <= 0 {
		opts.Rate = 80
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	w := &Sender{s: s, opts: opts, limiters: map[uuid.UUID]*rate.Limiter{}}
	w.loop = loop.Loop{Tick: opts.Tick,
		Failed:  func(err error) { s.logger.Error("message sender pass", "error", err) },
		Stopped: func() { s.logger.Info("message sender stopped", "sender", opts.ID) }}
	return w
}

// Start runs the sender until Stop or ctx ends.
func (w *Sender) Start(ctx context.Context) { w.loop.Start(ctx, w.RunOnce) }

// Stop stops claiming and waits, until ctx ends, for the messages in flight to be sent and recorded.
func (w *Sender) Stop(ctx context.Context) { w.loop.Stop(ctx) }

// RunOnce claims one batch of due messages and sends them; it returns how many it claimed. Once claimed,
// a message is sent and recorded even if ctx ends meanwhile (a graceful stop finishes what it holds).
func (w *Sender) RunOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	// A claim that started completes and is worked off: cancelled halfway, its rows could be leased in the
	// database with nobody sending them until the lease expires.
	work := context.WithoutCancel(ctx)
	msgs, err := w.claim(work)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, w.opts.Sends)
	var wg sync.WaitGroup
	for i := range msgs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := w.send(work, &msgs[i]); err != nil {
				w.s.logger.Error("send message", "message_id", msgs[i].ID.String(), "tenant_id", msgs[i].TenantID.String(), "error", err)
			}
		})
	}
	wg.Wait()
	return len(msgs), nil
}

// claim leases due messages to this sender. PostgreSQL skips the rows other senders are claiming; SQLite's
// single writer excludes every other.
func (w *Sender) claim(ctx context.Context) ([]Message, error) {
	now := w.s.clock.Now()
	var out []Message
	err := w.s.db.NewRaw(`UPDATE outbound_messages SET lease_until = ?, leased_by = ?
		WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM outbound_messages
			WHERE status = 'queued' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
			ORDER BY next_attempt_at LIMIT ?`+w.s.skipLocked()+`)
		RETURNING *`, now.Add(w.opts.Lease), w.opts.ID, now, now, w.opts.Batch).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	return out, nil
}

func (w *Sender) limiter(tenantID uuid.UUID) *rate.Limiter {
	w.limMu.Lock()
	defer w.limMu.Unlock()
	l, ok := w.limiters[tenantID]
	if !ok {
		l = rate.NewLimiter(rate.Limit(w.opts.Rate), max(1, int(w.opts.Rate)))
		w.limiters[tenantID] = l
	}
	return l
}

// send checks the number's WhatsApp, sends the template and records what happened.
func (w *Sender) send(ctx context.Context, m *Message) error {
	if m.To == nil {
		return w.fail(ctx, m, "no_phone", NoPhoneText, true)
	}
	if m.WaID == nil {
		n, err := w.s.plinx.WhatsAppNumber(ctx, m.TenantID, *m.To)
		if err != nil {
			return w.failed(ctx, m, err)
		}
		if !n.IsWhatsApp {
			return w.fail(ctx, m, "not_whatsapp", NoPhoneText, true)
		}
		waID := n.WaID
		m.WaID = &waID
	}
	if err := w.limiter(m.TenantID).Wait(ctx); err != nil {
		return err
	}
	sent, err := w.s.plinx.SendTemplate(ctx, m.TenantID, plinx.TemplateMessage{To: *m.To, Template: m.Template,
		Language: m.Language, Variables: m.Variables, Reference: m.ID.String()})
	if err != nil {
		return w.failed(ctx, m, err)
	}
	// Plinx took the message: recording that must not fail lightly, or the lease's expiry sends it again.
	var err2 error
	before := *m
	for attempt := range 3 {
		if attempt > 0 {
			*m = before
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err2 = w.recordAccepted(ctx, m, sent); err2 == nil {
			return nil
		}
	}
	return err2
}

// recordAccepted records that Plinx accepted a message.
func (w *Sender) recordAccepted(ctx context.Context, m *Message, sent plinx.Sent) error {
	return w.record(ctx, m, sent.MessageID, func(ctx context.Context, tx bun.Tx, w2 *timeline, now time.Time) error {
		id := sent.MessageID
		m.Status, m.PlinxMessageID, m.AcceptedAt = MessageAccepted, &id, &now
		m.NextAttemptAt, m.LeaseUntil, m.LeasedBy, m.Attempts = nil, nil, nil, m.Attempts+1
		w.s.metrics.outcome(MessageAccepted)
		w2.add(KindMessageAccepted, fmt.Sprintf("Mensagem WhatsApp %q aceita pelo Plinx para %s.", m.Template, *m.To),
			&m.ID, &m.TaskID, map[string]any{"plinx_message_id": id, "wa_id": deref(m.WaID)})
		return w.s.emitMessage(ctx, tx, m, MessageAccepted, now)
	})
}

// failed records a Plinx error: permanent ones end the message, others schedule a retry.
func (w *Sender) failed(ctx context.Context, m *Message, err error) error {
	var apiErr *plinx.APIError
	if errors.As(err, &apiErr) && apiErr.Permanent() {
		if apiErr.Code == "not_whatsapp" {
			return w.fail(ctx, m, "not_whatsapp", NoPhoneText, true)
		}
		code := apiErr.Code
		if code == "" {
			code = fmt.Sprintf("http_%d", apiErr.Status)
		}
		return w.fail(ctx, m, code, cut(apiErr.Message, 500), false)
	}
	now := w.s.clock.Now()
	if now.Sub(m.CreatedAt) >= w.opts.MaxAge {
		return w.fail(ctx, m, "expired", "Plinx não aceitou a mensagem em "+w.opts.MaxAge.String()+": "+cut(err.Error(), 300), false)
	}
	wait := w.backoff(m.Attempts + 1)
	if apiErr != nil && apiErr.RetryAfter > wait {
		wait = apiErr.RetryAfter
	}
	return w.record(ctx, m, "", func(ctx context.Context, tx bun.Tx, tl *timeline, now time.Time) error {
		next := now.Add(wait)
		m.Attempts++
		m.NextAttemptAt, m.LeaseUntil, m.LeasedBy = &next, nil, nil
		reason := cut(err.Error(), 300)
		m.ErrorMessage = &reason
		w.s.metrics.outcome("retried")
		if m.Attempts&(m.Attempts-1) == 0 { // attempts 1, 2, 4, 8...: the timeline tells, without flooding
			tl.add(KindMessageRetry, fmt.Sprintf("Falha temporária ao enviar a mensagem WhatsApp %q (tentativa %d); nova tentativa em %s.",
				m.Template, m.Attempts, wait.Round(time.Second)), &m.ID, &m.TaskID, map[string]any{"attempts": m.Attempts, "error": reason})
		}
		return nil
	})
}

// backoff is the wait before attempt n+1: doubling from the base, capped, jittered down to half.
func (w *Sender) backoff(n int) time.Duration {
	d := w.opts.BaseBackoff
	for i := 1; i < n && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// fail ends a message as failed; noPhone writes the seed's "Não possui telefone para envio de mensagem".
func (w *Sender) fail(ctx context.Context, m *Message, code, reason string, noPhone bool) error {
	return w.record(ctx, m, "", func(ctx context.Context, tx bun.Tx, tl *timeline, now time.Time) error {
		m.Status, m.FailedAt, m.ErrorCode, m.ErrorMessage = MessageFailed, &now, &code, &reason
		m.NextAttemptAt, m.LeaseUntil, m.LeasedBy, m.Attempts = nil, nil, nil, m.Attempts+1
		w.s.metrics.outcome(MessageFailed)
		if err := w.s.emitMessage(ctx, tx, m, MessageFailed, now); err != nil {
			return err
		}
		if noPhone {
			tl.add(KindNoPhone, NoPhoneText, &m.ID, &m.TaskID, map[string]any{"error_code": code, "template": m.Template})
			return nil
		}
		tl.add(KindMessageFailed, fmt.Sprintf("Mensagem WhatsApp %q não enviada: %s.", m.Template, reason), &m.ID, &m.TaskID,
			map[string]any{"error_code": code})
		return nil
	})
}

// record writes a message's new state with its timeline entries, if this sender still holds its lease.
// plinxID, when the send was accepted, is taken first so that its early statuses are applied, not missed.
func (w *Sender) record(ctx context.Context, m *Message, plinxID string, change func(ctx context.Context, tx bun.Tx, tl *timeline, now time.Time) error) error {
	return store.RunInTx(ctx, w.s.db, func(ctx context.Context, tx bun.Tx) error {
		if plinxID != "" {
			if err := w.s.lockPlinxMessage(ctx, tx, m.TenantID, plinxID); err != nil {
				return err
			}
		}
		var held Message
		q := w.s.forUpdate(tx.NewSelect().Model(&held).Where("om.tenant_id = ? AND om.id = ?", m.TenantID, m.ID), "")
		if err := q.Scan(ctx); err != nil {
			return fmt.Errorf("find message: %w", err)
		}
		if held.Status != MessageQueued || held.LeasedBy == nil || *held.LeasedBy != w.opts.ID {
			w.s.logger.Warn("message lease lost before its outcome was recorded", "message_id", m.ID.String())
			return nil
		}
		now := w.s.clock.Now()
		tl := &timeline{tk: &Ticket{TenantID: m.TenantID, ID: m.TicketID}, now: now}
		if err := change(ctx, tx, tl, now); err != nil {
			return err
		}
		m.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(m).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("record message: %w", err)
		}
		if m.WaID != nil && m.To != nil {
			_, err := tx.NewUpdate().Table("phones").Set("whatsapp_id = ?", *m.WaID).Set("whatsapp_confirmed_at = ?", now).
				Where("tenant_id = ? AND e164 = ? AND (whatsapp_id IS NULL OR whatsapp_id <> ?)", m.TenantID, *m.To, *m.WaID).Exec(ctx)
			if err != nil {
				return fmt.Errorf("keep wa_id: %w", err)
			}
		}
		if err := tl.flush(ctx, tx); err != nil {
			return err
		}
		return w.s.applyPending(ctx, tx, m)
	})
}
