// Package routing decides who attends a new WhatsApp conversation. A conversation enters the team Plinx
// names, or the tenant's default team. With portfolio routing on and a team that distributes by portfolio,
// a known contact's conversation is offered to the owners of its portfolios — it waits on their waiting
// lists — and goes to the team's round robin when nobody owns the contact, every owner is away (if the team
// says so) or the overflow time passes. Otherwise the team's round robin assigns it to the next available
// member; with nobody available it queues in the team until someone is. Agents take conversations from
// their waiting lists; admins and supervisors assign any. Every decision is recorded with its reason.
package routing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/crm"
	"github.com/atende/atende/internal/portfolio"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// Decision kinds: what happened.
const (
	// KindOffered put the conversation on an owner's waiting list.
	KindOffered = "offered"
	// KindAssigned gave it to an agent by the team's round robin.
	KindAssigned = "assigned"
	// KindQueued left it waiting in the team: no member was available.
	KindQueued = "queued"
	// KindTaken is an agent taking it from its waiting list.
	KindTaken = "taken"
	// KindManual is an admin or supervisor assigning it.
	KindManual = "manual"
	// KindUnrouted means there was no team to route it to.
	KindUnrouted = "unrouted"
)

// Decision reasons: why.
const (
	ReasonPortfolioOwner = "portfolio_owner"
	ReasonNewNumber      = "new_number"
	ReasonNoPortfolio    = "no_portfolio"
	ReasonOwnersAway     = "owners_away"
	ReasonOverflow       = "overflow"
	ReasonRoundRobinTeam = "round_robin_team"
	ReasonRoutingOff     = "routing_off"
	ReasonNoTeam         = "no_team"
	ReasonWaitingList    = "waiting_list"
	ReasonSupervisor     = "supervisor"
)

// Errors of the package; the API maps them to problems.
var (
	// ErrNotOnList means an agent tried to take a conversation that is not waiting for it.
	ErrNotOnList = errors.New("the conversation is not on your waiting list")
	// ErrNotSelf means an agent asked for another agent's waiting list, or to assign to someone else.
	ErrNotSelf = errors.New("an agent may only take conversations for itself and see its own waiting list")
	// ErrTaken means another agent has the conversation.
	ErrTaken = errors.New("another agent already has the conversation")
	// ErrClosed means the conversation is closed.
	ErrClosed = errors.New("the conversation is closed")
)

// Decision is one routing decision about a conversation, with who it names and why.
type Decision struct {
	bun.BaseModel `bun:"table:routing_decisions,alias:rd"`

	TenantID       uuid.UUID  `bun:"tenant_id,pk"`
	ID             uuid.UUID  `bun:"id,pk"`
	ConversationID uuid.UUID  `bun:"conversation_id"`
	Kind           string     `bun:"kind"`
	Reason         string     `bun:"reason"`
	Detail         string     `bun:"detail"`
	AgentID        *uuid.UUID `bun:"agent_id"`
	TeamID         *uuid.UUID `bun:"team_id"`
	PortfolioID    *uuid.UUID `bun:"portfolio_id"`
	ActorID        *uuid.UUID `bun:"actor_id"`
	CreatedAt      time.Time  `bun:"created_at"`
}

type offer struct {
	bun.BaseModel `bun:"table:conversation_offers,alias:co"`

	TenantID       uuid.UUID `bun:"tenant_id,pk"`
	ConversationID uuid.UUID `bun:"conversation_id,pk"`
	UserID         uuid.UUID `bun:"user_id,pk"`
	OfferedAt      time.Time `bun:"offered_at"`
}

// Router routes conversations.
type Router struct {
	db      *store.DB
	convs   *conversation.Service
	clock   clock.Clock
	logger  *slog.Logger
	metrics *Metrics
}

// Deps are what a Router needs.
type Deps struct {
	DB            *store.DB
	Conversations *conversation.Service
	Clock         clock.Clock
	Logger        *slog.Logger
	Metrics       *Metrics
}

// New returns a Router and registers it to route every new conversation.
func New(d Deps) *Router {
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	r := &Router{db: d.DB, convs: d.Conversations, clock: d.Clock, logger: d.Logger, metrics: d.Metrics}
	d.Conversations.OnCreated(r.Route)
	return r
}

// Route decides, inside the transaction that stores a new open conversation, where it goes.
func (r *Router) Route(ctx context.Context, tx bun.Tx, c *conversation.Conversation, a conversation.Arrival) error {
	now := r.clock.Now()
	t, err := tenant.TenantIn(ctx, tx, c.TenantID)
	if err != nil {
		return err
	}
	team, note, err := teamFor(ctx, tx, r.db.Kind, c.TenantID, a.Team)
	if err != nil {
		return err
	}
	if team == nil {
		c.Routing = ptr(conversation.RoutingUnrouted)
		d := r.decision(c, KindUnrouted, ReasonNoTeam, note+"the tenant has no default team; an admin or supervisor assigns it", now)
		return r.save(ctx, tx, c, false, []Decision{d})
	}
	c.TeamID = &team.ID
	switch {
	case !t.Features.PortfolioRouting:
		return r.toTeam(ctx, tx, c, team, ReasonRoutingOff, note+"portfolio routing is off for the tenant", now, false)
	case team.Distribution == portfolio.DistributionRoundRobin:
		return r.toTeam(ctx, tx, c, team, ReasonRoundRobinTeam, note+"team "+quote(team.Name)+" distributes by round robin", now, false)
	}
	var contacts []uuid.UUID
	for _, rec := range a.Records {
		if rec.Type == crm.RecordContact {
			contacts = append(contacts, rec.ID)
		}
	}
	if len(a.Records) == 0 {
		return r.toTeam(ctx, tx, c, team, ReasonNewNumber, note+"no record has the number", now, false)
	}
	owners, err := ownersOf(ctx, tx, c.TenantID, team.ID, contacts)
	if err != nil {
		return err
	}
	if len(owners) == 0 {
		return r.toTeam(ctx, tx, c, team, ReasonNoPortfolio,
			note+"the contact is in no portfolio owned by a member of team "+quote(team.Name), now, false)
	}
	var available []owner
	for _, o := range owners {
		if o.Availability == portfolio.Available {
			available = append(available, o)
		}
	}
	offerTo := owners
	if team.OwnersAway == portfolio.OwnersAwayOverflow {
		if len(available) == 0 {
			return r.toTeam(ctx, tx, c, team, ReasonOwnersAway, note+"every owner of the contact's portfolios is away", now, false)
		}
		offerTo = available
	}
	overflow := now.Add(time.Duration(team.OverflowSeconds) * time.Second)
	c.Routing, c.OverflowAt = ptr(conversation.RoutingOffered), &overflow
	offers := make([]offer, 0, len(offerTo))
	decisions := make([]Decision, 0, len(offerTo))
	for _, o := range offerTo {
		offers = append(offers, offer{TenantID: c.TenantID, ConversationID: c.ID, UserID: o.UserID, OfferedAt: now})
		d := r.decision(c, KindOffered, ReasonPortfolioOwner, note+o.Name+" owns "+o.portfolios()+" of the contact", now)
		d.AgentID, d.TeamID, d.PortfolioID = &o.UserID, &team.ID, &o.PortfolioIDs[0]
		decisions = append(decisions, d)
	}
	if _, err := tx.NewInsert().Model(&offers).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("offer conversation: %w", err)
	}
	return r.save(ctx, tx, c, false, decisions)
}

// toTeam gives the conversation to the team's next available member, or queues it in the team.
func (r *Router) toTeam(ctx context.Context, tx bun.Tx, c *conversation.Conversation, team *portfolio.Team, reason, why string, now time.Time, bump bool) error {
	agent, err := nextAgent(ctx, tx, r.db.Kind, c.TenantID, team.ID, true)
	if err != nil {
		return err
	}
	return r.give(ctx, tx, c, team, agent, reason, why, now, bump)
}

// give assigns the conversation to agent in the team, or queues it there when agent is nil, and records why.
func (r *Router) give(ctx context.Context, tx bun.Tx, c *conversation.Conversation, team *portfolio.Team, agent *member, reason, why string, now time.Time, bump bool) error {
	c.TeamID, c.OverflowAt = &team.ID, nil
	var d Decision
	if agent == nil {
		c.Routing = ptr(conversation.RoutingQueued)
		d = r.decision(c, KindQueued, reason, why+"; no member of team "+quote(team.Name)+" is available, so it waits in the team", now)
	} else {
		c.Routing, c.AssignedTo, c.AssignedAt = ptr(conversation.RoutingAssigned), &agent.ID, &now
		d = r.decision(c, KindAssigned, reason, why+"; "+agent.Name+" is the next available member of team "+quote(team.Name), now)
		d.AgentID = &agent.ID
	}
	d.TeamID = &team.ID
	return r.save(ctx, tx, c, bump, []Decision{d})
}

// save writes the conversation's routing fields (a new version when bump) and the decisions.
func (r *Router) save(ctx context.Context, tx bun.Tx, c *conversation.Conversation, bump bool, decisions []Decision) error {
	if bump {
		c.Version++
		c.UpdatedAt = r.clock.Now()
	}
	_, err := tx.NewUpdate().Model(c).Column("team_id", "routing", "overflow_at", "assigned_to", "assigned_at", "version", "updated_at").
		Where("cv.tenant_id = ? AND cv.id = ?", c.TenantID, c.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("route conversation: %w", err)
	}
	if len(decisions) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&decisions).Exec(ctx); err != nil {
		return fmt.Errorf("record routing decision: %w", err)
	}
	for _, d := range decisions {
		r.metrics.decided(d.Kind, d.Reason)
	}
	return nil
}

func (r *Router) decision(c *conversation.Conversation, kind, reason, detail string, now time.Time) Decision {
	first, size := utf8.DecodeRuneInString(detail)
	detail = string(unicode.ToUpper(first)) + detail[size:] + "."
	return Decision{TenantID: c.TenantID, ID: uuid.Must(uuid.NewV7()), ConversationID: c.ID, Kind: kind, Reason: reason,
		Detail: detail, CreatedAt: now}
}

// teamFor finds the team Plinx named (by name, case ignored) or else the tenant's default team; note
// explains a name that matched no team.
func teamFor(ctx context.Context, db bun.IDB, kind store.Dialect, tenantID uuid.UUID, name *string) (*portfolio.Team, string, error) {
	// The team row is share-locked until the conversation commits, so a team deleted meanwhile waits and
	// then finds the conversation to release.
	lock := func(q *bun.SelectQuery) *bun.SelectQuery { return store.Lock(kind, q, "SHARE") }
	var note string
	if name != nil && strings.TrimSpace(*name) != "" {
		var tm portfolio.Team
		err := lock(db.NewSelect().Model(&tm).Where("tm.tenant_id = ? AND lower(tm.name) = lower(?)", tenantID, strings.TrimSpace(*name))).Scan(ctx)
		if err == nil {
			return &tm, "", nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, "", fmt.Errorf("team by name: %w", err)
		}
		note = "Plinx named team " + quote(*name) + ", which does not exist; "
	}
	var tm portfolio.Team
	err := lock(db.NewSelect().Model(&tm).Where("tm.tenant_id = ? AND tm.is_default", tenantID)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, note, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("default team: %w", err)
	}
	return &tm, note, nil
}

// owner is an owner of some of a contact's portfolios.
type owner struct {
	UserID         uuid.UUID
	Name           string
	Availability   string
	PortfolioIDs   []uuid.UUID
	PortfolioNames []string
}

func (o owner) portfolios() string {
	names := make([]string, len(o.PortfolioNames))
	for i, n := range o.PortfolioNames {
		names[i] = quote(n)
	}
	if len(names) == 1 {
		return "portfolio " + names[0]
	}
	return "portfolios " + strings.Join(names, ", ")
}

// ownersOf lists the active owners of the contacts' portfolios who are members of the team, by name: the
// conversation was directed to the team, so owners elsewhere do not get it.
func ownersOf(ctx context.Context, db bun.IDB, tenantID, teamID uuid.UUID, contacts []uuid.UUID) ([]owner, error) {
	if len(contacts) == 0 {
		return nil, nil
	}
	var rows []struct {
		UserID        uuid.UUID `bun:"user_id"`
		Name          string    `bun:"name"`
		Availability  string    `bun:"availability"`
		PortfolioID   uuid.UUID `bun:"portfolio_id"`
		PortfolioName string    `bun:"portfolio_name"`
	}
	err := db.NewSelect().TableExpr("portfolio_contacts AS pc").
		ColumnExpr("DISTINCT u.id AS user_id, u.name, u.availability, pf.id AS portfolio_id, pf.name AS portfolio_name").
		Join("JOIN portfolios AS pf ON pf.tenant_id = pc.tenant_id AND pf.id = pc.portfolio_id").
		Join("JOIN portfolio_owners AS po ON po.tenant_id = pc.tenant_id AND po.portfolio_id = pc.portfolio_id").
		Join("JOIN users AS u ON u.tenant_id = po.tenant_id AND u.id = po.user_id").
		Join("JOIN team_members AS tmm ON tmm.tenant_id = po.tenant_id AND tmm.user_id = po.user_id AND tmm.team_id = ?", teamID).
		Where("pc.tenant_id = ? AND pc.contact_id IN (?) AND u.status = ?", tenantID, bun.In(contacts), tenant.UserActive).
		OrderExpr("u.name, u.id, pf.name").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("owners of the contact's portfolios: %w", err)
	}
	var out []owner
	for _, row := range rows {
		if len(out) == 0 || out[len(out)-1].UserID != row.UserID {
			out = append(out, owner{UserID: row.UserID, Name: row.Name, Availability: row.Availability})
		}
		o := &out[len(out)-1]
		o.PortfolioIDs = append(o.PortfolioIDs, row.PortfolioID)
		o.PortfolioNames = append(o.PortfolioNames, row.PortfolioName)
	}
	return out, nil
}

type member struct {
	ID   uuid.UUID `bun:"user_id"`
	Name string    `bun:"name"`
}

// errBusy means every available member of the team is being assigned a conversation by another transaction.
var errBusy = errors.New("every available member is being assigned a conversation")

// nextAgent gives the team's next turn to the available member whose last turn is the oldest, or returns
// nil when no member is available. On PostgreSQL the chosen member's row stays locked until commit and
// concurrent assignments skip it, so they spread over the team without waiting on each other (turns come
// from a sequence); when all are taken it waits for one, or answers errBusy unless wait. SQLite's single
// writer needs none of this.
func nextAgent(ctx context.Context, tx bun.Tx, kind store.Dialect, tenantID, teamID uuid.UUID, wait bool) (*member, error) {
	pick := func(lock string) ([]member, error) {
		var found []member
		q := tx.NewSelect().TableExpr("team_members AS tmm").ColumnExpr("tmm.user_id, u.name").
			Join("JOIN users AS u ON u.tenant_id = tmm.tenant_id AND u.id = tmm.user_id").
			Where("tmm.tenant_id = ? AND tmm.team_id = ?", tenantID, teamID).
			Where("u.availability = ? AND u.status = ? AND u.role <> ?", portfolio.Available, tenant.UserActive, tenant.RoleIntegration).
			OrderExpr("tmm.last_turn, tmm.user_id").Limit(1)
		if lock != "" {
			q = q.For(lock)
		}
		if err := q.Scan(ctx, &found); err != nil {
			return nil, fmt.Errorf("next member of the team: %w", err)
		}
		return found, nil
	}
	turn := "(SELECT COALESCE(MAX(last_turn), 0) + 1 FROM team_members WHERE tenant_id = tmm.tenant_id AND team_id = tmm.team_id)"
	var found []member
	var err error
	if kind == store.Postgres {
		turn = "nextval('routing_turns')"
		if found, err = pick("UPDATE OF tmm SKIP LOCKED"); err == nil && len(found) == 0 {
			// Every available member, if any, is being assigned something right now: wait for one, or
			// report it to a caller that holds other members and must not wait.
			if wait {
				found, err = pick("UPDATE OF tmm")
			} else if found, err = pick(""); err == nil && len(found) > 0 {
				return nil, errBusy
			}
		}
	} else {
		found, err = pick("")
	}
	if err != nil || len(found) == 0 {
		return nil, err
	}
	_, err = tx.NewUpdate().TableExpr("team_members AS tmm").Set("last_turn = "+turn).
		Where("tmm.tenant_id = ? AND tmm.team_id = ? AND tmm.user_id = ?", tenantID, teamID, found[0].ID).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("record the member's turn: %w", err)
	}
	return &found[0], nil
}

func quote(s string) string { return "«" + s + "»" }

func ptr[T any](v T) *T { return &v }
