package dialer

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/outbound"
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

// inTx runs fn in a transaction with a batch for its bulk writes, which are flushed just before the commit;
// once it has committed, it wakes the screens, counts the outcomes and places the calls fn asked for.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx, a *after) error) error {
	var a *after
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		a = newAfter()
		if err := fn(ctx, tx, a); err != nil {
			return err
		}
		if err := a.flush(ctx, tx, s.db.Kind); err != nil {
			return err
		}
		return outbound.Emit(ctx, s.outbox, tx, a.hooks...)
	})
	if err != nil {
		return err
	}
	s.committed(ctx, a)
	return nil
}

// committed does what a batch asked for once its transaction is in: screens woken, outcomes counted, calls
// handed to telephony.
func (s *Service) committed(ctx context.Context, a *after) {
	for _, p := range a.pokes {
		s.hub.Poke(p[0], p[1])
	}
	for _, k := range a.outcomes {
		s.metrics.outcome(k)
	}
	s.placeAll(context.WithoutCancel(ctx), a.place)
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

// place hands a committed call to telephony and reports whether it went out. A call telephony refuses
// ends as failed; one it could not be reached for stays created and is handed over again by a worker.
func (s *Service) place(ctx context.Context, c telephony.Call) bool {
	err := s.telephony.Place(ctx, c)
	if err == nil {
		return true
	}
	s.logger.Warn("telephony did not take the call", "tenant_id", c.TenantID.String(), "call_id", c.ID.String(), "error", err)
	if errors.Is(err, telephony.ErrRejected) || errors.Is(err, telephony.ErrNotConfigured) ||
		errors.Is(err, telephony.ErrInvalidCall) || errors.Is(err, telephony.ErrUnknownAdapter) {
		ev := telephony.Event{TenantID: c.TenantID, CallID: c.ID, Kind: telephony.Failed, At: s.clock.Now()}
		if err := s.CallEvent(ctx, ev); err != nil {
			s.logger.Error("fail rejected call", "call_id", c.ID.String(), "error", err)
		}
	}
	return false
}
