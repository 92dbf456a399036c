package dialer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/telephony"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// CallEvent applies what telephony reports about a call: answered; or no answer, busy or failed, which
// frees the agent and reschedules the entry by the campaign's retry rules (or closes it when its attempts
// are used up); or ended after an answer, which leaves the agent in wrap-up until the call is qualified.
// Repeated or late events change nothing.
func (s *Service) CallEvent(ctx context.Context, ev telephony.Event) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		return s.callEvent(ctx, tx, a, ev)
	})
}

// CallEvents applies many telephony events in one transaction, as CallEvent applies one; no two of them may
// be about the same call. Should one fail, each is applied on its own; the errors come back by position.
func (s *Service) CallEvents(ctx context.Context, evs []telephony.Event) []error {
	errs := make([]error, len(evs))
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		if err := a.prefetch(ctx, tx, s.db.Kind, evs); err != nil {
			return err
		}
		for _, ev := range evs {
			if err := s.callEvent(ctx, tx, a, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return errs
	}
	for i, ev := range evs {
		errs[i] = s.CallEvent(ctx, ev)
	}
	return errs
}

func (s *Service) callEvent(ctx context.Context, tx bun.Tx, a *after, ev telephony.Event) error {
	now := s.clock.Now()
	at := ev.At
	if at.IsZero() {
		at = now
	}
	c, ok := a.cachedCall(ev.TenantID, ev.CallID)
	if !ok {
		q := tx.NewSelect().Model(&c).Where("cl.tenant_id = ? AND cl.id = ?", ev.TenantID, ev.CallID)
		if s.db.Kind == store.Postgres {
			q = q.For("UPDATE") // placing calls skips locked ones rather than overwrite this event's change
		}
		if err := q.Scan(ctx); err != nil {
			return notFound(err)
		}
	}
	switch ev.Kind {
	case telephony.Answered:
		if c.Status != CallCreated && c.Status != CallPlaced {
			return nil
		}
		c.Status, c.AnsweredAt = CallAnswered, &at
		outcome := OutcomeAnswered
		c.Outcome = &outcome
		return s.saveCall(ctx, tx, a, &c, nil, now)
	case telephony.Ended:
		if c.Status == CallEnded {
			return nil
		}
		if c.Status != CallAnswered {
			// Ended without an answer: telephony reports it as no answer.
			return s.unanswered(ctx, tx, a, &c, OutcomeNoAnswer, at, now)
		}
		c.Status, c.EndedAt = CallEnded, &at
		e, err := a.entryOf(ctx, tx, c.TenantID, c.EntryID)
		if err != nil {
			return err
		}
		if err := s.saveCall(ctx, tx, a, &c, e, now); err != nil {
			return err
		}
		a.hook(c.TenantID, outbound.CallEnded, callData(&c, e), now)
		sess, err := sessionOf(ctx, tx, c.TenantID, c.SessionID)
		if err != nil {
			return err
		}
		if sess.Status == SessionOnCall && sess.CallID != nil && *sess.CallID == c.ID {
			sess.Status = SessionWrapUp
			if err := saveSession(ctx, tx, &sess, now); err != nil {
				return err
			}
			return a.publishState(&sess, now)
		}
		return nil
	case telephony.NoAnswer, telephony.Busy, telephony.Failed:
		if c.Status == CallEnded || c.Status == CallAnswered {
			return nil
		}
		return s.unanswered(ctx, tx, a, &c, ev.Kind, at, now)
	}
	return validate.Field("event", "unknown call event")
}

// saveCall writes a call and tells its agent's screen; e is the call's entry, read here when nil.
func (s *Service) saveCall(ctx context.Context, tx bun.Tx, a *after, c *Call, e *Entry, now time.Time) error {
	a.saveCallRow(c, now)
	if e == nil {
		var err error
		if e, err = a.entryOf(ctx, tx, c.TenantID, c.EntryID); err != nil {
			return err
		}
	}
	return a.publish(c.TenantID, c.SessionID, "call", callPayload(*c, e), now)
}

// unanswered ends a call that did not reach the customer: the outcome is recorded on the records, the agent
// is ready again and the entry retries or closes.
func (s *Service) unanswered(ctx context.Context, tx bun.Tx, a *after, c *Call, outcome string, at, now time.Time) error {
	ep, err := a.entryOf(ctx, tx, c.TenantID, c.EntryID)
	if err != nil {
		return err
	}
	e := *ep
	camp, err := a.campaign(ctx, tx, c.TenantID, c.CampaignID)
	if err != nil {
		return err
	}
	c.Status, c.EndedAt, c.Outcome = CallEnded, &at, &outcome
	if e.CompanyID != nil || e.ContactID != nil || e.LeadID != nil {
		result := map[string]string{OutcomeNoAnswer: crm.ResultNoAnswer, OutcomeBusy: crm.ResultBusy, OutcomeFailed: crm.ResultCallFailed}[outcome]
		agent, callID := c.AgentID, c.ID
		it, err := crm.RecordInteraction(ctx, tx, tenant.Actor{TenantID: c.TenantID, UserID: agent, Role: tenant.RoleAgent},
			crm.NewInteraction{Channel: "phone", Origin: crm.OriginDialer, Result: result, AgentID: &agent, Records: e.records(), CallID: &callID}, now)
		if err != nil {
			return err
		}
		c.InteractionID = &it.ID
	}
	if err := s.saveCall(ctx, tx, a, c, &e, now); err != nil {
		return err
	}
	a.hook(c.TenantID, outbound.CallEnded, callData(c, &e), now)
	a.log(&e, EventCallOutcome, outcome, now)
	if err := a.afterOutcome(ctx, tx, &e, camp, outcome, now); err != nil {
		return err
	}
	a.outcome("call_" + outcome)
	a.freeAgent(c.TenantID, c.SessionID, c.ID, now)
	return nil
}

// isNoRecords reports an entry queued for a bare phone: there is no record to write the interaction on.
func isNoRecords(err error) bool {
	errs, ok := validate.As(err)
	return ok && len(errs) == 1 && errs[0].Field == "company_id"
}

// CallQualification is the result an agent gives a call.
type CallQualification struct {
	ResultID   uuid.UUID
	Notes      *string
	FollowUpAt *time.Time
}

// Call returns one call; agents see their own only.
func (s *Service) Call(ctx context.Context, actor tenant.Actor, id uuid.UUID) (Call, error) {
	var c Call
	if err := s.db.NewSelect().Model(&c).Where("cl.tenant_id = ? AND cl.id = ?", actor.TenantID, id).Scan(ctx); err != nil {
		return Call{}, notFound(err)
	}
	if actor.Role == tenant.RoleAgent && c.AgentID != actor.UserID {
		return Call{}, ErrNotFound
	}
	return c, nil
}

// QualifyCall records the interaction of an answered call (origin dialer), closes the entry with the
// result — or, with a follow-up, schedules it in the campaign — and frees the agent.
func (s *Service) QualifyCall(ctx context.Context, actor tenant.Actor, id uuid.UUID, q CallQualification) (Call, crm.Interaction, error) {
	var (
		c  Call
		it crm.Interaction
	)
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		now := s.clock.Now()
		if err := tx.NewSelect().Model(&c).Where("cl.tenant_id = ? AND cl.id = ?", actor.TenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		if actor.Role == tenant.RoleAgent && c.AgentID != actor.UserID {
			return ErrNotFound
		}
		if c.QualifiedAt != nil || c.Outcome == nil || *c.Outcome != OutcomeAnswered {
			return ErrCallState
		}
		result, err := crm.ResultByID(ctx, tx, actor.TenantID, q.ResultID)
		if errors.Is(err, crm.ErrNotFound) {
			return validate.Field("result_id", "is not a result of the catalog")
		}
		if err != nil {
			return err
		}
		var e Entry
		if err := tx.NewSelect().Model(&e).Where("de.tenant_id = ? AND de.id = ?", c.TenantID, c.EntryID).Scan(ctx); err != nil {
			return err
		}
		agent, callID, phoneID, campaignID := c.AgentID, c.ID, e.PhoneID, e.CampaignID
		in := crm.NewInteraction{Channel: "phone", Origin: crm.OriginDialer, Result: result.Code, Notes: q.Notes,
			AgentID: &agent, Records: e.records(), CallID: &callID}
		if q.FollowUpAt != nil {
			in.FollowUp = &crm.FollowUpSpec{DueAt: *q.FollowUpAt, AgentID: &agent, CampaignID: &campaignID, PhoneID: &phoneID}
		}
		if it, err = crm.RecordInteraction(ctx, tx, actor, in, now); err != nil {
			return err
		}
		c.QualifiedAt, c.InteractionID = &now, &it.ID
		ended := c.Status != CallEnded
		if ended {
			c.Status, c.EndedAt = CallEnded, &now
		}
		if err := s.saveCall(ctx, tx, a, &c, &e, now); err != nil {
			return err
		}
		if ended { // qualified before telephony reported the end: the qualification ends it
			a.hook(c.TenantID, outbound.CallEnded, callData(&c, &e), now)
		}
		a.log(&e, EventQualified, result.Code, now)
		if err := a.close(ctx, tx, &e, "result:"+result.Code, now); err != nil {
			return err
		}
		a.freeAgent(c.TenantID, c.SessionID, c.ID, now)
		return nil
	})
	return c, it, err
}

// AnswerPrompt settles a prompt: pausing the dialer records a "Contato via WhatsApp" interaction (origin
// dialer) and schedules the customer for the next business day at the campaign's window start, with no call;
// going on places the call as usual. A prompt already expired answers ErrPromptExpired.
func (s *Service) AnswerPrompt(ctx context.Context, actor tenant.Actor, id uuid.UUID, pauseDialer bool) (Prompt, error) {
	var p Prompt
	expiredNow := false
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		now := s.clock.Now()
		if err := tx.NewSelect().Model(&p).Where("dp.tenant_id = ? AND dp.id = ?", actor.TenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		sess, err := sessionOf(ctx, tx, actor.TenantID, p.SessionID)
		if err != nil {
			return err
		}
		if actor.Role == tenant.RoleAgent && sess.UserID != actor.UserID {
			return ErrNotFound
		}
		switch {
		case p.Status == PromptExpired:
			return ErrPromptExpired
		case p.Status != PromptPending:
			return ErrPromptAnswered
		case !now.Before(p.ExpiresAt):
			// Past its time but not yet swept: it expires now, as the worker would have.
			expiredNow = true
			return s.expirePrompt(ctx, tx, a, p, now)
		}
		var e Entry
		if err := tx.NewSelect().Model(&e).Where("de.tenant_id = ? AND de.id = ?", p.TenantID, p.EntryID).Scan(ctx); err != nil {
			return err
		}
		camp, err := campaignOf(ctx, tx, e.TenantID, e.CampaignID)
		if err != nil {
			return err
		}
		p.AnsweredAt = &now
		if !pauseDialer {
			p.Status = PromptContinued
			if _, err := tx.NewUpdate().Model(&p).Column("status", "answered_at").WherePK().Exec(ctx); err != nil {
				return err
			}
			a.log(&e, EventPromptDial, "the agent chose to call", now)
			return s.call(ctx, tx, a, &e, &sess, false, "", now)
		}
		p.Status = PromptPaused
		if _, err := tx.NewUpdate().Model(&p).Column("status", "answered_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		a.outcome(EventPromptPaused)
		win, err := window(ctx, tx, camp)
		if err != nil {
			return err
		}
		opens, _ := parseTime(camp.WindowStart)
		next, ok := win.NextBusinessDayAt(now, opens)
		if !ok {
			return errors.New("the campaign's window has no business day ahead")
		}
		agent, phoneID, campaignID := sess.UserID, e.PhoneID, e.CampaignID
		it, err := crm.RecordInteraction(ctx, tx, actor, crm.NewInteraction{
			Channel: "whatsapp", Origin: crm.OriginDialer, Result: crm.ResultContactViaWhatsApp, AgentID: &agent,
			Records:  e.records(),
			FollowUp: &crm.FollowUpSpec{DueAt: next, AgentID: &agent, CampaignID: &campaignID, PhoneID: &phoneID},
		}, now)
		if err != nil && !isNoRecords(err) {
			return err
		}
		// The follow-up becomes the entry's next turn: a new entry, due then.
		next2 := Entry{TenantID: e.TenantID, ID: newID(), CampaignID: e.CampaignID, CompanyID: e.CompanyID, ContactID: e.ContactID,
			LeadID: e.LeadID, PhoneID: e.PhoneID, E164: e.E164, Status: EntryQueued, DueAt: next, Priority: e.Priority,
			Version: 1, CreatedAt: now, UpdatedAt: now}
		if err == nil {
			next2.FollowUpID = it.FollowUpID
		}
		if _, err := tx.NewInsert().Model(&next2).Exec(ctx); err != nil {
			return fmt.Errorf("schedule the next contact: %w", err)
		}
		e.Attempts = p.Attempt
		outcome := OutcomeWhatsAppContact
		e.LastOutcome = &outcome
		a.log(&e, EventPromptPaused, "the agent paused the dialer: contact via WhatsApp", now)
		if err := a.close(ctx, tx, &e, OutcomeWhatsAppContact, now); err != nil {
			return err
		}
		sess.Status, sess.PromptID = SessionReady, nil
		if err := saveSession(ctx, tx, &sess, now); err != nil {
			return err
		}
		return a.publishState(&sess, now)
	})
	if err == nil && expiredNow {
		return p, ErrPromptExpired
	}
	return p, err
}
