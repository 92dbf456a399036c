// Package portfolio owns portfolios (carteiras): groups of contacts owned by agents, so that the
// conversations of a portfolio's contacts can be routed to its owners.
package portfolio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

// Portfolio types.
const (
	// TypeSingle has exactly one owner.
	TypeSingle = "single"
	// TypeShared has any number of owners.
	TypeShared = "shared"
)

// Errors of the package; the API maps them to problems.
var (
	ErrNotFound = errors.New("not found")
	ErrStale    = errors.New("the portfolio changed since it was read")
	// ErrNameTaken means the tenant has a portfolio with that name.
	ErrNameTaken = errors.New("a portfolio with this name exists")
)

// Preview is how many members a portfolio shows with itself.
const Preview = 10

// Portfolio is a group of contacts and the users who own it.
type Portfolio struct {
	bun.BaseModel `bun:"table:portfolios,alias:pf"`

	TenantID  uuid.UUID `bun:"tenant_id,pk"`
	ID        uuid.UUID `bun:"id,pk"`
	Name      string    `bun:"name"`
	Type      string    `bun:"type"`
	Version   int64     `bun:"version"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`

	// OwnerIDs, MemberCount and Members (the first Preview by name) are loaded with it.
	OwnerIDs    []uuid.UUID `bun:"-"`
	MemberCount int         `bun:"-"`
	Members     []Member    `bun:"-"`
}

// Member is a contact of a portfolio.
type Member struct {
	PortfolioID uuid.UUID `bun:"portfolio_id"`
	ContactID   uuid.UUID `bun:"contact_id"`
	Name        string    `bun:"name"`
	AddedAt     time.Time `bun:"added_at"`
}

type owner struct {
	bun.BaseModel `bun:"table:portfolio_owners,alias:po"`

	TenantID    uuid.UUID `bun:"tenant_id,pk"`
	PortfolioID uuid.UUID `bun:"portfolio_id,pk"`
	UserID      uuid.UUID `bun:"user_id,pk"`
}

type membership struct {
	bun.BaseModel `bun:"table:portfolio_contacts,alias:pc"`

	TenantID    uuid.UUID `bun:"tenant_id,pk"`
	PortfolioID uuid.UUID `bun:"portfolio_id,pk"`
	ContactID   uuid.UUID `bun:"contact_id,pk"`
	AddedAt     time.Time `bun:"added_at"`
}

// Service holds the portfolio rules.
type Service struct {
	db    *store.DB
	clock clock.Clock
}

// NewService returns a Service on db.
func NewService(db *store.DB, clk clock.Clock) *Service { return &Service{db: db, clock: clk} }

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Fields describes a portfolio to create, or (in a patch, nil fields kept) to change.
type Fields struct {
	Name     *string
	Type     *string
	OwnerIDs *[]uuid.UUID
}

// check validates the fields a portfolio ends up with.
func check(ctx context.Context, db bun.IDB, tenantID uuid.UUID, p *Portfolio, owners []uuid.UUID) error {
	var errs validate.Errors
	if p.Name = strings.TrimSpace(p.Name); p.Name == "" {
		errs.Add("name", "must not be blank")
	}
	switch {
	case p.Type != TypeSingle && p.Type != TypeShared:
		errs.Add("type", "must be single or shared")
	case p.Type == TypeSingle && len(owners) != 1:
		errs.Add("owner_ids", "a single portfolio has exactly one owner")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	return checkUsers(ctx, db, tenantID, owners, "owner_ids")
}

func setOwners(ctx context.Context, db bun.IDB, tenantID, portfolioID uuid.UUID, owners []uuid.UUID) error {
	if _, err := db.NewDelete().Model((*owner)(nil)).Where("tenant_id = ? AND portfolio_id = ?", tenantID, portfolioID).Exec(ctx); err != nil {
		return fmt.Errorf("clear owners: %w", err)
	}
	if len(owners) == 0 {
		return nil
	}
	rows := make([]owner, len(owners))
	for i, id := range owners {
		rows[i] = owner{TenantID: tenantID, PortfolioID: portfolioID, UserID: id}
	}
	if _, err := db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("set owners: %w", err)
	}
	return nil
}

// Create stores a portfolio.
func (s *Service) Create(ctx context.Context, tenantID uuid.UUID, in Fields) (Portfolio, error) {
	now := s.clock.Now()
	p := Portfolio{TenantID: tenantID, ID: newID(), Type: TypeShared, Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Type != nil {
		p.Type = *in.Type
	}
	var owners []uuid.UUID
	if in.OwnerIDs != nil {
		owners = *in.OwnerIDs
	}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := check(ctx, tx, tenantID, &p, owners); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&p).Exec(ctx); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrNameTaken
			}
			return fmt.Errorf("insert portfolio: %w", err)
		}
		return setOwners(ctx, tx, tenantID, p.ID, owners)
	})
	if err != nil {
		return Portfolio{}, err
	}
	return s.Get(ctx, tenantID, p.ID)
}

// Get returns one portfolio with its owners, member count and first members.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (Portfolio, error) {
	var p Portfolio
	if err := s.db.NewSelect().Model(&p).Where("pf.tenant_id = ? AND pf.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Portfolio{}, notFound(err)
	}
	out := []Portfolio{p}
	if err := s.load(ctx, tenantID, out); err != nil {
		return Portfolio{}, err
	}
	return out[0], nil
}

// List lists portfolios by creation, optionally those whose name contains q.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, q *string, page store.Page) ([]Portfolio, string, error) {
	var out []Portfolio
	query := s.db.NewSelect().Model(&out).Where("pf.tenant_id = ?", tenantID)
	if q != nil && strings.TrimSpace(*q) != "" {
		query = query.Where("lower(pf.name) LIKE ?", "%"+strings.ToLower(strings.TrimSpace(*q))+"%")
	}
	if err := page.Apply(query, "pf.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list portfolios: %w", err)
	}
	out, next := store.Trim(page, out, func(p Portfolio) uuid.UUID { return p.ID })
	return out, next, s.load(ctx, tenantID, out)
}

// load sets owners, member counts and the first members of portfolios of one tenant.
func (s *Service) load(ctx context.Context, tenantID uuid.UUID, ps []Portfolio) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ps))
	at := map[uuid.UUID]*Portfolio{}
	for i := range ps {
		ids[i] = ps[i].ID
		at[ps[i].ID] = &ps[i]
		ps[i].OwnerIDs, ps[i].Members = []uuid.UUID{}, []Member{}
	}
	var owners []owner
	if err := s.db.NewSelect().Model(&owners).Where("po.tenant_id = ? AND po.portfolio_id IN (?)", tenantID, bun.In(ids)).
		Order("po.user_id").Scan(ctx); err != nil {
		return fmt.Errorf("owners of portfolios: %w", err)
	}
	for _, o := range owners {
		at[o.PortfolioID].OwnerIDs = append(at[o.PortfolioID].OwnerIDs, o.UserID)
	}
	var counts []struct {
		PortfolioID uuid.UUID `bun:"portfolio_id"`
		N           int       `bun:"n"`
	}
	err := s.db.NewSelect().TableExpr("portfolio_contacts AS pc").
		Join("JOIN contacts AS ct ON ct.tenant_id = pc.tenant_id AND ct.id = pc.contact_id AND ct.deleted_at IS NULL").
		ColumnExpr("pc.portfolio_id, count(*) AS n").Where("pc.tenant_id = ? AND pc.portfolio_id IN (?)", tenantID, bun.In(ids)).
		Group("pc.portfolio_id").Scan(ctx, &counts)
	if err != nil {
		return fmt.Errorf("count members: %w", err)
	}
	for _, c := range counts {
		at[c.PortfolioID].MemberCount = c.N
	}
	members, err := s.previews(ctx, tenantID, ids, Preview)
	if err != nil {
		return err
	}
	for _, m := range members {
		at[m.PortfolioID].Members = append(at[m.PortfolioID].Members, m)
	}
	return nil
}

// Update changes a portfolio if it is still at version ifVersion (when given).
func (s *Service) Update(ctx context.Context, tenantID, id uuid.UUID, in Fields, ifVersion *int64) (Portfolio, error) {
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var p Portfolio
		if err := tx.NewSelect().Model(&p).Where("pf.tenant_id = ? AND pf.id = ?", tenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != p.Version {
			return ErrStale
		}
		var owners []uuid.UUID
		if in.OwnerIDs != nil {
			owners = *in.OwnerIDs
		} else if err := tx.NewSelect().Model((*owner)(nil)).Column("user_id").
			Where("tenant_id = ? AND portfolio_id = ?", tenantID, id).Scan(ctx, &owners); err != nil {
			return fmt.Errorf("owners of portfolio: %w", err)
		}
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.Type != nil {
			p.Type = *in.Type
		}
		if err := check(ctx, tx, tenantID, &p, owners); err != nil {
			return err
		}
		expected := p.Version
		p.Version++
		p.UpdatedAt = s.clock.Now()
		res, err := tx.NewUpdate().Model(&p).WherePK().Where("version = ?", expected).Exec(ctx)
		if err != nil {
			if store.IsUniqueViolation(err) {
				return ErrNameTaken
			}
			return fmt.Errorf("update portfolio: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		if in.OwnerIDs != nil {
			return setOwners(ctx, tx, tenantID, id, owners)
		}
		return nil
	})
	if err != nil {
		return Portfolio{}, err
	}
	return s.Get(ctx, tenantID, id)
}

// Delete deletes a portfolio and its memberships; the contacts stay.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	n, err := s.BulkDelete(ctx, tenantID, []uuid.UUID{id})
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// BulkDelete deletes the tenant's portfolios among ids, with their memberships, in one transaction; other
// ids are ignored. It returns how many it deleted.
func (s *Service) BulkDelete(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		for _, table := range []string{"portfolio_contacts", "portfolio_owners"} {
			if _, err := tx.NewDelete().TableExpr(table).Where("tenant_id = ? AND portfolio_id IN (?)", tenantID, bun.In(ids)).Exec(ctx); err != nil {
				return fmt.Errorf("delete from %s: %w", table, err)
			}
		}
		res, err := tx.NewDelete().Model((*Portfolio)(nil)).Where("tenant_id = ? AND id IN (?)", tenantID, bun.In(ids)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete portfolios: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
