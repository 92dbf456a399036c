package crm

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
)

// archive sets or clears an archived-at time as asked.
func archive(at **time.Time, archived *bool, now time.Time) {
	switch {
	case archived == nil:
	case *archived && *at == nil:
		*at = &now
	case !*archived:
		*at = nil
	}
}

// recordColumn is the column interactions and follow-ups point at a record type with.
func recordColumn(rt RecordType) string {
	switch rt {
	case RecordCompany:
		return "company_id"
	case RecordContact:
		return "contact_id"
	default:
		return "lead_id"
	}
}

// hasHistory reports whether interactions or follow-ups point at the record.
func hasHistory(ctx context.Context, db bun.IDB, tenantID uuid.UUID, rt RecordType, id uuid.UUID) (bool, error) {
	col := bun.Ident(recordColumn(rt))
	for _, table := range []string{"interactions", "follow_ups"} {
		ok, err := db.NewSelect().TableExpr("?", bun.Ident(table)).Where("tenant_id = ? AND ? = ?", tenantID, col, id).Exists(ctx)
		if err != nil {
			return false, fmt.Errorf("look for history: %w", err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// deleteRecord deletes a record without history with everything hanging off it. A record with history
// must be archived first; it is then only marked deleted, so the history keeps pointing at it.
func (s *Service) deleteRecord(ctx context.Context, tenantID uuid.UUID, rt RecordType, id uuid.UUID) error {
	table, _ := recordTable(rt)
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var row struct {
			ArchivedAt *time.Time `bun:"archived_at"`
		}
		err := tx.NewSelect().TableExpr("?", bun.Ident(table)).Column("archived_at").
			Where("tenant_id = ? AND id = ? AND deleted_at IS NULL", tenantID, id).Scan(ctx, &row)
		if err != nil {
			return notFound(err)
		}
		history, err := hasHistory(ctx, tx, tenantID, rt, id)
		if err != nil {
			return err
		}
		if history {
			if row.ArchivedAt == nil {
				return ErrHasHistory
			}
			_, err := tx.NewUpdate().TableExpr("?", bun.Ident(table)).Set("deleted_at = ?", s.clock.Now()).
				Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
			return err
		}
		for _, q := range []*bun.DeleteQuery{
			tx.NewDelete().Model((*PhoneLink)(nil)).Where("tenant_id = ? AND record_id = ?", tenantID, id),
			tx.NewDelete().Model((*Update)(nil)).Where("tenant_id = ? AND record_id = ?", tenantID, id),
			tx.NewDelete().TableExpr("?", bun.Ident(table)).Where("tenant_id = ? AND id = ?", tenantID, id),
		} {
			if _, err := q.Exec(ctx); err != nil {
				return fmt.Errorf("delete %s: %w", rt, err)
			}
		}
		return nil
	})
}

// RecordExists reports whether a live record of the tenant exists, for other subjects that point at one.
func (s *Service) RecordExists(ctx context.Context, db bun.IDB, tenantID uuid.UUID, rt RecordType, id uuid.UUID) (bool, error) {
	return recordExists(ctx, db, tenantID, rt, id)
}

// CompanyByCNPJ returns the id of the tenant's live company with this canonical CNPJ, inside the caller's
// transaction; found is false when there is none.
func CompanyByCNPJ(ctx context.Context, db bun.IDB, tenantID uuid.UUID, cnpj string) (id uuid.UUID, found bool, err error) {
	var ids []uuid.UUID
	err = db.NewSelect().Model((*Company)(nil)).Column("id").
		Where("tenant_id = ? AND cnpj = ? AND deleted_at IS NULL", tenantID, cnpj).Limit(1).Scan(ctx, &ids)
	if err != nil || len(ids) == 0 {
		return uuid.Nil, false, err
	}
	return ids[0], true, nil
}

// ContactByEmail returns the id of the tenant's oldest live contact with this (lower-case) e-mail, inside
// the caller's transaction; found is false when there is none.
func ContactByEmail(ctx context.Context, db bun.IDB, tenantID uuid.UUID, email string) (id uuid.UUID, found bool, err error) {
	var ids []uuid.UUID
	err = db.NewSelect().Model((*Contact)(nil)).Column("id").
		Where("tenant_id = ? AND email = ? AND deleted_at IS NULL", tenantID, email).OrderExpr("id").Limit(1).Scan(ctx, &ids)
	if err != nil || len(ids) == 0 {
		return uuid.Nil, false, err
	}
	return ids[0], true, nil
}
