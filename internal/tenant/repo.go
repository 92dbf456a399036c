package tenant

// The repository: every query of this package. Functions take bun.IDB so they run inside or outside a
// transaction; the service decides which.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
)

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func insertTenant(ctx context.Context, db bun.IDB, t *Tenant) error {
	if _, err := db.NewInsert().Model(t).Exec(ctx); err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	return nil
}

func countTenants(ctx context.Context, db bun.IDB) (int64, error) {
	n, err := db.NewSelect().Model((*Tenant)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count tenants: %w", err)
	}
	return n, nil
}

// TenantIn returns a tenant inside the caller's transaction (SQLite's single connection may be the
// transaction's).
func TenantIn(ctx context.Context, db bun.IDB, id uuid.UUID) (Tenant, error) {
	return getTenant(ctx, db, id)
}

func getTenant(ctx context.Context, db bun.IDB, id uuid.UUID) (Tenant, error) {
	var t Tenant
	err := db.NewSelect().Model(&t).Where("t.id = ?", id).Scan(ctx)
	if err != nil {
		return Tenant{}, fmt.Errorf("get tenant: %w", notFound(err))
	}
	return t, nil
}

// updateTenant writes t if its stored version is still expected; it reports whether it did.
func updateTenant(ctx context.Context, db bun.IDB, t *Tenant, expected int64) (bool, error) {
	res, err := db.NewUpdate().Model(t).
		Column("timezone", "default_country_code", "features", "working_days", "opens_at", "closes_at",
			"tracking_url_template", "survey_url_template", "version", "updated_at").
		Where("t.id = ? AND t.version = ?", t.ID, expected).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("update tenant: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// lockTenant takes the tenant's row lock (on PostgreSQL; SQLite transactions are already exclusive), so
// rules that look across a tenant's users see no concurrent change.
func lockTenant(ctx context.Context, db bun.IDB, tenantID uuid.UUID) error {
	_, err := db.NewUpdate().Model((*Tenant)(nil)).Set("version = version").Where("id = ?", tenantID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("lock tenant: %w", err)
	}
	return nil
}

func insertUser(ctx context.Context, db bun.IDB, u *User) error {
	if _, err := db.NewInsert().Model(u).Exec(ctx); err != nil {
		if store.IsUniqueViolation(err) {
			return ErrEmailTaken
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

func getUser(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (User, error) {
	var u User
	err := db.NewSelect().Model(&u).Where("u.tenant_id = ? AND u.id = ?", tenantID, id).Scan(ctx)
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", notFound(err))
	}
	return u, nil
}

// UserFilter narrows a user list.
type UserFilter struct {
	Role   *Role
	Status *UserStatus
}

func listUsers(ctx context.Context, db bun.IDB, tenantID uuid.UUID, f UserFilter, p store.Page) ([]User, error) {
	var users []User
	q := db.NewSelect().Model(&users).Where("u.tenant_id = ?", tenantID)
	if f.Role != nil {
		q = q.Where("u.role = ?", *f.Role)
	}
	if f.Status != nil {
		q = q.Where("u.status = ?", *f.Status)
	}
	if err := p.Apply(q, "u.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// updateUser writes u if its stored version is still expected; it reports whether it did.
func updateUser(ctx context.Context, db bun.IDB, u *User, expected int64) (bool, error) {
	res, err := db.NewUpdate().Model(u).
		Column("name", "email", "role", "status", "version", "updated_at").
		Where("u.tenant_id = ? AND u.id = ? AND u.version = ?", u.TenantID, u.ID, expected).
		Exec(ctx)
	if err != nil {
		if store.IsUniqueViolation(err) {
			return false, ErrEmailTaken
		}
		return false, fmt.Errorf("update user: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func countActiveAdmins(ctx context.Context, db bun.IDB, tenantID uuid.UUID, except uuid.UUID) (int64, error) {
	n, err := db.NewSelect().Model((*User)(nil)).
		Where("tenant_id = ? AND role = ? AND status = ? AND id <> ?", tenantID, RoleAdmin, UserActive, except).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}

func insertKey(ctx context.Context, db bun.IDB, k *APIKey) error {
	if _, err := db.NewInsert().Model(k).Exec(ctx); err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// keyWithOwner loads a key by its hash with its user and tenant, in one query.
func keyWithOwner(ctx context.Context, db bun.IDB, hash []byte) (APIKey, error) {
	var k APIKey
	err := db.NewSelect().Model(&k).
		Relation("User").Relation("User.Tenant").
		Where("k.hash = ?", hash).
		Scan(ctx)
	if err != nil {
		return APIKey{}, fmt.Errorf("find api key: %w", notFound(err))
	}
	return k, nil
}

func getKey(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (APIKey, error) {
	var k APIKey
	err := db.NewSelect().Model(&k).Relation("User").
		Where("k.tenant_id = ? AND k.id = ?", tenantID, id).
		Scan(ctx)
	if err != nil {
		return APIKey{}, fmt.Errorf("get api key: %w", notFound(err))
	}
	return k, nil
}

// KeyFilter narrows a key list.
type KeyFilter struct {
	UserID         *uuid.UUID
	IncludeRevoked bool
}

func listKeys(ctx context.Context, db bun.IDB, tenantID uuid.UUID, f KeyFilter, p store.Page) ([]APIKey, error) {
	var keys []APIKey
	q := db.NewSelect().Model(&keys).Relation("User").Where("k.tenant_id = ?", tenantID)
	if f.UserID != nil {
		q = q.Where("k.user_id = ?", *f.UserID)
	}
	if !f.IncludeRevoked {
		q = q.Where("k.revoked_at IS NULL")
	}
	if err := p.Apply(q, "k.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

func revokeKey(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID, now time.Time) error {
	_, err := db.NewUpdate().Model((*APIKey)(nil)).
		Set("revoked_at = ?", now).
		Where("tenant_id = ? AND id = ? AND revoked_at IS NULL", tenantID, id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

func revokeUserKeys(ctx context.Context, db bun.IDB, tenantID, userID uuid.UUID, now time.Time) error {
	_, err := db.NewUpdate().Model((*APIKey)(nil)).
		Set("revoked_at = ?", now).
		Where("tenant_id = ? AND user_id = ? AND revoked_at IS NULL", tenantID, userID).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke user's api keys: %w", err)
	}
	return nil
}

func touchKey(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID, now time.Time) error {
	_, err := db.NewUpdate().Model((*APIKey)(nil)).
		Set("last_used_at = ?", now).
		Where("tenant_id = ? AND id = ?", tenantID, id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record api key use: %w", err)
	}
	return nil
}
