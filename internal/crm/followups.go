package crm

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// FollowUp is an agendamento: a next contact scheduled with a record.
type FollowUp struct {
	bun.BaseModel `bun:"table:follow_ups,alias:fu"`

	TenantID      uuid.UUID  `bun:"tenant_id,pk"`
	ID            uuid.UUID  `bun:"id,pk"`
	CompanyID     *uuid.UUID `bun:"company_id"`
	ContactID     *uuid.UUID `bun:"contact_id"`
	LeadID        *uuid.UUID `bun:"lead_id"`
	PhoneID       *uuid.UUID `bun:"phone_id"`
	DueAt         time.Time  `bun:"due_at"`
	AgentID       *uuid.UUID `bun:"agent_id"`
	CampaignID    *uuid.UUID `bun:"campaign_id"`
	Status        string     `bun:"status"`
	Notes         *string    `bun:"notes"`
	InteractionID *uuid.UUID `bun:"interaction_id"`
	Version       int64      `bun:"version"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
}

// Follow-up statuses.
const (
	FollowUpPending  = "pending"
	FollowUpDone     = "done"
	FollowUpCanceled = "canceled"
)

// NewFollowUp describes a follow-up to schedule.
type NewFollowUp struct {
	Records
	PhoneID       *uuid.UUID
	DueAt         time.Time
	AgentID       *uuid.UUID
	CampaignID    *uuid.UUID
	Notes         *string
	InteractionID *uuid.UUID
}

// ScheduleFollowUp stores a pending follow-up.
func (s *Service) ScheduleFollowUp(ctx context.Context, actor tenant.Actor, in NewFollowUp) (FollowUp, error) {
	var f FollowUp
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		f, err = scheduleFollowUp(ctx, tx, actor.TenantID, in, s.clock.Now(), "")
		return err
	})
	return f, err
}

// ScheduleFollowUp stores a pending follow-up inside the caller's transaction.
func ScheduleFollowUp(ctx context.Context, db bun.IDB, tenantID uuid.UUID, in NewFollowUp, now time.Time) (FollowUp, error) {
	return scheduleFollowUp(ctx, db, tenantID, in, now, "")
}

func scheduleFollowUp(ctx context.Context, db bun.IDB, tenantID uuid.UUID, in NewFollowUp, now time.Time, fieldPrefix string) (FollowUp, error) {
	if err := in.Records.check(ctx, db, tenantID); err != nil {
		return FollowUp{}, err
	}
	if err := checkAgent(ctx, db, tenantID, in.AgentID, fieldPrefix+"agent_id"); err != nil {
		return FollowUp{}, err
	}
	if err := checkPhone(ctx, db, tenantID, in.PhoneID, fieldPrefix+"phone_id"); err != nil {
		return FollowUp{}, err
	}
	f := FollowUp{
		TenantID: tenantID, ID: newID(), CompanyID: in.CompanyID, ContactID: in.ContactID, LeadID: in.LeadID,
		PhoneID: in.PhoneID, DueAt: in.DueAt.UTC().Truncate(time.Microsecond), AgentID: in.AgentID, CampaignID: in.CampaignID,
		Status: FollowUpPending, Notes: trimmed(in.Notes), InteractionID: in.InteractionID, Version: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	if _, err := db.NewInsert().Model(&f).Exec(ctx); err != nil {
		return FollowUp{}, fmt.Errorf("insert follow-up: %w", err)
	}
	return f, nil
}

func checkPhone(ctx context.Context, db bun.IDB, tenantID uuid.UUID, id *uuid.UUID, field string) error {
	if id == nil {
		return nil
	}
	ok, err := db.NewSelect().Model((*Phone)(nil)).Where("tenant_id = ? AND id = ?", tenantID, *id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("check phone: %w", err)
	}
	if !ok {
		return validate.Field(field, "no such phone")
	}
	return nil
}

// FollowUp returns one follow-up.
func (s *Service) FollowUp(ctx context.Context, tenantID, id uuid.UUID) (FollowUp, error) {
	var f FollowUp
	if err := s.db.NewSelect().Model(&f).Where("fu.tenant_id = ? AND fu.id = ?", tenantID, id).Scan(ctx); err != nil {
		return FollowUp{}, notFound(err)
	}
	return f, nil
}

// FollowUpFilter narrows a follow-up list.
type FollowUpFilter struct {
	Status     *string
	AgentID    *uuid.UUID
	CampaignID *uuid.UUID
	DueBefore  *time.Time
}

// FollowUps pages through follow-ups, soonest due first.
func (s *Service) FollowUps(ctx context.Context, tenantID uuid.UUID, f FollowUpFilter, p store.Page) ([]FollowUp, string, error) {
	var out []FollowUp
	q := s.db.NewSelect().Model(&out).Where("fu.tenant_id = ?", tenantID)
	if f.Status != nil {
		q = q.Where("fu.status = ?", *f.Status)
	}
	if f.AgentID != nil {
		q = q.Where("fu.agent_id = ?", *f.AgentID)
	}
	if f.CampaignID != nil {
		q = q.Where("fu.campaign_id = ?", *f.CampaignID)
	}
	if f.DueBefore != nil {
		q = q.Where("fu.due_at < ?", f.DueBefore.UTC())
	}
	// Ordered by due time; the cursor is the id, and ties on due time are broken by id.
	if p.After != uuid.Nil {
		var after FollowUp
		if err := s.db.NewSelect().Model(&after).Where("fu.tenant_id = ? AND fu.id = ?", tenantID, p.After).Scan(ctx); err != nil {
			return nil, "", store.ErrBadCursor
		}
		q = q.Where("(fu.due_at > ? OR (fu.due_at = ? AND fu.id > ?))", after.DueAt, after.DueAt, after.ID)
	}
	if err := q.OrderExpr("fu.due_at ASC, fu.id ASC").Limit(int64(p.Limit) + 1).Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list follow-ups: %w", err)
	}
	out, next := store.Trim(p, out, func(f FollowUp) uuid.UUID { return f.ID })
	return out, next, nil
}

// FollowUpPatch lists the follow-up fields to change.
type FollowUpPatch struct {
	DueAt      *time.Time
	AgentID    Optional[uuid.UUID]
	CampaignID Optional[uuid.UUID]
	Notes      Optional[string]
	Status     *string
}

// UpdateFollowUp reschedules, reassigns, completes or cancels a follow-up.
func (s *Service) UpdateFollowUp(ctx context.Context, tenantID, id uuid.UUID, patch FollowUpPatch, ifVersion *int64) (FollowUp, error) {
	var f FollowUp
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&f).Where("fu.tenant_id = ? AND fu.id = ?", tenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != f.Version {
			return ErrStale
		}
		if patch.DueAt != nil {
			f.DueAt = patch.DueAt.UTC().Truncate(time.Microsecond)
		}
		patch.AgentID.apply(&f.AgentID)
		if patch.AgentID.Set {
			if err := checkAgent(ctx, tx, tenantID, f.AgentID, "agent_id"); err != nil {
				return err
			}
		}
		patch.CampaignID.apply(&f.CampaignID)
		patch.Notes.apply(&f.Notes)
		setIf(&f.Status, patch.Status)
		return updateVersioned(ctx, tx, &f, &f.Version, &f.UpdatedAt, s.clock.Now(), "fu.tenant_id = ? AND fu.id = ?", tenantID, id)
	})
	return f, err
}
