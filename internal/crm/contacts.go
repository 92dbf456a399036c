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

// NewContact describes a contact to create.
type NewContact struct {
	Name       string
	Email      *string
	JobTitle   *string
	Birthday   *string
	Notes      *string
	CompanyIDs []uuid.UUID
	Phones     []string
}

// CreateContact stores a contact, its companies and its phones.
func (s *Service) CreateContact(ctx context.Context, actor tenant.Actor, in NewContact) (Contact, error) {
	var id uuid.UUID
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) (err error) {
		id, err = CreateContactIn(ctx, tx, actor, in, s.clock.Now())
		return err
	})
	if err != nil {
		return Contact{}, err
	}
	return s.Contact(ctx, actor.TenantID, id)
}

// CreateContactIn stores a contact, its companies and its phones inside the caller's transaction.
func CreateContactIn(ctx context.Context, tx bun.IDB, actor tenant.Actor, in NewContact, now time.Time) (uuid.UUID, error) {
	var errs validate.Errors
	c := Contact{
		TenantID: actor.TenantID, ID: newID(), Name: strings.TrimSpace(in.Name), Email: lowerTrimmed(in.Email),
		JobTitle: trimmed(in.JobTitle), Birthday: in.Birthday, Notes: trimmed(in.Notes), Version: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	if c.Name == "" {
		errs.Add("name", "must not be blank")
	}
	numbers, err := normalisePhones(in.Phones, actor.CountryCode, "phones")
	if fe, ok := validate.As(err); ok {
		errs = append(errs, fe...)
	}
	if err := errs.Err(); err != nil {
		return uuid.Nil, err
	}
	c.SearchText = searchText(&c.Name, c.Email)
	if _, err := tx.NewInsert().Model(&c).Exec(ctx); err != nil {
		return uuid.Nil, fmt.Errorf("insert contact: %w", err)
	}
	if len(in.CompanyIDs) > 0 { // a new contact has no companies to clear
		if err := setContactCompanies(ctx, tx, actor.TenantID, c.ID, in.CompanyIDs); err != nil {
			return uuid.Nil, err
		}
	}
	return c.ID, attachPhones(ctx, tx, actor.TenantID, numbers, RecordContact, c.ID, now)
}

// setContactCompanies replaces the companies a contact acts for; each must be a live company of the tenant.
func setContactCompanies(ctx context.Context, db bun.IDB, tenantID, contactID uuid.UUID, companyIDs []uuid.UUID) error {
	if _, err := db.NewDelete().Model((*ContactCompany)(nil)).Where("tenant_id = ? AND contact_id = ?", tenantID, contactID).Exec(ctx); err != nil {
		return fmt.Errorf("clear contact companies: %w", err)
	}
	if len(companyIDs) == 0 {
		return nil
	}
	var found []uuid.UUID
	err := db.NewSelect().Model((*Company)(nil)).Column("id").
		Where("tenant_id = ? AND id IN (?) AND deleted_at IS NULL", tenantID, bun.In(companyIDs)).Scan(ctx, &found)
	if err != nil {
		return fmt.Errorf("check companies: %w", err)
	}
	known := map[uuid.UUID]bool{}
	for _, id := range found {
		known[id] = true
	}
	var errs validate.Errors
	rows := make([]ContactCompany, 0, len(companyIDs))
	for i, id := range companyIDs {
		if !known[id] {
			errs.Add(fmt.Sprintf("company_ids.%d", i), "no such company")
			continue
		}
		rows = append(rows, ContactCompany{TenantID: tenantID, ContactID: contactID, CompanyID: id})
	}
	if err := errs.Err(); err != nil {
		return err
	}
	_, err = db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("link contact companies: %w", err)
	}
	return nil
}

// Contact returns one contact with its companies and phones.
func (s *Service) Contact(ctx context.Context, tenantID, id uuid.UUID) (Contact, error) {
	out, _, err := s.contacts(ctx, tenantID, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("ct.id = ?", id)
	}, store.Page{Limit: 1})
	if err != nil {
		return Contact{}, err
	}
	if len(out) == 0 {
		return Contact{}, ErrNotFound
	}
	return out[0], nil
}

// ContactFilter narrows a contact list.
type ContactFilter struct {
	Query           *string
	CompanyID       *uuid.UUID
	IncludeArchived bool
}

// Contacts pages through the tenant's contacts.
func (s *Service) Contacts(ctx context.Context, actor tenant.Actor, f ContactFilter, p store.Page) ([]Contact, string, error) {
	return s.contacts(ctx, actor.TenantID, func(q *bun.SelectQuery) *bun.SelectQuery {
		if !f.IncludeArchived {
			q = q.Where("ct.archived_at IS NULL")
		}
		if f.CompanyID != nil {
			q = q.Where("ct.id IN (SELECT contact_id FROM contact_companies WHERE tenant_id = ? AND company_id = ?)", actor.TenantID, *f.CompanyID)
		}
		if f.Query != nil {
			q = applySearch(q, "ct", RecordContact, actor.TenantID, *f.Query, actor.CountryCode)
		}
		return q
	}, p)
}

// contacts lists live contacts narrowed by filter, with their companies and phones.
func (s *Service) contacts(ctx context.Context, tenantID uuid.UUID, filter func(*bun.SelectQuery) *bun.SelectQuery, p store.Page) ([]Contact, string, error) {
	var out []Contact
	q := s.db.NewSelect().Model(&out).Where("ct.tenant_id = ? AND ct.deleted_at IS NULL", tenantID)
	if err := p.Apply(filter(q), "ct.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list contacts: %w", err)
	}
	out, next := store.Trim(p, out, func(c Contact) uuid.UUID { return c.ID })
	if len(out) == 0 {
		return out, next, nil
	}
	ids := make([]uuid.UUID, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	phones, err := phonesOf(ctx, s.db, tenantID, ids)
	if err != nil {
		return nil, "", err
	}
	var links []struct {
		ContactID uuid.UUID `bun:"contact_id"`
		CompanyID uuid.UUID `bun:"company_id"`
	}
	err = s.db.NewSelect().Model((*ContactCompany)(nil)).ColumnExpr("cc.contact_id, cc.company_id").
		Join("JOIN companies AS co ON co.tenant_id = cc.tenant_id AND co.id = cc.company_id AND co.deleted_at IS NULL").
		Where("cc.tenant_id = ? AND cc.contact_id IN (?)", tenantID, bun.In(ids)).OrderExpr("cc.company_id").Scan(ctx, &links)
	if err != nil {
		return nil, "", fmt.Errorf("load contact companies: %w", err)
	}
	companies := map[uuid.UUID][]uuid.UUID{}
	for _, l := range links {
		companies[l.ContactID] = append(companies[l.ContactID], l.CompanyID)
	}
	for i := range out {
		out[i].Phones = phones[out[i].ID]
		out[i].CompanyIDs = companies[out[i].ID]
		if out[i].CompanyIDs == nil {
			out[i].CompanyIDs = []uuid.UUID{}
		}
	}
	return out, next, nil
}

// ContactPatch lists the contact fields to change.
type ContactPatch struct {
	Name       *string
	Email      Optional[string]
	JobTitle   Optional[string]
	Birthday   Optional[string]
	Notes      Optional[string]
	CompanyIDs []uuid.UUID // nil keeps them; empty clears them
	Archived   *bool
}

// UpdateContact applies patch if the contact is still at version ifVersion (when given).
func (s *Service) UpdateContact(ctx context.Context, tenantID, id uuid.UUID, patch ContactPatch, ifVersion *int64) (Contact, error) {
	if patch.Name != nil {
		if *patch.Name = strings.TrimSpace(*patch.Name); *patch.Name == "" {
			return Contact{}, validate.Field("name", "must not be blank")
		}
	}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var c Contact
		err := tx.NewSelect().Model(&c).Where("ct.tenant_id = ? AND ct.id = ? AND ct.deleted_at IS NULL", tenantID, id).Scan(ctx)
		if err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != c.Version {
			return ErrStale
		}
		setIf(&c.Name, patch.Name)
		patch.Email.apply(&c.Email)
		c.Email = lowerTrimmed(c.Email)
		patch.JobTitle.apply(&c.JobTitle)
		patch.Birthday.apply(&c.Birthday)
		patch.Notes.apply(&c.Notes)
		now := s.clock.Now()
		archive(&c.ArchivedAt, patch.Archived, now)
		c.SearchText = searchText(&c.Name, c.Email)
		if patch.CompanyIDs != nil {
			if err := setContactCompanies(ctx, tx, tenantID, id, patch.CompanyIDs); err != nil {
				return err
			}
		}
		return updateVersioned(ctx, tx, &c, &c.Version, &c.UpdatedAt, now, "ct.tenant_id = ? AND ct.id = ?", tenantID, id)
	})
	if err != nil {
		return Contact{}, err
	}
	return s.Contact(ctx, tenantID, id)
}

// DeleteContact deletes a contact without history, or hides an archived one with history.
func (s *Service) DeleteContact(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.deleteRecord(ctx, tenantID, RecordContact, id)
}

func lowerTrimmed(s *string) *string {
	t := trimmed(s)
	if t == nil {
		return nil
	}
	l := strings.ToLower(*t)
	return &l
}
