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

// NewLead describes a lead to create.
type NewLead struct {
	Name        string
	CompanyName *string
	Email       *string
	Source      *string
	Status      *string
	Phones      []string
}

// CreateLead stores a lead with its phones.
func (s *Service) CreateLead(ctx context.Context, actor tenant.Actor, in NewLead) (Lead, error) {
	var id uuid.UUID
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) (err error) {
		id, err = CreateLeadIn(ctx, tx, actor, in, s.clock.Now())
		return err
	})
	if err != nil {
		return Lead{}, err
	}
	return s.Lead(ctx, actor.TenantID, id)
}

// CreateLeadIn stores a lead with its phones inside the caller's transaction.
func CreateLeadIn(ctx context.Context, tx bun.IDB, actor tenant.Actor, in NewLead, now time.Time) (uuid.UUID, error) {
	var errs validate.Errors
	l := Lead{
		TenantID: actor.TenantID, ID: newID(), Name: strings.TrimSpace(in.Name), CompanyName: trimmed(in.CompanyName),
		Email: lowerTrimmed(in.Email), Source: trimmed(in.Source), Status: LeadNew, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	setIf(&l.Status, in.Status)
	if l.Name == "" {
		errs.Add("name", "must not be blank")
	}
	numbers, err := normalisePhones(in.Phones, actor.CountryCode, "phones")
	if fe, ok := validate.As(err); ok {
		errs = append(errs, fe...)
	}
	if err := errs.Err(); err != nil {
		return uuid.Nil, err
	}
	l.SearchText = searchText(&l.Name, l.CompanyName, l.Email)
	if _, err := tx.NewInsert().Model(&l).Exec(ctx); err != nil {
		return uuid.Nil, fmt.Errorf("insert lead: %w", err)
	}
	return l.ID, attachPhones(ctx, tx, actor.TenantID, numbers, RecordLead, l.ID, now)
}

// Lead returns one lead with its phones.
func (s *Service) Lead(ctx context.Context, tenantID, id uuid.UUID) (Lead, error) {
	var l Lead
	err := s.db.NewSelect().Model(&l).Where("ld.tenant_id = ? AND ld.id = ? AND ld.deleted_at IS NULL", tenantID, id).Scan(ctx)
	if err != nil {
		return Lead{}, notFound(err)
	}
	one := []Lead{l}
	if err := withPhones(ctx, s.db, tenantID, one, leadID, setLeadPhones); err != nil {
		return Lead{}, err
	}
	return one[0], nil
}

// LeadFilter narrows a lead list.
type LeadFilter struct {
	Query           *string
	Status          *string
	Source          *string
	IncludeArchived bool
}

// Leads pages through the tenant's leads.
func (s *Service) Leads(ctx context.Context, actor tenant.Actor, f LeadFilter, p store.Page) ([]Lead, string, error) {
	var out []Lead
	q := s.db.NewSelect().Model(&out).Where("ld.tenant_id = ? AND ld.deleted_at IS NULL", actor.TenantID)
	if !f.IncludeArchived {
		q = q.Where("ld.archived_at IS NULL")
	}
	if f.Status != nil {
		q = q.Where("ld.status = ?", *f.Status)
	}
	if f.Source != nil {
		q = q.Where("ld.source = ?", *f.Source)
	}
	if f.Query != nil {
		q = applySearch(q, "ld", RecordLead, actor.TenantID, *f.Query, actor.CountryCode)
	}
	if err := p.Apply(q, "ld.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list leads: %w", err)
	}
	out, next := store.Trim(p, out, func(l Lead) uuid.UUID { return l.ID })
	if err := withPhones(ctx, s.db, actor.TenantID, out, leadID, setLeadPhones); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// LeadPatch lists the lead fields to change.
type LeadPatch struct {
	Name        *string
	CompanyName Optional[string]
	Email       Optional[string]
	Source      Optional[string]
	Status      *string
	Archived    *bool
}

// UpdateLead applies patch if the lead is still at version ifVersion (when given).
func (s *Service) UpdateLead(ctx context.Context, tenantID, id uuid.UUID, patch LeadPatch, ifVersion *int64) (Lead, error) {
	if patch.Name != nil {
		if *patch.Name = strings.TrimSpace(*patch.Name); *patch.Name == "" {
			return Lead{}, validate.Field("name", "must not be blank")
		}
	}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var l Lead
		err := tx.NewSelect().Model(&l).Where("ld.tenant_id = ? AND ld.id = ? AND ld.deleted_at IS NULL", tenantID, id).Scan(ctx)
		if err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != l.Version {
			return ErrStale
		}
		setIf(&l.Name, patch.Name)
		patch.CompanyName.apply(&l.CompanyName)
		patch.Email.apply(&l.Email)
		l.Email = lowerTrimmed(l.Email)
		patch.Source.apply(&l.Source)
		setIf(&l.Status, patch.Status)
		now := s.clock.Now()
		archive(&l.ArchivedAt, patch.Archived, now)
		l.SearchText = searchText(&l.Name, l.CompanyName, l.Email)
		return updateVersioned(ctx, tx, &l, &l.Version, &l.UpdatedAt, now, "ld.tenant_id = ? AND ld.id = ?", tenantID, id)
	})
	if err != nil {
		return Lead{}, err
	}
	return s.Lead(ctx, tenantID, id)
}

// DeleteLead deletes a lead without history, or hides an archived one with history.
func (s *Service) DeleteLead(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.deleteRecord(ctx, tenantID, RecordLead, id)
}
