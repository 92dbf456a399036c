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

// LogSystemUpdate appends a system entry to a record's updates log, inside the caller's transaction, so the
// entry and the change it explains are written together.
func LogSystemUpdate(ctx context.Context, db bun.IDB, tenantID uuid.UUID, rt RecordType, recordID uuid.UUID, message string, now time.Time) error {
	u := Update{TenantID: tenantID, ID: newID(), RecordType: rt, RecordID: recordID, Kind: UpdateSystem, Message: message, CreatedAt: now.UTC()}
	if _, err := db.NewInsert().Model(&u).Exec(ctx); err != nil {
		return fmt.Errorf("log system update: %w", err)
	}
	return nil
}

// AddUpdate appends a user's entry to a record's updates log.
func (s *Service) AddUpdate(ctx context.Context, actor tenant.Actor, rt RecordType, recordID uuid.UUID, message string) (Update, error) {
	message = strings.TrimSpace(message)
	if message == "" {
		return Update{}, validate.Field("message", "must not be blank")
	}
	ok, err := recordExists(ctx, s.db, actor.TenantID, rt, recordID)
	if err != nil {
		return Update{}, err
	}
	if !ok {
		return Update{}, ErrNotFound
	}
	u := Update{
		TenantID: actor.TenantID, ID: newID(), RecordType: rt, RecordID: recordID, Kind: UpdateUser,
		Message: message, ActorID: &actor.UserID, CreatedAt: s.clock.Now(),
	}
	err = store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(&u).Exec(ctx)
		return err
	})
	if err != nil {
		return Update{}, fmt.Errorf("add update: %w", err)
	}
	return u, nil
}

// Updates pages through a record's updates log, newest first.
func (s *Service) Updates(ctx context.Context, tenantID uuid.UUID, rt RecordType, recordID uuid.UUID, p store.Page) ([]Update, string, error) {
	ok, err := recordExists(ctx, s.db, tenantID, rt, recordID)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", ErrNotFound
	}
	var out []Update
	q := s.db.NewSelect().Model(&out).Where("ru.tenant_id = ? AND ru.record_id = ?", tenantID, recordID)
	p.Desc = true
	if err := p.Apply(q, "ru.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list updates: %w", err)
	}
	out, next := store.Trim(p, out, func(u Update) uuid.UUID { return u.ID })
	return out, next, nil
}
