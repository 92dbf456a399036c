package ticket

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// Ticket returns one ticket with its current task and public links.
func (s *Service) Ticket(ctx context.Context, tenantID, id uuid.UUID) (Ticket, error) {
	var tk Ticket
	if err := s.db.NewSelect().Model(&tk).Where("tc.tenant_id = ? AND tc.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Ticket{}, notFound(err)
	}
	out := []Ticket{tk}
	if err := s.load(ctx, tenantID, out); err != nil {
		return Ticket{}, err
	}
	return out[0], nil
}

// load sets the current task and the public links of tickets of one tenant.
func (s *Service) load(ctx context.Context, tenantID uuid.UUID, tks []Ticket) error {
	if len(tks) == 0 {
		return nil
	}
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	ids := []uuid.UUID{}
	for _, tk := range tks {
		if tk.CurrentTaskID != nil {
			ids = append(ids, *tk.CurrentTaskID)
		}
	}
	tasks := map[uuid.UUID]*Task{}
	if len(ids) > 0 {
		var found []Task
		if err := s.db.NewSelect().Model(&found).Where("tk.tenant_id = ? AND tk.id IN (?)", tenantID, bun.In(ids)).Scan(ctx); err != nil {
			return fmt.Errorf("tasks of tickets: %w", err)
		}
		for i := range found {
			tasks[found[i].ID] = &found[i]
		}
	}
	for i := range tks {
		tks[i].CurrentTask = tasks[idOf(tks[i].CurrentTaskID)]
		s.decorate(t, &tks[i])
	}
	return nil
}

// Filter narrows a list of tickets; nil fields do not filter.
type Filter struct {
	Status        *string
	Critical      *bool
	IntegrationID *uuid.UUID
	ExternalCode  *string
	CompanyID     *uuid.UUID
	ContactID     *uuid.UUID
}

// Tickets lists tickets, newest first.
func (s *Service) Tickets(ctx context.Context, tenantID uuid.UUID, f Filter, p store.Page) ([]Ticket, string, error) {
	var out []Ticket
	q := s.db.NewSelect().Model(&out).Where("tc.tenant_id = ?", tenantID)
	if f.Status != nil {
		q = q.Where("tc.status = ?", *f.Status)
	}
	if f.Critical != nil {
		q = q.Where("tc.critical = ?", *f.Critical)
	}
	if f.IntegrationID != nil {
		q = q.Where("tc.integration_id = ?", *f.IntegrationID)
	}
	if f.ExternalCode != nil {
		q = q.Where("tc.external_code = ?", *f.ExternalCode)
	}
	if f.CompanyID != nil {
		q = q.Where("tc.company_id = ?", *f.CompanyID)
	}
	if f.ContactID != nil {
		q = q.Where("tc.contact_id = ?", *f.ContactID)
	}
	p.Desc = true
	if err := p.Apply(q, "tc.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list tickets: %w", err)
	}
	out, next := store.Trim(p, out, func(t Ticket) uuid.UUID { return t.ID })
	return out, next, s.load(ctx, tenantID, out)
}

// Timeline lists what happened to a ticket, oldest first.
func (s *Service) Timeline(ctx context.Context, tenantID, ticketID uuid.UUID, p store.Page) ([]TimelineEntry, string, error) {
	ok, err := s.db.NewSelect().Model((*Ticket)(nil)).Where("tenant_id = ? AND id = ?", tenantID, ticketID).Exists(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("find ticket: %w", err)
	}
	if !ok {
		return nil, "", ErrNotFound
	}
	var out []TimelineEntry
	q := s.db.NewSelect().Model(&out).Where("tl.tenant_id = ? AND tl.ticket_id = ?", tenantID, ticketID)
	if err := p.Apply(q, "tl.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list timeline: %w", err)
	}
	out, next := store.Trim(p, out, func(e TimelineEntry) uuid.UUID { return e.ID })
	return out, next, nil
}

// change runs fn on a locked ticket and saves it with its new timeline entries.
func (s *Service) change(ctx context.Context, tenantID, id uuid.UUID, fn func(ctx context.Context, tx bun.Tx, t tenant.Tenant, tk *Ticket, w *timeline) error) (Ticket, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return Ticket{}, err
	}
	var tk Ticket
	err = store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		q := s.forUpdate(tx.NewSelect().Model(&tk).Where("tc.tenant_id = ? AND tc.id = ?", tenantID, id), "")
		if err := q.Scan(ctx); err != nil {
			return notFound(err)
		}
		now := s.clock.Now()
		w := newTimeline(&tk, now)
		if err := fn(ctx, tx, t, &tk, w); err != nil {
			return err
		}
		tk.UpdatedAt = now
		if err := s.saveTicket(ctx, tx, &tk, w); err != nil {
			return err
		}
		return s.emitTicket(ctx, tx, nil, &tk, outbound.TicketUpdated, now)
	})
	if err != nil {
		return Ticket{}, err
	}
	return s.Ticket(ctx, tenantID, id)
}

// Advance moves an open ticket to its procedure's next task.
func (s *Service) Advance(ctx context.Context, actor tenant.Actor, id uuid.UUID) (Ticket, error) {
	return s.change(ctx, actor.TenantID, id, func(ctx context.Context, tx bun.Tx, t tenant.Tenant, tk *Ticket, w *timeline) error {
		if tk.Status == StatusClosed {
			return ErrClosed
		}
		tasks, err := s.procedureTasks(ctx, tx, tk, nil)
		if err != nil {
			return err
		}
		next := 0
		for i, task := range tasks {
			if task.ID == idOf(tk.CurrentTaskID) {
				next = i + 1
			}
		}
		if next >= len(tasks) {
			return ErrLastTask
		}
		if tk.Status == StatusOpen {
			tk.Status = StatusInProgress
		}
		return s.enterTask(ctx, tx, t, tk, &tasks[next], w, w.now, nil)
	})
}

// Close closes a ticket, entering its procedure's last task (and sending its message) unless it is there.
func (s *Service) Close(ctx context.Context, actor tenant.Actor, id uuid.UUID) (Ticket, error) {
	return s.change(ctx, actor.TenantID, id, func(ctx context.Context, tx bun.Tx, t tenant.Tenant, tk *Ticket, w *timeline) error {
		if tk.Status == StatusClosed {
			return ErrClosed
		}
		return s.close(ctx, tx, t, tk, w, w.now, "Chamado encerrado no atende.", nil)
	})
}

// Reopen reopens a closed ticket; it stays in its task, whose message is not sent again.
func (s *Service) Reopen(ctx context.Context, actor tenant.Actor, id uuid.UUID) (Ticket, error) {
	return s.change(ctx, actor.TenantID, id, func(ctx context.Context, tx bun.Tx, t tenant.Tenant, tk *Ticket, w *timeline) error {
		if tk.Status != StatusClosed {
			return ErrNotClosed
		}
		s.reopen(tk, StatusInProgress, w, "Chamado reaberto no atende.")
		return nil
	})
}

// PublicTicket finds a ticket by its public token, in any tenant, for its tracking page.
func (s *Service) PublicTicket(ctx context.Context, token string) (Ticket, error) {
	var tk Ticket
	if err := s.db.NewSelect().Model(&tk).Where("tc.public_token = ?", token).Scan(ctx); err != nil {
		return Ticket{}, notFound(err)
	}
	out := []Ticket{tk}
	if err := s.load(ctx, tk.TenantID, out); err != nil {
		return Ticket{}, err
	}
	return out[0], nil
}
