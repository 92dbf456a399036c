package crm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/document"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// NewCompany describes a company to create.
type NewCompany struct {
	LegalName    string
	TradeName    *string
	CNPJ         *string
	Status       *string
	OwnerID      *uuid.UUID
	CustomFields map[string]any
	Addresses    []Address
	Phones       []string
}

// CreateCompany stores a company with its phones.
func (s *Service) CreateCompany(ctx context.Context, actor tenant.Actor, in NewCompany) (Company, error) {
	var id uuid.UUID
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) (err error) {
		id, err = CreateCompanyIn(ctx, tx, actor, in, s.clock.Now())
		return err
	})
	if err != nil {
		return Company{}, err
	}
	return s.Company(ctx, actor.TenantID, id)
}

// CreateCompanyIn stores a company with its phones inside the caller's transaction.
func CreateCompanyIn(ctx context.Context, tx bun.IDB, actor tenant.Actor, in NewCompany, now time.Time) (uuid.UUID, error) {
	var errs validate.Errors
	c := Company{
		TenantID: actor.TenantID, ID: newID(), LegalName: strings.TrimSpace(in.LegalName), TradeName: trimmed(in.TradeName),
		Status: CompanyActive, OwnerID: in.OwnerID, CustomFields: in.CustomFields, Addresses: in.Addresses, Version: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	if c.LegalName == "" {
		errs.Add("legal_name", "must not be blank")
	}
	setIf(&c.Status, in.Status)
	c.CNPJ = checkCNPJ(&errs, in.CNPJ)
	numbers, err := normalisePhones(in.Phones, actor.CountryCode, "phones")
	if fe, ok := validate.As(err); ok {
		errs = append(errs, fe...)
	}
	if err := errs.Err(); err != nil {
		return uuid.Nil, err
	}
	if c.CustomFields == nil {
		c.CustomFields = map[string]any{}
	}
	if c.Addresses == nil {
		c.Addresses = []Address{}
	}
	c.SearchText = c.searchText()
	if err := checkOwner(ctx, tx, actor.TenantID, c.OwnerID); err != nil {
		return uuid.Nil, err
	}
	if _, err := tx.NewInsert().Model(&c).Exec(ctx); err != nil {
		if store.IsUniqueViolation(err) {
			return uuid.Nil, ErrCNPJTaken
		}
		return uuid.Nil, fmt.Errorf("insert company: %w", err)
	}
	return c.ID, attachPhones(ctx, tx, actor.TenantID, numbers, RecordCompany, c.ID, now)
}

func (c *Company) searchText() string {
	var cnpj *string
	if c.CNPJ != nil {
		f := document.FormatCNPJ(*c.CNPJ)
		joined := *c.CNPJ + " " + f
		cnpj = &joined
	}
	return searchText(&c.LegalName, c.TradeName, cnpj)
}

func checkCNPJ(errs *validate.Errors, in *string) *string {
	if in == nil || strings.TrimSpace(*in) == "" {
		return nil
	}
	c, err := document.NormalizeCNPJ(*in)
	if err != nil {
		errs.Add("cnpj", "%s", err.Error())
		return nil
	}
	return &c
}

func checkOwner(ctx context.Context, db bun.IDB, tenantID uuid.UUID, owner *uuid.UUID) error {
	if owner == nil {
		return nil
	}
	ok, err := db.NewSelect().Table("users").Where("tenant_id = ? AND id = ?", tenantID, *owner).Exists(ctx)
	if err != nil {
		return fmt.Errorf("check owner: %w", err)
	}
	if !ok {
		return validate.Field("owner_id", "no such user")
	}
	return nil
}

// Company returns one company with its phones.
func (s *Service) Company(ctx context.Context, tenantID, id uuid.UUID) (Company, error) {
	var c Company
	err := s.db.NewSelect().Model(&c).Where("co.tenant_id = ? AND co.id = ? AND co.deleted_at IS NULL", tenantID, id).Scan(ctx)
	if err != nil {
		return Company{}, notFound(err)
	}
	one := []Company{c}
	if err := withPhones(ctx, s.db, tenantID, one, companyID, setCompanyPhones); err != nil {
		return Company{}, err
	}
	return one[0], nil
}

// CompanyFilter narrows a company list.
type CompanyFilter struct {
	Query           *string
	Status          *string
	OwnerID         *uuid.UUID
	IncludeArchived bool
}

// Companies pages through the tenant's companies.
func (s *Service) Companies(ctx context.Context, actor tenant.Actor, f CompanyFilter, p store.Page) ([]Company, string, error) {
	var out []Company
	q := s.db.NewSelect().Model(&out).Where("co.tenant_id = ? AND co.deleted_at IS NULL", actor.TenantID)
	if !f.IncludeArchived {
		q = q.Where("co.archived_at IS NULL")
	}
	if f.Status != nil {
		q = q.Where("co.status = ?", *f.Status)
	}
	if f.OwnerID != nil {
		q = q.Where("co.owner_id = ?", *f.OwnerID)
	}
	if f.Query != nil {
		q = applySearch(q, "co", RecordCompany, actor.TenantID, *f.Query, actor.CountryCode)
	}
	if err := p.Apply(q, "co.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list companies: %w", err)
	}
	out, next := store.Trim(p, out, func(c Company) uuid.UUID { return c.ID })
	if err := withPhones(ctx, s.db, actor.TenantID, out, companyID, setCompanyPhones); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// CompanyPatch lists the company fields to change.
type CompanyPatch struct {
	LegalName    *string
	TradeName    Optional[string]
	CNPJ         Optional[string]
	Status       *string
	OwnerID      Optional[uuid.UUID]
	CustomFields map[string]any
	Addresses    []Address
	Archived     *bool
}

// UpdateCompany applies patch if the company is still at version ifVersion (when given).
func (s *Service) UpdateCompany(ctx context.Context, tenantID, id uuid.UUID, patch CompanyPatch, ifVersion *int64) (Company, error) {
	var errs validate.Errors
	if patch.LegalName != nil {
		if *patch.LegalName = strings.TrimSpace(*patch.LegalName); *patch.LegalName == "" {
			errs.Add("legal_name", "must not be blank")
		}
	}
	if patch.CNPJ.Set {
		patch.CNPJ.Value = checkCNPJ(&errs, patch.CNPJ.Value)
	}
	if err := errs.Err(); err != nil {
		return Company{}, err
	}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var c Company
		err := tx.NewSelect().Model(&c).Where("co.tenant_id = ? AND co.id = ? AND co.deleted_at IS NULL", tenantID, id).Scan(ctx)
		if err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != c.Version {
			return ErrStale
		}
		setIf(&c.LegalName, patch.LegalName)
		patch.TradeName.apply(&c.TradeName)
		c.TradeName = trimmed(c.TradeName)
		patch.CNPJ.apply(&c.CNPJ)
		setIf(&c.Status, patch.Status)
		patch.OwnerID.apply(&c.OwnerID)
		if patch.OwnerID.Set {
			if err := checkOwner(ctx, tx, tenantID, c.OwnerID); err != nil {
				return err
			}
		}
		if patch.CustomFields != nil {
			c.CustomFields = patch.CustomFields
		}
		if patch.Addresses != nil {
			c.Addresses = patch.Addresses
		}
		now := s.clock.Now()
		archive(&c.ArchivedAt, patch.Archived, now)
		c.SearchText = c.searchText()
		err = updateVersioned(ctx, tx, &c, &c.Version, &c.UpdatedAt, now, "co.tenant_id = ? AND co.id = ?", tenantID, id)
		if store.IsUniqueViolation(err) {
			return ErrCNPJTaken
		}
		return err
	})
	if err != nil {
		return Company{}, err
	}
	return s.Company(ctx, tenantID, id)
}

// DeleteCompany deletes a company without history, or hides an archived one with history.
func (s *Service) DeleteCompany(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.deleteRecord(ctx, tenantID, RecordCompany, id)
}

// CompanyContacts pages through the contacts of a company.
func (s *Service) CompanyContacts(ctx context.Context, tenantID, companyID uuid.UUID, p store.Page) ([]Contact, string, error) {
	if _, err := s.Company(ctx, tenantID, companyID); err != nil {
		return nil, "", err
	}
	return s.contacts(ctx, tenantID, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("ct.id IN (SELECT contact_id FROM contact_companies WHERE tenant_id = ? AND company_id = ?)", tenantID, companyID)
	}, p)
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}
