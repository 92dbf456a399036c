package portfolio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Distribution types of a team.
const (
	// DistributionRoundRobin offers a conversation to the team's available agents in turn.
	DistributionRoundRobin = "round_robin"
	// DistributionPortfolio offers a known contact's conversation to the owners of its portfolios first.
	DistributionPortfolio = "portfolio"
)

// Agent availability.
const (
	Available = "available"
	Away      = "away"
)

// What portfolio distribution does when every owner of the contact's portfolios is away.
const (
	// OwnersAwayWait keeps the conversation on the owners' waiting lists until the overflow time passes.
	OwnersAwayWait = "wait"
	// OwnersAwayOverflow gives it to the team at once.
	OwnersAwayOverflow = "overflow"
)

// DefaultOverflow is how long a conversation waits for its portfolio owners before the team gets it.
const DefaultOverflow = 300

// More errors of the package.
var (
	// ErrTeamNameTaken means the tenant has a team with that name.
	ErrTeamNameTaken = errors.New("a team with this name exists")
	// ErrNotSelf means an agent tried to change another agent.
	ErrNotSelf = errors.New("an agent may change only itself")
)

// Team is a group of agents and how conversations are distributed among them.
type Team struct {
	bun.BaseModel `bun:"table:teams,alias:tm"`

	TenantID        uuid.UUID `bun:"tenant_id,pk"`
	ID              uuid.UUID `bun:"id,pk"`
	Name            string    `bun:"name"`
	Distribution    string    `bun:"distribution"`
	OverflowSeconds int       `bun:"overflow_seconds"`
	// Default marks the team new conversations enter unless Plinx names another; one per tenant at most.
	Default bool `bun:"is_default"`
	// OwnersAway is OwnersAwayWait or OwnersAwayOverflow.
	OwnersAway string    `bun:"owners_away"`
	Version    int64     `bun:"version"`
	CreatedAt  time.Time `bun:"created_at"`
	UpdatedAt  time.Time `bun:"updated_at"`

	// MemberIDs are the team's users, when loaded.
	MemberIDs []uuid.UUID `bun:"-"`
}

type teamMember struct {
	bun.BaseModel `bun:"table:team_members,alias:tmm"`

	TenantID uuid.UUID `bun:"tenant_id,pk"`
	TeamID   uuid.UUID `bun:"team_id,pk"`
	UserID   uuid.UUID `bun:"user_id,pk"`
}

// TeamFields describes a team to create, or (in a patch, nil fields kept) to change.
type TeamFields struct {
	Name            *string
	Distribution    *string
	OverflowSeconds *int
	Default         *bool
	OwnersAway      *string
	MemberIDs       *[]uuid.UUID
}

func checkTeam(ctx context.Context, db bun.IDB, tm *Team, members []uuid.UUID) error {
	var errs validate.Errors
	if tm.Name = strings.TrimSpace(tm.Name); tm.Name == "" {
		errs.Add("name", "must not be blank")
	}
	if tm.Distribution != DistributionRoundRobin && tm.Distribution != DistributionPortfolio {
		errs.Add("distribution", "must be round_robin or portfolio")
	}
	if tm.OverflowSeconds < 0 {
		errs.Add("overflow_seconds", "must not be negative")
	}
	if tm.OwnersAway != OwnersAwayWait && tm.OwnersAway != OwnersAwayOverflow {
		errs.Add("owners_away", "must be wait or overflow")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	return checkUsers(ctx, db, tm.TenantID, members, "member_ids")
}

// checkUsers requires every id to be a user of the tenant, naming field.N otherwise.
func checkUsers(ctx context.Context, db bun.IDB, tenantID uuid.UUID, ids []uuid.UUID, field string) error {
	if len(ids) == 0 {
		return nil
	}
	var found []uuid.UUID
	if err := db.NewSelect().Table("users").Column("id").Where("tenant_id = ? AND id IN (?)", tenantID, bun.In(ids)).Scan(ctx, &found); err != nil {
		return fmt.Errorf("check users: %w", err)
	}
	known := map[uuid.UUID]bool{}
	for _, id := range found {
		known[id] = true
	}
	var errs validate.Errors
	for i, id := range ids {
		if !known[id] {
			errs.Add(fmt.Sprintf("%s.%d", field, i), "no such user")
		}
	}
	return errs.Err()
}

func setMembers(ctx context.Context, db bun.IDB, tenantID, teamID uuid.UUID, members []uuid.UUID) error {
	if _, err := db.NewDelete().Model((*teamMember)(nil)).Where("tenant_id = ? AND team_id = ?", tenantID, teamID).Exec(ctx); err != nil {
		return fmt.Errorf("clear team members: %w", err)
	}
	if len(members) == 0 {
		return nil
	}
	rows := make([]teamMember, len(members))
	for i, id := range members {
		rows[i] = teamMember{TenantID: tenantID, TeamID: teamID, UserID: id}
	}
	if _, err := db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("set team members: %w", err)
	}
	return nil
}

// CreateTeam stores a team.
func (s *Service) CreateTeam(ctx context.Context, tenantID uuid.UUID, in TeamFields) (Team, error) {
	now := s.clock.Now()
	tm := Team{TenantID: tenantID, ID: newID(), Distribution: DistributionRoundRobin, OverflowSeconds: DefaultOverflow,
		OwnersAway: OwnersAwayWait, Version: 1, CreatedAt: now, UpdatedAt: now}
	applyTeam(&tm, in)
	var members []uuid.UUID
	if in.MemberIDs != nil {
		members = *in.MemberIDs
	}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := checkTeam(ctx, tx, &tm, members); err != nil {
			return err
		}
		if err := takeDefault(ctx, tx, &tm); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&tm).Exec(ctx); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrTeamNameTaken
			}
			return fmt.Errorf("insert team: %w", err)
		}
		return setMembers(ctx, tx, tenantID, tm.ID, members)
	})
	if err != nil {
		return Team{}, err
	}
	return s.Team(ctx, tenantID, tm.ID)
}

func applyTeam(tm *Team, in TeamFields) {
	if in.Name != nil {
		tm.Name = *in.Name
	}
	if in.Distribution != nil {
		tm.Distribution = *in.Distribution
	}
	if in.OverflowSeconds != nil {
		tm.OverflowSeconds = *in.OverflowSeconds
	}
	if in.Default != nil {
		tm.Default = *in.Default
	}
	if in.OwnersAway != nil {
		tm.OwnersAway = *in.OwnersAway
	}
}

// takeDefault makes tm the tenant's only default team when it is marked default.
func takeDefault(ctx context.Context, tx bun.Tx, tm *Team) error {
	if !tm.Default {
		return nil
	}
	_, err := tx.NewUpdate().Model((*Team)(nil)).Set("is_default = ?", false).
		Where("tenant_id = ? AND id <> ? AND is_default", tm.TenantID, tm.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("unset the default team: %w", err)
	}
	return nil
}

// Team returns one team with its members.
func (s *Service) Team(ctx context.Context, tenantID, id uuid.UUID) (Team, error) {
	var tm Team
	if err := s.db.NewSelect().Model(&tm).Where("tm.tenant_id = ? AND tm.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Team{}, notFound(err)
	}
	out := []Team{tm}
	if err := s.loadTeams(ctx, tenantID, out); err != nil {
		return Team{}, err
	}
	return out[0], nil
}

// Teams lists teams by creation.
func (s *Service) Teams(ctx context.Context, tenantID uuid.UUID, page store.Page) ([]Team, string, error) {
	var out []Team
	if err := page.Apply(s.db.NewSelect().Model(&out).Where("tm.tenant_id = ?", tenantID), "tm.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list teams: %w", err)
	}
	out, next := store.Trim(page, out, func(t Team) uuid.UUID { return t.ID })
	return out, next, s.loadTeams(ctx, tenantID, out)
}

func (s *Service) loadTeams(ctx context.Context, tenantID uuid.UUID, tms []Team) error {
	if len(tms) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(tms))
	at := map[uuid.UUID]*Team{}
	for i := range tms {
		ids[i] = tms[i].ID
		at[tms[i].ID] = &tms[i]
		tms[i].MemberIDs = []uuid.UUID{}
	}
	var members []teamMember
	if err := s.db.NewSelect().Model(&members).Where("tmm.tenant_id = ? AND tmm.team_id IN (?)", tenantID, bun.In(ids)).
		Order("tmm.user_id").Scan(ctx); err != nil {
		return fmt.Errorf("members of teams: %w", err)
	}
	for _, m := range members {
		at[m.TeamID].MemberIDs = append(at[m.TeamID].MemberIDs, m.UserID)
	}
	return nil
}

// UpdateTeam changes a team if it is still at version ifVersion (when given).
func (s *Service) UpdateTeam(ctx context.Context, tenantID, id uuid.UUID, in TeamFields, ifVersion *int64) (Team, error) {
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var tm Team
		if err := tx.NewSelect().Model(&tm).Where("tm.tenant_id = ? AND tm.id = ?", tenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != tm.Version {
			return ErrStale
		}
		applyTeam(&tm, in)
		var members []uuid.UUID
		if in.MemberIDs != nil {
			members = *in.MemberIDs
		}
		if err := checkTeam(ctx, tx, &tm, members); err != nil {
			return err
		}
		if err := takeDefault(ctx, tx, &tm); err != nil {
			return err
		}
		expected := tm.Version
		tm.Version++
		tm.UpdatedAt = s.clock.Now()
		res, err := tx.NewUpdate().Model(&tm).WherePK().Where("version = ?", expected).Exec(ctx)
		if err != nil {
			if store.IsUniqueViolation(err) {
				return ErrTeamNameTaken
			}
			return fmt.Errorf("update team: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		if in.MemberIDs != nil {
			return setMembers(ctx, tx, tenantID, id, members)
		}
		return nil
	})
	if err != nil {
		return Team{}, err
	}
	return s.Team(ctx, tenantID, id)
}

// DeleteTeam deletes a team; its agents stay. Conversations queued in it become unrouted (admins and
// supervisors assign them); conversations offered to portfolio owners stay on their waiting lists, with no
// team to overflow to.
func (s *Service) DeleteTeam(ctx context.Context, tenantID, id uuid.UUID) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		// Wait for conversations being routed into the team (they share-lock it) to commit, so that the
		// release below finds them too.
		lock := tx.NewSelect().Model((*Team)(nil)).Column("id").Where("tenant_id = ? AND id = ?", tenantID, id)
		if _, err := store.Lock(s.db.Kind, lock, "UPDATE").Exec(ctx); err != nil {
			return fmt.Errorf("lock team: %w", err)
		}
		if err := conversation.ReleaseTeam(ctx, tx, tenantID, id, s.clock.Now()); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*teamMember)(nil)).Where("tenant_id = ? AND team_id = ?", tenantID, id).Exec(ctx); err != nil {
			return fmt.Errorf("delete team members: %w", err)
		}
		res, err := tx.NewDelete().Model((*Team)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete team: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// Agent is a user as routing sees it: whether it takes conversations now, and its teams.
type Agent struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	TenantID     uuid.UUID   `bun:"tenant_id,pk"`
	ID           uuid.UUID   `bun:"id,pk"`
	Name         string      `bun:"name"`
	Role         tenant.Role `bun:"role"`
	Availability string      `bun:"availability"`
	UpdatedAt    time.Time   `bun:"updated_at"`

	// Teams are the agent's teams, when loaded.
	Teams []Team `bun:"-"`
}

// Agent returns a user of the tenant with its availability and teams.
func (s *Service) Agent(ctx context.Context, tenantID, id uuid.UUID) (Agent, error) {
	var a Agent
	if err := s.db.NewSelect().Model(&a).Where("u.tenant_id = ? AND u.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Agent{}, notFound(err)
	}
	a.Teams = []Team{}
	err := s.db.NewSelect().Model(&a.Teams).
		Join("JOIN team_members AS tmm ON tmm.tenant_id = tm.tenant_id AND tmm.team_id = tm.id").
		Where("tm.tenant_id = ? AND tmm.user_id = ?", tenantID, id).Order("tm.name").Scan(ctx)
	if err != nil {
		return Agent{}, fmt.Errorf("teams of agent: %w", err)
	}
	return a, nil
}

// SetAvailability marks an agent available or away; an agent may change only itself.
func (s *Service) SetAvailability(ctx context.Context, actor tenant.Actor, id uuid.UUID, availability string) (Agent, error) {
	if availability != Available && availability != Away {
		return Agent{}, validate.Field("availability", "must be available or away")
	}
	if actor.Role == tenant.RoleAgent && actor.UserID != id {
		if _, err := s.Agent(ctx, actor.TenantID, id); err != nil {
			return Agent{}, err
		}
		return Agent{}, ErrNotSelf
	}
	res, err := s.db.NewUpdate().Model((*Agent)(nil)).Set("availability = ?", availability).Set("updated_at = ?", s.clock.Now()).
		Where("tenant_id = ? AND id = ?", actor.TenantID, id).Exec(ctx)
	if err != nil {
		return Agent{}, fmt.Errorf("set availability: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Agent{}, ErrNotFound
	}
	return s.Agent(ctx, actor.TenantID, id)
}
