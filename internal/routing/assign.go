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
	q := store.Lock(r.db.Kind, tx.NewSelect().Model(&c).Where("cv.tenant_id = ? AND cv.id = ?", tenantID, id), "UPDATE")
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

// sweepBatch bounds how many conversations one transaction of a pass moves.
const sweepBatch = 100

// RunOnce makes one pass: offered conversations whose overflow time passed go to their team's round robin,
// and queued conversations go to members who became available. It returns how many conversations moved.
// Conversations another process holds are skipped, and left for the next pass.
func (r *Router) RunOnce(ctx context.Context) (int, error) {
	moved := 0
	for {
		n, full, err := r.overflow(ctx)
		moved += n
		if err != nil {
			return moved, err
		}
		if !full || n == 0 {
			break
		}
	}
	n, err := r.dequeue(ctx)
	return moved + n, err
}

// overflow sends a batch of offered conversations whose overflow time passed to their teams, in one
// transaction. It reports whether the batch was full (more may be due).
func (r *Router) overflow(ctx context.Context) (int, bool, error) {
	moved, full := 0, false
	err := store.RunInTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		moved = 0
		now := r.clock.Now()
		var due []conversation.Conversation
		q := tx.NewSelect().Model(&due).Where("cv.routing = ? AND cv.overflow_at <= ?", conversation.RoutingOffered, now).
			Order("cv.overflow_at", "cv.id").Limit(sweepBatch)
		if err := store.Lock(r.db.Kind, q, "UPDATE SKIP LOCKED").Scan(ctx); err != nil {
			return fmt.Errorf("claim overflowing conversations: %w", err)
		}
		full = len(due) == sweepBatch
		teams := map[uuid.UUID]*portfolio.Team{}
		for i := range due {
			c := &due[i]
			if c.TeamID == nil {
				if err := withdraw(ctx, tx, c); err != nil {
					return err
				}
				c.Routing, c.OverflowAt = ptr(conversation.RoutingUnrouted), nil
				if err := r.save(ctx, tx, c, true, []Decision{r.decision(c, KindUnrouted, ReasonNoTeam,
					"no portfolio owner took it and its team no longer exists; an admin or supervisor assigns it", now)}); err != nil {
					return err
				}
				moved++
				continue
			}
			team := teams[*c.TeamID]
			if team == nil {
				var err error
				team, err = teamByID(ctx, tx, c.TenantID, *c.TeamID)
				if errors.Is(err, sql.ErrNoRows) {
					// The team was deleted while the conversation was being routed into it.
					if err := withdraw(ctx, tx, c); err != nil {
						return err
					}
					c.TeamID, c.Routing, c.OverflowAt = nil, ptr(conversation.RoutingUnrouted), nil
					if err := r.save(ctx, tx, c, true, []Decision{r.decision(c, KindUnrouted, ReasonNoTeam,
						"no portfolio owner took it and its team no longer exists; an admin or supervisor assigns it", now)}); err != nil {
						return err
					}
					moved++
					continue
				}
				if err != nil {
					return err
				}
				teams[team.ID] = team
			}
			agent, err := nextAgent(ctx, tx, r.db.Kind, c.TenantID, team.ID, false)
			if errors.Is(err, errBusy) {
				continue // every available member is being assigned something by another process: next pass
			}
			if err != nil {
				return err
			}
			if err := withdraw(ctx, tx, c); err != nil {
				return err
			}
			why := "no portfolio owner took it within the overflow time"
			if late := now.Sub(*c.OverflowAt).Truncate(time.Second); late > 0 {
				why += fmt.Sprintf(" (%s late)", late)
			}
			if err := r.give(ctx, tx, c, team, agent, ReasonOverflow, why, now, true); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	return moved, full, err
}

// withdraw takes a conversation off the waiting lists it was offered on.
func withdraw(ctx context.Context, tx bun.Tx, c *conversation.Conversation) error {
	if _, err := tx.NewDelete().Model((*offer)(nil)).Where("tenant_id = ? AND conversation_id = ?", c.TenantID, c.ID).Exec(ctx); err != nil {
		return fmt.Errorf("withdraw offers: %w", err)
	}
	return nil
}

// dequeue assigns queued conversations, oldest first, to team members who are available now: one
// transaction per team, until the team has nobody left or nothing queued.
func (r *Router) dequeue(ctx context.Context) (int, error) {
	var teams []portfolio.Team
	err := r.db.NewSelect().Model(&teams).
		Where("EXISTS (SELECT 1 FROM conversations AS cv WHERE cv.tenant_id = tm.tenant_id AND cv.team_id = tm.id AND cv.routing = ?)",
			conversation.RoutingQueued).
		Where("EXISTS (SELECT 1 FROM team_members AS tmm JOIN users AS u ON u.tenant_id = tmm.tenant_id AND u.id = tmm.user_id "+
			"WHERE tmm.tenant_id = tm.tenant_id AND tmm.team_id = tm.id AND u.availability = ? AND u.status = ?)",
			portfolio.Available, tenant.UserActive).
		Order("tm.tenant_id", "tm.id").Scan(ctx)
	if err != nil {
		return 0, fmt.Errorf("find teams with queued conversations: %w", err)
	}
	moved := 0
	for i := range teams {
		n, err := r.dequeueTeam(ctx, &teams[i])
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// dequeueTeam gives a batch of a team's queued conversations to its available members in turn.
func (r *Router) dequeueTeam(ctx context.Context, team *portfolio.Team) (int, error) {
	moved := 0
	err := store.RunInTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		moved = 0
		var queued []conversation.Conversation
		q := tx.NewSelect().Model(&queued).Where("cv.tenant_id = ? AND cv.team_id = ? AND cv.routing = ?", team.TenantID, team.ID,
			conversation.RoutingQueued).Order("cv.id").Limit(sweepBatch)
		if err := store.Lock(r.db.Kind, q, "UPDATE SKIP LOCKED").Scan(ctx); err != nil {
			return fmt.Errorf("claim queued conversations: %w", err)
		}
		if len(queued) == 0 {
			return nil
		}
		reasons, err := queuedFor(ctx, tx, team.TenantID, queued)
		if err != nil {
			return err
		}
		now := r.clock.Now()
		for i := range queued {
			c := &queued[i]
			agent, err := nextAgent(ctx, tx, r.db.Kind, team.TenantID, team.ID, false)
			if errors.Is(err, errBusy) || (err == nil && agent == nil) {
				return nil // nobody left to give them to, for now
			}
			if err != nil {
				return err
			}
			reason := reasons[c.ID]
			if reason == "" {
				reason = ReasonRoundRobinTeam
			}
			if err := r.give(ctx, tx, c, team, agent, reason, agent.Name+" is available", now, true); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	return moved, err
}

// queuedFor returns why each conversation was queued: the reason of its last queued decision.
func queuedFor(ctx context.Context, tx bun.Tx, tenantID uuid.UUID, cs []conversation.Conversation) (map[uuid.UUID]string, error) {
	ids := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	var ds []Decision
	err := tx.NewSelect().Model(&ds).Column("conversation_id", "reason").
		Where("tenant_id = ? AND conversation_id IN (?) AND kind = ?", tenantID, bun.In(ids), KindQueued).
		Order("created_at", "id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("why conversations were queued: %w", err)
	}
	out := make(map[uuid.UUID]string, len(ds))
	for _, d := range ds {
		out[d.ConversationID] = d.Reason
	}
	return out, nil
}

func teamByID(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (*portfolio.Team, error) {
	var tm portfolio.Team
	if err := db.NewSelect().Model(&tm).Where("tm.tenant_id = ? AND tm.id = ?", tenantID, id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read team: %w", err) // sql.ErrNoRows stays visible to errors.Is
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
