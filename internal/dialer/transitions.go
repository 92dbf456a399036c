package dialer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/telephony"
)

// Dial event kinds: every transition of an entry is written with one.
const (
	EventClaimed       = "claimed"
	EventOutsideWindow = "outside_window"
	EventDNC           = "dnc"
	EventMaxAttempts   = "max_attempts"
	EventChecked       = "plinx_checked"
	EventDeferred      = "deferred"
	EventSkipped       = "skipped_whatsapp"
	EventPrompted      = "prompted"
	EventPromptPaused  = "prompt_paused"
	EventPromptDial    = "prompt_continued"
	EventPromptExpired = "prompt_expired"
	EventCalled        = "called"
	EventNoAgent       = "no_agent"
	EventCallOutcome   = "call_outcome"
	EventQualified     = "qualified"
	EventRescued       = "lease_rescued"
	EventRemoved       = "removed"
)

// after collects what happens once a transaction commits: screens to wake and calls to hand to telephony.
type after struct {
	pokes [][2]uuid.UUID
	calls []telephony.Call
}

// inTx runs fn in a transaction and, once it commits, wakes the screens and places the calls it asked for.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx, a *after) error) error {
	var a after
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		a = after{}
		return fn(ctx, tx, &a)
	})
	if err != nil {
		return err
	}
	for _, p := range a.pokes {
		s.hub.Poke(p[0], p[1])
	}
	for _, c := range a.calls {
		s.place(context.WithoutCancel(ctx), c)
	}
	return nil
}

// publish stores an event for a session's screen; it reaches the screen when the transaction commits.
func (s *Service) publish(ctx context.Context, tx bun.Tx, a *after, tenantID, sessionID uuid.UUID, kind string, payload any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	ev := events.Event{TenantID: tenantID, SessionID: sessionID, Kind: kind, Payload: body, CreatedAt: now}
	if err := events.Publish(ctx, tx, s.db.Kind, &ev); err != nil {
		return err
	}
	a.pokes = append(a.pokes, [2]uuid.UUID{tenantID, sessionID})
	return nil
}

// publishState tells a session's screen its state.
func (s *Service) publishState(ctx context.Context, tx bun.Tx, a *after, sess *Session, now time.Time) error {
	return s.publish(ctx, tx, a, sess.TenantID, sess.ID, "state", map[string]any{
		"status": sess.Status, "pause_reason": sess.PauseReason, "call_id": sess.CallID, "prompt_id": sess.PromptID,
	}, now)
}

func logDial(ctx context.Context, tx bun.IDB, e *Entry, kind, reason string, now time.Time) error {
	ev := DialEvent{TenantID: e.TenantID, ID: newID(), EntryID: e.ID, Attempt: e.Attempts, Kind: kind, CreatedAt: now}
	if reason != "" {
		ev.Reason = &reason
	}
	if _, err := tx.NewInsert().Model(&ev).Exec(ctx); err != nil {
		return fmt.Errorf("log dial event: %w", err)
	}
	return nil
}

// saveEntry writes an entry's state (status, due time, attempts, lease, outcome).
func saveEntry(ctx context.Context, tx bun.IDB, e *Entry, now time.Time) error {
	e.Version++
	e.UpdatedAt = now
	_, err := tx.NewUpdate().Model(e).
		Column("status", "due_at", "attempts", "lease_owner", "lease_until", "close_reason", "last_outcome", "version", "updated_at").
		WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update entry: %w", err)
	}
	return nil
}

// requeue puts an entry back in the queue, due at due.
func requeue(ctx context.Context, tx bun.IDB, e *Entry, due time.Time, now time.Time) error {
	e.Status, e.DueAt, e.LeaseOwner, e.LeaseUntil = EntryQueued, due, nil, nil
	return saveEntry(ctx, tx, e, now)
}

// closeEntry ends an entry with a reason.
func closeEntry(ctx context.Context, tx bun.IDB, e *Entry, reason string, now time.Time) error {
	e.Status, e.CloseReason, e.LeaseOwner, e.LeaseUntil = EntryClosed, &reason, nil, nil
	if err := saveEntry(ctx, tx, e, now); err != nil {
		return err
	}
	if e.FollowUpID != nil {
		// The follow-up this entry carried out is done.
		_, err := tx.NewUpdate().Model((*crm.FollowUp)(nil)).Set("status = ?", crm.FollowUpDone).Set("updated_at = ?", now).
			Set("version = version + 1").Where("tenant_id = ? AND id = ? AND status = ?", e.TenantID, *e.FollowUpID, crm.FollowUpPending).Exec(ctx)
		if err != nil {
			return fmt.Errorf("complete follow-up: %w", err)
		}
	}
	return logDial(ctx, tx, e, "closed", reason, now)
}

// afterOutcome moves an entry on after an attempt that did not reach the customer: to the queue after the
// campaign's retry interval, or closed when its attempts are used up.
func afterOutcome(ctx context.Context, tx bun.IDB, e *Entry, c Campaign, outcome string, now time.Time) error {
	e.LastOutcome = &outcome
	if e.Attempts >= c.MaxAttempts {
		return closeEntry(ctx, tx, e, CloseMaxAttempts, now)
	}
	return requeue(ctx, tx, e, now.Add(c.retryAfter(outcome)), now)
}

// records names what an entry is recorded against, for interactions and the updates log.
func (e *Entry) records() crm.Records {
	return crm.Records{CompanyID: e.CompanyID, ContactID: e.ContactID, LeadID: e.LeadID}
}

// logUpdate writes a system line on the updates log of each record the entry is about.
func logUpdate(ctx context.Context, tx bun.IDB, e *Entry, message string, now time.Time) error {
	for rt, id := range map[crm.RecordType]*uuid.UUID{crm.RecordCompany: e.CompanyID, crm.RecordContact: e.ContactID, crm.RecordLead: e.LeadID} {
		if id == nil {
			continue
		}
		if err := crm.LogSystemUpdate(ctx, tx, e.TenantID, rt, *id, message, now); err != nil {
			return err
		}
	}
	return nil
}

// place hands a committed call to telephony and records that it went out. A call telephony refuses ends
// as failed; one it could not be reached for stays created and is handed over again by the worker.
func (s *Service) place(ctx context.Context, c telephony.Call) {
	err := s.telephony.Place(ctx, c)
	now := s.clock.Now()
	if err == nil {
		_, err = s.db.NewUpdate().Model((*Call)(nil)).Set("status = ?", CallPlaced).Set("placed_at = ?", now).
			Set("updated_at = ?", now).Where("tenant_id = ? AND id = ? AND status = ?", c.TenantID, c.ID, CallCreated).Exec(ctx)
		if err != nil {
			s.logger.Error("record placed call", "call_id", c.ID.String(), "error", err)
		}
		return
	}
	s.logger.Warn("telephony did not take the call", "tenant_id", c.TenantID.String(), "call_id", c.ID.String(), "error", err)
	if errors.Is(err, telephony.ErrRejected) || errors.Is(err, telephony.ErrNotConfigured) ||
		errors.Is(err, telephony.ErrInvalidCall) || errors.Is(err, telephony.ErrUnknownAdapter) {
		if err := s.CallEvent(ctx, telephony.Event{TenantID: c.TenantID, CallID: c.ID, Kind: telephony.Failed, At: now}); err != nil {
			s.logger.Error("fail rejected call", "call_id", c.ID.String(), "error", err)
		}
	}
}
