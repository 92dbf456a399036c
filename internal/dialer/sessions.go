package dialer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// Join opens a session for the agent on a running campaign, ready for calls.
func (s *Service) Join(ctx context.Context, actor tenant.Actor, campaignID uuid.UUID) (Session, error) {
	var sess Session
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		c, err := campaignOf(ctx, tx, actor.TenantID, campaignID)
		if err != nil {
			return err
		}
		if c.Status != CampaignRunning {
			return ErrCampaignState
		}
		now := s.clock.Now()
		sess = Session{TenantID: actor.TenantID, ID: newID(), CampaignID: campaignID, UserID: actor.UserID,
			Status: SessionReady, Version: 1, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(&sess).Exec(ctx); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrSessionOpen
			}
			return fmt.Errorf("insert session: %w", err)
		}
		return a.publishState(&sess, now)
	})
	return sess, err
}

// Session returns a session with its pending prompt and current call. Agents see their own only.
func (s *Service) Session(ctx context.Context, actor tenant.Actor, id uuid.UUID) (Session, error) {
	sess, err := sessionOf(ctx, s.db, actor.TenantID, id)
	if err != nil {
		return Session{}, err
	}
	if actor.Role == tenant.RoleAgent && sess.UserID != actor.UserID {
		return Session{}, ErrNotFound
	}
	if sess.PromptID != nil {
		var p Prompt
		if err := s.db.NewSelect().Model(&p).Where("dp.tenant_id = ? AND dp.id = ?", actor.TenantID, *sess.PromptID).Scan(ctx); err == nil {
			sess.Prompt = &p
		}
	}
	if sess.CallID != nil {
		var c Call
		if err := s.db.NewSelect().Model(&c).Where("cl.tenant_id = ? AND cl.id = ?", actor.TenantID, *sess.CallID).Scan(ctx); err == nil {
			sess.Call = &c
		}
	}
	return sess, nil
}

func sessionOf(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (Session, error) {
	var sess Session
	err := db.NewSelect().Model(&sess).Where("sn.tenant_id = ? AND sn.id = ?", tenantID, id).Scan(ctx)
	return sess, notFound(err)
}

// SessionFilter narrows a session list.
type SessionFilter struct {
	CampaignID *uuid.UUID
	Status     *string
}

// Sessions pages through sessions, oldest first: every session for supervisors, their own for agents.
func (s *Service) Sessions(ctx context.Context, actor tenant.Actor, f SessionFilter, p store.Page) ([]Session, string, error) {
	var out []Session
	q := s.db.NewSelect().Model(&out).Where("sn.tenant_id = ?", actor.TenantID)
	if actor.Role == tenant.RoleAgent {
		q = q.Where("sn.user_id = ?", actor.UserID)
	}
	if f.CampaignID != nil {
		q = q.Where("sn.campaign_id = ?", *f.CampaignID)
	}
	if f.Status != nil {
		q = q.Where("sn.status = ?", *f.Status)
	}
	if err := p.Apply(q, "sn.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	out, next := store.Trim(p, out, func(s Session) uuid.UUID { return s.ID })
	return out, next, nil
}

// Pause stops offering work to a ready session.
func (s *Service) Pause(ctx context.Context, actor tenant.Actor, id uuid.UUID, reason string) (Session, error) {
	return s.changeSession(ctx, actor, id, func(sess *Session) error {
		if sess.Status != SessionReady && sess.Status != SessionPaused {
			return ErrSessionState
		}
		sess.Status, sess.PauseReason = SessionPaused, &reason
		return nil
	})
}

// Resume makes a paused session ready again.
func (s *Service) Resume(ctx context.Context, actor tenant.Actor, id uuid.UUID) (Session, error) {
	return s.changeSession(ctx, actor, id, func(sess *Session) error {
		if sess.Status != SessionPaused && sess.Status != SessionReady {
			return ErrSessionState
		}
		sess.Status, sess.PauseReason = SessionReady, nil
		return nil
	})
}

// Leave closes a session that is not on a call or prompt.
func (s *Service) Leave(ctx context.Context, actor tenant.Actor, id uuid.UUID) (Session, error) {
	return s.changeSession(ctx, actor, id, func(sess *Session) error {
		switch sess.Status {
		case SessionOnCall, SessionPrompting, SessionWrapUp:
			return ErrSessionState
		}
		now := s.clock.Now()
		sess.Status, sess.PauseReason, sess.LeftAt = SessionLeft, nil, &now
		return nil
	})
}

func (s *Service) changeSession(ctx context.Context, actor tenant.Actor, id uuid.UUID, change func(*Session) error) (Session, error) {
	var sess Session
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx, a *after) error {
		var err error
		if sess, err = sessionOf(ctx, tx, actor.TenantID, id); err != nil {
			return err
		}
		if actor.Role == tenant.RoleAgent && sess.UserID != actor.UserID {
			return ErrNotFound
		}
		if sess.Status == SessionLeft {
			return ErrSessionState
		}
		if err := change(&sess); err != nil {
			return err
		}
		now := s.clock.Now()
		if err := saveSession(ctx, tx, &sess, now); err != nil {
			return err
		}
		return a.publishState(&sess, now)
	})
	return sess, err
}

func saveSession(ctx context.Context, tx bun.IDB, sess *Session, now time.Time) error {
	expected := sess.Version
	sess.Version++
	sess.UpdatedAt = now
	res, err := tx.NewUpdate().Model(sess).Column("status", "pause_reason", "call_id", "prompt_id", "left_at", "version", "updated_at").
		WherePK().Where("version = ?", expected).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrStale
	}
	return nil
}

var errNoAgent = errors.New("no ready agent")
