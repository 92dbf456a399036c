package routing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/conversation"
	"github.com/atende/atende/internal/portfolio"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Assign gives a conversation to agentID (the caller when nil). An agent takes, for itself only, a
// conversation on its waiting list: offered to it, or queued in one of its teams. Admins and supervisors
// assign any open conversation to any active user, also moving it from one agent to another. Assigning a
// conversation to whoever has it already changes nothing.
func (r *Router) Assign(ctx context.Context, actor tenant.Actor, id uuid.UUID, agentID *uuid.UUID) (conversation.Conversation, error) {
	target := actor.UserID
	if agentID != nil {
		target = *agentID
	}
	agent := actor.Role == tenant.RoleAgent
	err := store.RunInTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		c, err := r.lock(ctx, tx, actor.TenantID, id)
		if err != nil {
			return err
		}
		if agent && target != actor.UserID {
			return ErrNotSelf
		}
		if c.Status != conversation.StatusOpen {
			return ErrClosed
		}
		if c.AssignedTo != nil && *c.AssignedTo == target {
			return nil
		}
		now := r.clock.Now()
		name, err := assignee(ctx, tx, actor.TenantID, target)
		if err != nil {
			return err
		}
		var d Decision
		if agent {
			if c.AssignedTo != nil {
				return ErrTaken
			}
			on, err := onList(ctx, tx, c, actor.UserID)
			if err != nil {
				return err
			}
			if !on {
				return ErrNotOnList
			}
			d = r.decision(c, KindTaken, ReasonWaitingList, name+" took it from the waiting list", now)
		} else {
			by, err := assignee(ctx, tx, actor.TenantID, actor.UserID)
			if err != nil {
				return err
			}
			d = r.decision(c, KindManual, ReasonSupervisor, by+" assigned it to "+name, now)
		}
		d.AgentID, d.TeamID, d.ActorID = &target, c.TeamID, &actor.UserID
		c.AssignedTo, c.AssignedAt = &target, &now
		c.Routing, c.OverflowAt = ptr(conversation.RoutingAssigned), nil
		if _, err := tx.NewDelete().Model((*offer)(nil)).Where("tenant_id = ? AND conversation_id = ?", c.TenantID, c.ID).Exec(ctx); err != nil {
			return fmt.Errorf("withdraw offers: %w", err)
		}
		return r.save(ctx, tx, c, true, []Decision{d})
	})
	if err != nil {
		return conversation.Conversation{}, err
	}
	return r.convs.Conversation(ctx, actor.TenantID, id)
}

// lock reads a conversation, locking its row on PostgreSQL (SQLite has one writer).
func (r *Router) lock(ctx context.Context, tx bun.Tx, tenantID, id uuid.UUID) (*conversation.Conversation, error) {
	var c conversation.Conversation
	q := tx.NewSelect().Model(&c).Where("cv.tenant_id = ? AND cv.id = ?", tenantID, id)
	if r.db.Kind == store.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, conversation.ErrNotFound
		}
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	return &c, nil
}

// onList reports whether the conversation waits for the user: offered to it, or queued in its team.
func onList(ctx context.Context, db bun.IDB, c *conversation.Conversation, userID uuid.UUID) (bool, error) {
	if !c.Waiting() {
		return false, nil
	}
	if *c.Routing == conversation.RoutingOffered {
		return db.NewSelect().Model((*offer)(nil)).
			Where("tenant_id = ? AND conversation_id = ? AND user_id = ?", c.TenantID, c.ID, userID).Exists(ctx)
	}
	if c.TeamID == nil {
		return false, nil
	}
	return db.NewSelect().Table("team_members").
		Where("tenant_id = ? AND team_id = ? AND user_id = ?", c.TenantID, *c.TeamID, userID).Exists(ctx)
}

// assignee checks that a conversation can be assigned to the user and returns its name.
func assignee(ctx context.Context, db bun.IDB, tenantID, userID uuid.UUID) (string, error) {
	var u tenant.User
	err := db.NewSelect().Model(&u).Where("u.tenant_id = ? AND u.id = ?", tenantID, userID).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", validate.Field("agent_id", "no such user")
	case err != nil:
		return "", fmt.Errorf("read agent: %w", err)
	case u.Status != tenant.UserActive:
		return "", validate.Field("agent_id", "the user is disabled")
	case u.Role == tenant.RoleIntegration:
		return "", validate.Field("agent_id", "an integration cannot attend conversations")
	}
	return u.Name, nil
}

// Waiting pages through the open conversations waiting for an agent, oldest first: those offered to it as
// an owner of the contact's portfolios and those queued in its teams. An agent sees only its own list.
func (r *Router) Waiting(ctx context.Context, actor tenant.Actor, agentID uuid.UUID, p store.Page) ([]conversation.Conversation, string, error) {
	exists, err := r.db.NewSelect().Model((*tenant.User)(nil)).Where("tenant_id = ? AND id = ?", actor.TenantID, agentID).Exists(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("find agent: %w", err)
	}
	if !exists {
		return nil, "", conversation.ErrNotFound
	}
	if actor.Role == tenant.RoleAgent && actor.UserID != agentID {
		return nil, "", ErrNotSelf
	}
	p.Desc = false
	return r.convs.List(ctx, actor.TenantID, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("cv.status = ?", conversation.StatusOpen).WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("cv.routing = ? AND EXISTS (SELECT 1 FROM conversation_offers AS co "+
				"WHERE co.tenant_id = cv.tenant_id AND co.conversation_id = cv.id AND co.user_id = ?)", conversation.RoutingOffered, agentID).
				WhereOr("cv.routing = ? AND cv.team_id IN (SELECT tmm.team_id FROM team_members AS tmm "+
					"WHERE tmm.tenant_id = cv.tenant_id AND tmm.user_id = ?)", conversation.RoutingQueued, agentID)
		})
	}, p)
}

// Decisions lists a conversation's routing decisions, oldest first.
func (r *Router) Decisions(ctx context.Context, tenantID, id uuid.UUID) ([]Decision, error) {
	exists, err := r.db.NewSelect().Model((*conversation.Conversation)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exists(ctx)
	if err != nil {
		return nil, fmt.Errorf("find conversation: %w", err)
	}
	if !exists {
		return nil, conversation.ErrNotFound
	}
	out := []Decision{}
	err = r.db.NewSelect().Model(&out).Where("rd.tenant_id = ? AND rd.conversation_id = ?", tenantID, id).
		Order("rd.created_at", "rd.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list routing decisions: %w", err)
	}
	return out, nil
}

// sweepBatch bounds how many conversations one pass moves.
const sweepBatch = 100

// RunOnce makes one pass: offered conversations whose overflow time passed go to their team's round robin,
// and queued conversations go to members who became available. It returns how many conversations moved.
// Each conversation moves in its own transaction, skipping rows another process holds.
func (r *Router) RunOnce(ctx context.Context) (int, error) {
	now := r.clock.Now()
	moved := 0
	var due []uuid.UUID
	var tenants []uuid.UUID
	err := r.db.NewSelect().Model((*conversation.Conversation)(nil)).Column("cv.tenant_id", "cv.id").
		Where("cv.routing = ? AND cv.overflow_at <= ?", conversation.RoutingOffered, now).
		Order("cv.overflow_at").Limit(sweepBatch).Scan(ctx, &tenants, &due)
	if err != nil {
		return 0, fmt.Errorf("find overflowing conversations: %w", err)
	}
	for i, id := range due {
		ok, err := r.overflow(ctx, tenants[i], id)
		if err != nil {
			return moved, err
		}
		if ok {
			moved++
		}
	}
	n, err := r.dequeue(ctx)
	return moved + n, err
}

// overflow sends one offered conversation whose overflow time passed to its team.
func (r *Router) overflow(ctx context.Context, tenantID, id uuid.UUID) (bool, error) {
	moved := false
	err := store.RunInTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		c, err := r.claim(ctx, tx, tenantID, id)
		if err != nil || c == nil {
			return err
		}
		now := r.clock.Now()
		if *c.Routing != conversation.RoutingOffered || c.OverflowAt == nil || c.OverflowAt.After(now) {
			return nil
		}
		if _, err := tx.NewDelete().Model((*offer)(nil)).Where("tenant_id = ? AND conversation_id = ?", tenantID, id).Exec(ctx); err != nil {
			return fmt.Errorf("withdraw offers: %w", err)
		}
		moved = true
		waited := now.Sub(*c.OverflowAt).Truncate(time.Second)
		if c.TeamID == nil {
			c.Routing, c.OverflowAt = ptr(conversation.RoutingUnrouted), nil
			return r.save(ctx, tx, c, true, []Decision{r.decision(c, KindUnrouted, ReasonNoTeam,
				"no portfolio owner took it and its team no longer exists; an admin or supervisor assigns it", now)})
		}
		team, err := teamByID(ctx, tx, tenantID, *c.TeamID)
		if err != nil {
			return err
		}
		why := "no portfolio owner took it within the overflow time"
		if waited > 0 {
			why += fmt.Sprintf(" (%s late)", waited)
		}
		return r.toTeam(ctx, tx, c, team, ReasonOverflow, why, now, true)
	})
	return moved, err
}

// claim reads an open waiting conversation for a sweep, skipping it (nil) when another process holds it.
func (r *Router) claim(ctx context.Context, tx bun.Tx, tenantID, id uuid.UUID) (*conversation.Conversation, error) {
	var cs []conversation.Conversation
	q := tx.NewSelect().Model(&cs).Where("cv.tenant_id = ? AND cv.id = ?", tenantID, id)
	if r.db.Kind == store.Postgres {
		q = q.For("UPDATE SKIP LOCKED")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("claim conversation: %w", err)
	}
	if len(cs) == 0 || !cs[0].Waiting() {
		return nil, nil
	}
	return &cs[0], nil
}

// dequeue assigns queued conversations, oldest first, to team members who are available now.
func (r *Router) dequeue(ctx context.Context) (int, error) {
	var queued []conversation.Conversation
	err := r.db.NewSelect().Model(&queued).Column("cv.tenant_id", "cv.id", "cv.team_id").
		Where("cv.routing = ? AND cv.status = ?", conversation.RoutingQueued, conversation.StatusOpen).
		Where("EXISTS (SELECT 1 FROM team_members AS tmm JOIN users AS u ON u.tenant_id = tmm.tenant_id AND u.id = tmm.user_id "+
			"WHERE tmm.tenant_id = cv.tenant_id AND tmm.team_id = cv.team_id AND u.availability = ? AND u.status = ?)",
			portfolio.Available, tenant.UserActive).
		Order("cv.id").Limit(sweepBatch).Scan(ctx)
	if err != nil {
		return 0, fmt.Errorf("find queued conversations: %w", err)
	}
	full := map[uuid.UUID]bool{}
	moved := 0
	for _, q := range queued {
		if full[*q.TeamID] {
			continue
		}
		assigned, err := r.assignQueued(ctx, q.TenantID, q.ID)
		if err != nil {
			return moved, err
		}
		if assigned {
			moved++
		} else {
			full[*q.TeamID] = true
		}
	}
	return moved, nil
}

// assignQueued gives one queued conversation to its team's next available member; it reports false when
// nobody is available.
func (r *Router) assignQueued(ctx context.Context, tenantID, id uuid.UUID) (bool, error) {
	assigned := false
	err := store.RunInTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		c, err := r.claim(ctx, tx, tenantID, id)
		if err != nil || c == nil || *c.Routing != conversation.RoutingQueued || c.TeamID == nil {
			return err
		}
		team, err := teamByID(ctx, tx, tenantID, *c.TeamID)
		if err != nil {
			return err
		}
		agent, err := nextAgent(ctx, tx, tenantID, team.ID)
		if err != nil || agent == nil {
			return err
		}
		reason := ReasonRoundRobinTeam
		var last []string
		err = tx.NewSelect().Model((*Decision)(nil)).Column("reason").
			Where("tenant_id = ? AND conversation_id = ? AND kind = ?", tenantID, id, KindQueued).
			Order("created_at DESC", "id DESC").Limit(1).Scan(ctx, &last)
		if err != nil {
			return fmt.Errorf("why it was queued: %w", err)
		}
		if len(last) == 1 {
			reason = last[0]
		}
		now := r.clock.Now()
		c.Routing, c.AssignedTo, c.AssignedAt = ptr(conversation.RoutingAssigned), &agent.ID, &now
		d := r.decision(c, KindAssigned, reason, agent.Name+" became available and is the next member of team "+quote(team.Name), now)
		d.AgentID, d.TeamID = &agent.ID, &team.ID
		assigned = true
		return r.save(ctx, tx, c, true, []Decision{d})
	})
	return assigned, err
}

func teamByID(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (*portfolio.Team, error) {
	var tm portfolio.Team
	if err := db.NewSelect().Model(&tm).Where("tm.tenant_id = ? AND tm.id = ?", tenantID, id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read team: %w", err)
	}
	return &tm, nil
}

// Run sweeps every tick until ctx ends.
func (r *Router) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.logger.Error("route waiting conversations", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
