package conversation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/inbox"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/phone"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

// Event types Plinx sends.
const (
	EventConversationStarted = "conversation.started"
	EventConversationClosed  = "conversation.closed"
	EventMessageCreated      = "message.created"
	EventMessageStatus       = "message.status"
)

// Event is a webhook event from Plinx.
type Event struct {
	Type         string
	OccurredAt   time.Time
	Conversation *EventConversation
	Message      *EventMessage
}

// EventConversation is the conversation an event is about.
type EventConversation struct {
	ID        string
	Phone     string
	StartedAt *time.Time
	ClosedAt  *time.Time
	Agent     *string
	// Team names the team the Plinx flow directed the conversation to.
	Team *string
}

// EventMessage is the message an event is about.
type EventMessage struct {
	ID           string
	Direction    string
	Text         *string
	SentAt       *time.Time
	Status       string
	ErrorCode    *string
	ErrorMessage *string
}

// InboxSource names Plinx in the webhook inbox.
const InboxSource = "plinx"

// StatusHandler applies a message status that is not about a conversation message (for instance a
// template message atende sent); it reports whether it knew the message.
type StatusHandler func(ctx context.Context, tx bun.Tx, tenantID uuid.UUID, ev Event) (bool, error)

// Apply applies one Plinx webhook delivery for a tenant, exactly once per webhookID. It reports whether the
// delivery was a duplicate. Events arriving out of order never move a conversation or a message backwards.
func (s *Service) Apply(ctx context.Context, tenantID uuid.UUID, countryCode, webhookID string, ev Event) (bool, error) {
	duplicate, err := s.apply(ctx, tenantID, countryCode, webhookID, ev)
	if store.IsUniqueViolation(err) {
		// Two first events of one conversation raced to create it; the retry finds it.
		duplicate, err = s.apply(ctx, tenantID, countryCode, webhookID, ev)
	}
	return duplicate, err
}

func (s *Service) apply(ctx context.Context, tenantID uuid.UUID, countryCode, webhookID string, ev Event) (bool, error) {
	duplicate := false
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		now := s.clock.Now()
		fresh, err := inbox.Accept(ctx, tx, tenantID, InboxSource, webhookID, now)
		if err != nil || !fresh {
			duplicate = !fresh
			return err
		}
		switch ev.Type {
		case EventConversationStarted, EventConversationClosed, EventMessageCreated:
			if ev.Conversation == nil {
				return validate.Field("conversation", "is required for %s events", ev.Type)
			}
			c, err := s.upsert(ctx, tx, tenantID, countryCode, ev, now)
			if err != nil {
				return err
			}
			if ev.Type == EventMessageCreated {
				return s.addMessage(ctx, tx, c, ev, now)
			}
			return nil
		case EventMessageStatus:
			if ev.Message == nil || ev.Message.Status == "" {
				return validate.Field("message.status", "is required for message.status events")
			}
			known, err := applyStatus(ctx, tx, tenantID, ev)
			if err != nil || known {
				return err
			}
			for _, h := range s.statusHandlers {
				if known, err := h(ctx, tx, tenantID, ev); err != nil || known {
					return err
				}
			}
			return nil
		}
		return validate.Field("type", "unknown event type")
	})
	return duplicate, err
}

// upsert finds the conversation an event is about, creating it (linked to the records that share its phone)
// the first time any event mentions it, and moves its state forward — never back.
func (s *Service) upsert(ctx context.Context, tx bun.Tx, tenantID uuid.UUID, countryCode string, ev Event, now time.Time) (*Conversation, error) {
	ec := ev.Conversation
	var c Conversation
	// Routing and assignment change the row too: lock it, and write back only what is current.
	err := store.Lock(s.db.Kind, tx.NewSelect().Model(&c).Where("cv.tenant_id = ? AND cv.plinx_id = ?", tenantID, ec.ID), "UPDATE").Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if c, err = s.create(ctx, tx, tenantID, countryCode, ev, now); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("find conversation: %w", err)
	}
	changed := false
	started := ev.OccurredAt
	if ec.StartedAt != nil {
		started = *ec.StartedAt
	}
	if ev.Type == EventConversationStarted && (c.StartedAt == nil || started.Before(*c.StartedAt)) {
		c.StartedAt, changed = &started, true
	}
	if ec.Agent != nil && ev.Type == EventConversationStarted {
		c.PlinxAgent, changed = ec.Agent, true
	}
	if ev.Type == EventConversationClosed {
		closed := ev.OccurredAt
		if ec.ClosedAt != nil {
			closed = *ec.ClosedAt
		}
		if c.ClosedAt == nil || closed.After(*c.ClosedAt) {
			if c.Waiting() {
				abandoned := RoutingAbandoned
				c.Routing, c.OverflowAt = &abandoned, nil
			}
			c.Status, c.ClosedAt, changed = StatusClosed, &closed, true
		}
	}
	if changed {
		c.Version++
		c.UpdatedAt = now
		_, err := tx.NewUpdate().Model(&c).Column("status", "started_at", "closed_at", "plinx_agent", "routing", "overflow_at", "version", "updated_at").
			Where("cv.tenant_id = ? AND cv.id = ?", tenantID, c.ID).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("update conversation: %w", err)
		}
	}
	return &c, nil
}

// create stores a new conversation on its phone (created when the tenant does not have it yet) and links
// it to the records the phone belongs to: each kind only when exactly one record of it shares the phone.
func (s *Service) create(ctx context.Context, tx bun.Tx, tenantID uuid.UUID, countryCode string, ev Event, now time.Time) (Conversation, error) {
	ec := ev.Conversation
	n, err := phone.Normalize(ec.Phone, countryCode)
	if err != nil {
		return Conversation{}, validate.Field("conversation.phone", "is not a valid phone number")
	}
	p, err := crm.EnsurePhone(ctx, tx, tenantID, n, now)
	if err != nil {
		return Conversation{}, err
	}
	records, err := crm.PhoneRecords(ctx, tx, tenantID, p.ID)
	if err != nil {
		return Conversation{}, err
	}
	c := Conversation{TenantID: tenantID, ID: newID(), PlinxID: ec.ID, PhoneID: p.ID, Status: StatusOpen, Version: 1,
		CreatedAt: now, UpdatedAt: now}
	c.CompanyID = only(records, crm.RecordCompany)
	c.ContactID = only(records, crm.RecordContact)
	c.LeadID = only(records, crm.RecordLead)
	if ev.Type == EventConversationClosed {
		c.Status = StatusClosed
	}
	if _, err := tx.NewInsert().Model(&c).Exec(ctx); err != nil {
		return Conversation{}, fmt.Errorf("insert conversation: %w", err)
	}
	change := LinkChange{TenantID: tenantID, ID: newID(), ConversationID: c.ID, Reason: ReasonAutomatic, CreatedAt: now}
	change.setTo(c.link())
	if _, err := tx.NewInsert().Model(&change).Exec(ctx); err != nil {
		return Conversation{}, fmt.Errorf("record link: %w", err)
	}
	if c.Status == StatusOpen {
		for _, h := range s.created {
			if err := h(ctx, tx, &c, Arrival{Records: records, Team: ec.Team}); err != nil {
				return Conversation{}, err
			}
		}
	}
	if err := s.emit(ctx, tx, outbound.ConversationCreated, &c, p.E164, now, nil); err != nil {
		return Conversation{}, err
	}
	return c, nil
}

// only returns the id of the single record of a type, or nil when there are none or several.
func only(records []crm.RecordRef, rt crm.RecordType) *uuid.UUID {
	var found *uuid.UUID
	for _, r := range records {
		if r.Type != rt {
			continue
		}
		if found != nil {
			return nil
		}
		id := r.ID
		found = &id
	}
	return found
}

func (s *Service) addMessage(ctx context.Context, tx bun.Tx, c *Conversation, ev Event, now time.Time) error {
	em := ev.Message
	if em == nil || em.ID == "" {
		return validate.Field("message", "is required for message.created events")
	}
	sent := ev.OccurredAt
	if em.SentAt != nil {
		sent = *em.SentAt
	}
	direction := em.Direction
	if direction == "" {
		direction = "inbound"
	}
	m := Message{TenantID: c.TenantID, ID: newID(), ConversationID: c.ID, PlinxID: em.ID, Direction: direction,
		Text: em.Text, SentAt: &sent, CreatedAt: now}
	res, err := tx.NewInsert().Model(&m).On("CONFLICT (tenant_id, plinx_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = tx.NewUpdate().Model((*Conversation)(nil)).
		Set("last_message_at = ?", sent).
		Where("tenant_id = ? AND id = ? AND (last_message_at IS NULL OR last_message_at < ?)", c.TenantID, c.ID, sent).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("touch conversation: %w", err)
	}
	return nil
}

// statusRank orders message statuses; a status only replaces a lower one. A failure only replaces "sent" or
// nothing: a message already delivered or read did not fail.
var statusRank = map[string]int{"sent": 1, "delivered": 2, "read": 3}

// StatusAdvances reports whether status next may replace current (nil: none yet).
func StatusAdvances(current *string, next string) bool {
	if current == nil {
		return true
	}
	if next == "failed" {
		return *current == "sent"
	}
	return statusRank[next] > statusRank[*current]
}

func applyStatus(ctx context.Context, tx bun.Tx, tenantID uuid.UUID, ev Event) (bool, error) {
	var m Message
	err := tx.NewSelect().Model(&m).Where("cm.tenant_id = ? AND cm.plinx_id = ?", tenantID, ev.Message.ID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find message: %w", err)
	}
	if !StatusAdvances(m.Status, ev.Message.Status) {
		return true, nil
	}
	at := ev.OccurredAt
	_, err = tx.NewUpdate().Model((*Message)(nil)).
		Set("status = ?", ev.Message.Status).Set("status_at = ?", at).
		Set("error_code = ?", ev.Message.ErrorCode).Set("error_message = ?", ev.Message.ErrorMessage).
		Where("tenant_id = ? AND id = ?", tenantID, m.ID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("update message status: %w", err)
	}
	return true, nil
}

func (l *LinkChange) setTo(to Link) {
	l.ToCompanyID, l.ToContactID, l.ToLeadID, l.ToPhoneID = to.CompanyID, to.ContactID, to.LeadID, to.PhoneID
}

func (l *LinkChange) setFrom(from Link) {
	l.FromCompanyID, l.FromContactID, l.FromLeadID, l.FromPhoneID = from.CompanyID, from.ContactID, from.LeadID, from.PhoneID
}
