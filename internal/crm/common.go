package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/store"
)

// Service holds the CRM rules.
type Service struct {
	db    *store.DB
	clock clock.Clock
}

// NewService returns a Service on db.
func NewService(db *store.DB, clk clock.Clock) *Service {
	return &Service{db: db, clock: clk}
}

// Optional is a field of a patch: Set says it was sent, and a nil Value clears it.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// Set returns an Optional that sets v.
func Set[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: &v} }

func (o Optional[T]) apply(dst **T) {
	if o.Set {
		*dst = o.Value
	}
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// updateVersioned writes every column of model where the stored version is still the one loaded, and
// moves the version on; a concurrent writer makes it ErrStale.
func updateVersioned(ctx context.Context, db bun.IDB, model any, version *int64, updatedAt *time.Time, now time.Time, where string, args ...any) error {
	expected := *version
	*version++
	*updatedAt = now
	res, err := db.NewUpdate().Model(model).
		ExcludeColumn("tenant_id", "id", "created_at").
		Where(where, args...).Where("version = ?", expected).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrStale
	}
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
