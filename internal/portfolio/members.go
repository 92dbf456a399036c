package portfolio

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// previews lists, for each portfolio, its first limit live contacts by name, in one query.
func (s *Service) previews(ctx context.Context, tenantID uuid.UUID, portfolioIDs []uuid.UUID, limit int) ([]Member, error) {
	out := []Member{}
	err := s.db.NewRaw(`SELECT portfolio_id, contact_id, name, added_at FROM (
			SELECT pc.portfolio_id, pc.contact_id, ct.name, pc.added_at,
				row_number() OVER (PARTITION BY pc.portfolio_id ORDER BY ct.name, pc.contact_id) AS n
			FROM portfolio_contacts AS pc
			JOIN contacts AS ct ON ct.tenant_id = pc.tenant_id AND ct.id = pc.contact_id AND ct.deleted_at IS NULL
			WHERE pc.tenant_id = ? AND pc.portfolio_id IN (?)) AS ranked
		WHERE n <= ? ORDER BY portfolio_id, n`, tenantID, bun.In(portfolioIDs), limit).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("members of portfolios: %w", err)
	}
	return out, nil
}

// Members pages through a portfolio's contacts, by contact id.
func (s *Service) Members(ctx context.Context, tenantID, portfolioID uuid.UUID, page store.Page) ([]Member, string, error) {
	if err := s.exists(ctx, s.db, tenantID, portfolioID); err != nil {
		return nil, "", err
	}
	var out []Member
	q := s.db.NewSelect().TableExpr("portfolio_contacts AS pc").
		Join("JOIN contacts AS ct ON ct.tenant_id = pc.tenant_id AND ct.id = pc.contact_id AND ct.deleted_at IS NULL").
		ColumnExpr("pc.portfolio_id, pc.contact_id, ct.name, pc.added_at").
		Where("pc.tenant_id = ? AND pc.portfolio_id = ?", tenantID, portfolioID)
	if err := page.Apply(q, "pc.contact_id").Scan(ctx, &out); err != nil {
		return nil, "", fmt.Errorf("members of portfolio: %w", err)
	}
	out, next := store.Trim(page, out, func(m Member) uuid.UUID { return m.ContactID })
	return out, next, nil
}

func (s *Service) exists(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) error {
	ok, err := db.NewSelect().Model((*Portfolio)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("find portfolio: %w", err)
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// Add puts contacts in a portfolio and returns how many were not members yet. Every contact must be a live
// contact of the tenant.
func (s *Service) Add(ctx context.Context, tenantID, portfolioID uuid.UUID, contactIDs []uuid.UUID) (int, error) {
	var added int64
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := s.exists(ctx, tx, tenantID, portfolioID); err != nil {
			return err
		}
		if err := checkContacts(ctx, tx, tenantID, contactIDs, "contact_ids"); err != nil {
			return err
		}
		now := s.clock.Now()
		rows := make([]membership, len(contactIDs))
		for i, id := range contactIDs {
			rows[i] = membership{TenantID: tenantID, PortfolioID: portfolioID, ContactID: id, AddedAt: now}
		}
		res, err := tx.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("add members: %w", err)
		}
		added, err = res.RowsAffected()
		return err
	})
	return int(added), err
}

// checkContacts requires every id to be a live contact of the tenant, naming field.N otherwise.
func checkContacts(ctx context.Context, db bun.IDB, tenantID uuid.UUID, ids []uuid.UUID, field string) error {
	if len(ids) == 0 {
		return validate.Field(field, "must list at least one contact")
	}
	found, err := crm.RecordRefs(ctx, db, tenantID, crm.RecordContact, ids)
	if err != nil {
		return err
	}
	known := map[uuid.UUID]bool{}
	for _, r := range found {
		known[r.ID] = true
	}
	var errs validate.Errors
	for i, id := range ids {
		if !known[id] {
			errs.Add(fmt.Sprintf("%s.%d", field, i), "no such contact")
		}
	}
	return errs.Err()
}

// Remove takes a contact out of a portfolio; it is ErrNotFound when the contact is not a member.
func (s *Service) Remove(ctx context.Context, tenantID, portfolioID, contactID uuid.UUID) error {
	res, err := s.db.NewDelete().Model((*membership)(nil)).
		Where("tenant_id = ? AND portfolio_id = ? AND contact_id = ?", tenantID, portfolioID, contactID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// OfContact lists the portfolios a live contact of the tenant is in, by name.
func (s *Service) OfContact(ctx context.Context, tenantID, contactID uuid.UUID) ([]Portfolio, error) {
	if err := contactExists(ctx, s.db, tenantID, contactID); err != nil {
		return nil, err
	}
	var out []Portfolio
	err := s.db.NewSelect().Model(&out).
		Join("JOIN portfolio_contacts AS pc ON pc.tenant_id = pf.tenant_id AND pc.portfolio_id = pf.id").
		Where("pf.tenant_id = ? AND pc.contact_id = ?", tenantID, contactID).Order("pf.name", "pf.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("portfolios of contact: %w", err)
	}
	return out, nil
}

func contactExists(ctx context.Context, db bun.IDB, tenantID, contactID uuid.UUID) error {
	found, err := crm.RecordRefs(ctx, db, tenantID, crm.RecordContact, []uuid.UUID{contactID})
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return ErrNotFound
	}
	return nil
}

// AddToContact puts a contact in a portfolio, from the contact's side; adding it twice changes nothing.
func (s *Service) AddToContact(ctx context.Context, tenantID, contactID, portfolioID uuid.UUID) ([]Portfolio, error) {
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := contactExists(ctx, tx, tenantID, contactID); err != nil {
			return err
		}
		if err := s.exists(ctx, tx, tenantID, portfolioID); err != nil {
			return validate.Field("portfolio_id", "no such portfolio")
		}
		m := membership{TenantID: tenantID, PortfolioID: portfolioID, ContactID: contactID, AddedAt: s.clock.Now()}
		if _, err := tx.NewInsert().Model(&m).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.OfContact(ctx, tenantID, contactID)
}

// RemoveFromContact takes a contact out of a portfolio, from the contact's side.
func (s *Service) RemoveFromContact(ctx context.Context, tenantID, contactID, portfolioID uuid.UUID) error {
	if err := contactExists(ctx, s.db, tenantID, contactID); err != nil {
		return err
	}
	return s.Remove(ctx, tenantID, portfolioID, contactID)
}

// FileOnQualification applies automatic inclusion inside the qualifying transaction: when the tenant has it
// on and an agent qualified a conversation of a contact in no portfolio, the contact goes into a portfolio
// the agent owns — the one it owns alone, else the first by name. Otherwise it does nothing.
func (s *Service) FileOnQualification(ctx context.Context, tx bun.IDB, actor tenant.Actor, contactID *uuid.UUID) error {
	if actor.Role != tenant.RoleAgent || contactID == nil {
		return nil
	}
	t, err := tenant.TenantIn(ctx, tx, actor.TenantID)
	if err != nil || !t.Features.PortfolioAutoInclude {
		return err
	}
	filed, err := tx.NewSelect().Model((*membership)(nil)).Where("tenant_id = ? AND contact_id = ?", actor.TenantID, *contactID).Exists(ctx)
	if err != nil || filed {
		return err
	}
	var ids []uuid.UUID
	err = tx.NewSelect().TableExpr("portfolios AS pf").Column("pf.id").
		Join("JOIN portfolio_owners AS po ON po.tenant_id = pf.tenant_id AND po.portfolio_id = pf.id").
		Where("pf.tenant_id = ? AND po.user_id = ?", actor.TenantID, actor.UserID).
		OrderExpr("pf.type = ? DESC, pf.name, pf.id", TypeSingle).Limit(1).Scan(ctx, &ids)
	if err != nil {
		return fmt.Errorf("portfolio of owner: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	m := membership{TenantID: actor.TenantID, PortfolioID: ids[0], ContactID: *contactID, AddedAt: s.clock.Now()}
	if _, err := tx.NewInsert().Model(&m).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("file contact: %w", err)
	}
	return nil
}
