package crm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Interaction is an atendimento: a recorded contact with a result, on a company, contact and/or lead.
type Interaction struct {
	bun.BaseModel `bun:"table:interactions,alias:it"`

	TenantID       uuid.UUID  `bun:"tenant_id,pk"`
	ID             uuid.UUID  `bun:"id,pk"`
	Channel        string     `bun:"channel"`
	Origin         string     `bun:"origin"`
	ResultCode     string     `bun:"result_code"`
	Notes          *string    `bun:"notes"`
	AgentID        *uuid.UUID `bun:"agent_id"`
	CompanyID      *uuid.UUID `bun:"company_id"`
	ContactID      *uuid.UUID `bun:"contact_id"`
	LeadID         *uuid.UUID `bun:"lead_id"`
	ConversationID *uuid.UUID `bun:"conversation_id"`
	CallID         *uuid.UUID `bun:"call_id"`
	FollowUpID     *uuid.UUID `bun:"follow_up_id"`
	OccurredAt     time.Time  `bun:"occurred_at"`
	CreatedAt      time.Time  `bun:"created_at"`
}

// Interaction origins.
const (
	OriginDialer      = "dialer"
	OriginWhatsApp    = "whatsapp"
	OriginManual      = "manual"
	OriginIntegration = "integration"
)

// Records names the company, contact and lead something is recorded against; at least one is set.
type Records struct {
	CompanyID *uuid.UUID
	ContactID *uuid.UUID
	LeadID    *uuid.UUID
}

func (r Records) empty() bool { return r.CompanyID == nil && r.ContactID == nil && r.LeadID == nil }

// check verifies that each record given is a live record of the tenant.
func (r Records) check(ctx context.Context, db bun.IDB, tenantID uuid.UUID) error {
	if r.empty() {
		return validate.Field("company_id", "set at least one of company_id, contact_id and lead_id")
	}
	var errs validate.Errors
	for _, c := range []struct {
		rt    RecordType
		id    *uuid.UUID
		field string
	}{{RecordCompany, r.CompanyID, "company_id"}, {RecordContact, r.ContactID, "contact_id"}, {RecordLead, r.LeadID, "lead_id"}} {
		if c.id == nil {
			continue
		}
		ok, err := recordExists(ctx, db, tenantID, c.rt, *c.id)
		if err != nil {
			return err
		}
		if !ok {
			errs.Add(c.field, "no such %s", c.rt)
		}
	}
	return errs.Err()
}

// NewInteraction describes an interaction to record.
type NewInteraction struct {
	Channel        string
	Origin         string // default: integration for integration users, manual otherwise
	Result         string
	Notes          *string
	AgentID        *uuid.UUID // default: the actor when it is an agent
	Records        Records
	ConversationID *uuid.UUID
	CallID         *uuid.UUID
	OccurredAt     *time.Time
	FollowUp       *FollowUpSpec
}

// FollowUpSpec is the follow-up an interaction schedules.
type FollowUpSpec struct {
	DueAt      time.Time
	AgentID    *uuid.UUID
	CampaignID *uuid.UUID
	PhoneID    *uuid.UUID
	Notes      *string
}

// RecordInteraction stores an interaction, and the follow-up it schedules, in one transaction.
func (s *Service) RecordInteraction(ctx context.Context, actor tenant.Actor, in NewInteraction) (Interaction, error) {
	var out Interaction
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = RecordInteraction(ctx, tx, actor, in, s.clock.Now())
		return err
	})
	return out, err
}

// RecordInteraction stores an interaction inside the caller's transaction, for subjects (the dialer,
// conversations) that record one together with their own change.
func RecordInteraction(ctx context.Context, db bun.IDB, actor tenant.Actor, in NewInteraction, now time.Time) (Interaction, error) {
	if in.Origin == "" {
		in.Origin = OriginManual
		if actor.Role == tenant.RoleIntegration {
			in.Origin = OriginIntegration
		}
	}
	if in.AgentID == nil && actor.Role == tenant.RoleAgent {
		in.AgentID = &actor.UserID
	}
	if err := in.Records.check(ctx, db, actor.TenantID); err != nil {
		return Interaction{}, err
	}
	if err := usableResult(ctx, db, actor.TenantID, strings.TrimSpace(in.Result)); err != nil {
		return Interaction{}, err
	}
	if err := checkAgent(ctx, db, actor.TenantID, in.AgentID, "agent_id"); err != nil {
		return Interaction{}, err
	}
	it := Interaction{
		TenantID: actor.TenantID, ID: newID(), Channel: in.Channel, Origin: in.Origin, ResultCode: strings.TrimSpace(in.Result),
		Notes: trimmed(in.Notes), AgentID: in.AgentID, CompanyID: in.Records.CompanyID, ContactID: in.Records.ContactID,
		LeadID: in.Records.LeadID, ConversationID: in.ConversationID, CallID: in.CallID, OccurredAt: now, CreatedAt: now,
	}
	if in.OccurredAt != nil {
		it.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
	}
	if in.FollowUp != nil {
		f, err := scheduleFollowUp(ctx, db, actor.TenantID, NewFollowUp{
			Records: in.Records, DueAt: in.FollowUp.DueAt, AgentID: in.FollowUp.AgentID, CampaignID: in.FollowUp.CampaignID,
			PhoneID: in.FollowUp.PhoneID, Notes: in.FollowUp.Notes, InteractionID: &it.ID,
		}, now, "follow_up.")
		if err != nil {
			return Interaction{}, err
		}
		it.FollowUpID = &f.ID
	}
	if _, err := db.NewInsert().Model(&it).Exec(ctx); err != nil {
		return Interaction{}, fmt.Errorf("insert interaction: %w", err)
	}
	return it, nil
}

func checkAgent(ctx context.Context, db bun.IDB, tenantID uuid.UUID, id *uuid.UUID, field string) error {
	if id == nil {
		return nil
	}
	ok, err := db.NewSelect().Table("users").Where("tenant_id = ? AND id = ?", tenantID, *id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("check agent: %w", err)
	}
	if !ok {
		return validate.Field(field, "no such user")
	}
	return nil
}

// Interaction returns one interaction.
func (s *Service) Interaction(ctx context.Context, tenantID, id uuid.UUID) (Interaction, error) {
	var it Interaction
	if err := s.db.NewSelect().Model(&it).Where("it.tenant_id = ? AND it.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Interaction{}, notFound(err)
	}
	return it, nil
}

// InteractionFilter narrows an interaction list.
type InteractionFilter struct {
	Records
	AgentID *uuid.UUID
	Origin  *string
	Result  *string
	From    *time.Time
	To      *time.Time
}

// Interactions pages through interactions, newest first.
func (s *Service) Interactions(ctx context.Context, tenantID uuid.UUID, f InteractionFilter, p store.Page) ([]Interaction, string, error) {
	var out []Interaction
	q := s.db.NewSelect().Model(&out).Where("it.tenant_id = ?", tenantID)
	for col, v := range map[string]*uuid.UUID{"company_id": f.CompanyID, "contact_id": f.ContactID, "lead_id": f.LeadID, "agent_id": f.AgentID} {
		if v != nil {
			q = q.Where("it.? = ?", bun.Ident(col), *v)
		}
	}
	if f.Origin != nil {
		q = q.Where("it.origin = ?", *f.Origin)
	}
	if f.Result != nil {
		q = q.Where("it.result_code = ?", *f.Result)
	}
	if f.From != nil {
		q = q.Where("it.occurred_at >= ?", f.From.UTC())
	}
	if f.To != nil {
		q = q.Where("it.occurred_at < ?", f.To.UTC())
	}
	p.Desc = true
	if err := p.Apply(q, "it.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list interactions: %w", err)
	}
	out, next := store.Trim(p, out, func(i Interaction) uuid.UUID { return i.ID })
	return out, next, nil
}

// RecordInteractions pages through the interactions of one record, newest first.
func (s *Service) RecordInteractions(ctx context.Context, tenantID uuid.UUID, rt RecordType, id uuid.UUID, p store.Page) ([]Interaction, string, error) {
	ok, err := recordExists(ctx, s.db, tenantID, rt, id)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", ErrNotFound
	}
	var f InteractionFilter
	switch rt {
	case RecordCompany:
		f.CompanyID = &id
	case RecordContact:
		f.ContactID = &id
	default:
		f.LeadID = &id
	}
	return s.Interactions(ctx, tenantID, f, p)
}
