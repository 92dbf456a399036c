package ticket

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

// TaskInput describes one task of a procedure; ID keeps an existing task of that procedure.
type TaskInput struct {
	ID           *uuid.UUID
	Name         string
	SendWhatsApp bool
	TemplateID   *uuid.UUID
	Variables    []string
}

// NewProcedure describes a procedure to create.
type NewProcedure struct {
	Name        string
	Description *string
	Tasks       []TaskInput
}

// checkTasks validates a task list against the tenant's templates and returns the tasks to store.
func checkTasks(ctx context.Context, db bun.IDB, tenantID, procedureID uuid.UUID, in []TaskInput, existing map[uuid.UUID]bool) ([]Task, error) {
	var errs validate.Errors
	if len(in) == 0 {
		errs.Add("tasks", "must list at least one task")
	}
	templates := map[uuid.UUID]*Template{}
	ids := []uuid.UUID{}
	for _, t := range in {
		if t.TemplateID != nil {
			ids = append(ids, *t.TemplateID)
		}
	}
	if len(ids) > 0 {
		var found []Template
		if err := db.NewSelect().Model(&found).Where("mt.tenant_id = ? AND mt.id IN (?)", tenantID, bun.In(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("templates of tasks: %w", err)
		}
		for i := range found {
			templates[found[i].ID] = &found[i]
		}
	}
	seen := map[uuid.UUID]bool{}
	out := make([]Task, 0, len(in))
	for i, t := range in {
		field := fmt.Sprintf("tasks.%d", i)
		task := Task{TenantID: tenantID, ID: newID(), ProcedureID: procedureID, Position: i + 1,
			Name: strings.TrimSpace(t.Name), SendWhatsApp: t.SendWhatsApp, TemplateID: t.TemplateID, Variables: t.Variables}
		if t.ID != nil {
			switch {
			case !existing[*t.ID]:
				errs.Add(field+".id", "is not a task of this procedure")
			case seen[*t.ID]:
				errs.Add(field+".id", "appears twice")
			}
			seen[*t.ID] = true
			task.ID = *t.ID
		}
		if task.Name == "" {
			errs.Add(field+".name", "must not be blank")
		}
		if task.Variables == nil {
			task.Variables = []string{}
		}
		for j, v := range task.Variables {
			if !ValidField(v) {
				errs.Add(fmt.Sprintf("%s.variables.%d", field, j), "is not a ticket field")
			}
		}
		if t.TemplateID != nil && templates[*t.TemplateID] == nil {
			errs.Add(field+".template_id", "no such template")
			continue
		}
		if t.SendWhatsApp {
			if t.TemplateID == nil {
				errs.Add(field+".template_id", "is required when the task sends WhatsApp")
				continue
			}
			if want := len(templates[*t.TemplateID].Variables); len(task.Variables) != want {
				errs.Add(field+".variables", "must fill the template's %d placeholders, not %d", want, len(task.Variables))
			}
		}
		out = append(out, task)
	}
	return out, errs.Err()
}

// CreateProcedure stores a procedure and its tasks.
func (s *Service) CreateProcedure(ctx context.Context, tenantID uuid.UUID, in NewProcedure) (Procedure, error) {
	now := s.clock.Now()
	p := Procedure{TenantID: tenantID, ID: newID(), Name: strings.TrimSpace(in.Name), Description: trimmed(in.Description),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if p.Name == "" {
		return Procedure{}, validate.Field("name", "must not be blank")
	}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		tasks, err := checkTasks(ctx, tx, tenantID, p.ID, in.Tasks, nil)
		if err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&p).Exec(ctx); err != nil {
			return fmt.Errorf("insert procedure: %w", err)
		}
		if _, err := tx.NewInsert().Model(&tasks).Exec(ctx); err != nil {
			return fmt.Errorf("insert tasks: %w", err)
		}
		p.Tasks = tasks
		return nil
	})
	return p, err
}

// Procedure returns one procedure with its tasks.
func (s *Service) Procedure(ctx context.Context, tenantID, id uuid.UUID) (Procedure, error) {
	return procedureOf(ctx, s.db, tenantID, id)
}

func procedureOf(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (Procedure, error) {
	var p Procedure
	if err := db.NewSelect().Model(&p).Where("pr.tenant_id = ? AND pr.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Procedure{}, notFound(err)
	}
	tasks, err := tasksOf(ctx, db, tenantID, []uuid.UUID{id})
	p.Tasks = tasks[id]
	return p, err
}

func tasksOf(ctx context.Context, db bun.IDB, tenantID uuid.UUID, procedureIDs []uuid.UUID) (map[uuid.UUID][]Task, error) {
	out := map[uuid.UUID][]Task{}
	if len(procedureIDs) == 0 {
		return out, nil
	}
	var tasks []Task
	err := db.NewSelect().Model(&tasks).Where("tk.tenant_id = ? AND tk.procedure_id IN (?)", tenantID, bun.In(procedureIDs)).
		Order("tk.procedure_id", "tk.position").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("tasks of procedures: %w", err)
	}
	for _, t := range tasks {
		out[t.ProcedureID] = append(out[t.ProcedureID], t)
	}
	return out, nil
}

// Procedures lists procedures with their tasks.
func (s *Service) Procedures(ctx context.Context, tenantID uuid.UUID, p store.Page) ([]Procedure, string, error) {
	var out []Procedure
	if err := p.Apply(s.db.NewSelect().Model(&out).Where("pr.tenant_id = ?", tenantID), "pr.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list procedures: %w", err)
	}
	out, next := store.Trim(p, out, func(p Procedure) uuid.UUID { return p.ID })
	ids := make([]uuid.UUID, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	tasks, err := tasksOf(ctx, s.db, tenantID, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].Tasks = tasks[out[i].ID]
	}
	return out, next, nil
}

// ProcedurePatch lists procedure fields to change; Tasks, when set, replaces the task list in order.
type ProcedurePatch struct {
	Name        *string
	Description **string
	Tasks       *[]TaskInput
}

// UpdateProcedure changes a procedure if it is still at version ifVersion (when given). A task that tickets
// are in, or that sent messages, cannot be removed (ErrTaskInUse).
func (s *Service) UpdateProcedure(ctx context.Context, tenantID, id uuid.UUID, patch ProcedurePatch, ifVersion *int64) (Procedure, error) {
	var p Procedure
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = procedureOf(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != p.Version {
			return ErrStale
		}
		if patch.Name != nil {
			if p.Name = strings.TrimSpace(*patch.Name); p.Name == "" {
				return validate.Field("name", "must not be blank")
			}
		}
		if patch.Description != nil {
			p.Description = trimmed(*patch.Description)
		}
		if patch.Tasks != nil {
			if err := s.replaceTasks(ctx, tx, &p, *patch.Tasks); err != nil {
				return err
			}
		}
		expected := p.Version
		p.Version++
		p.UpdatedAt = s.clock.Now()
		res, err := tx.NewUpdate().Model(&p).Column("name", "description", "version", "updated_at").WherePK().
			Where("version = ?", expected).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update procedure: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		return nil
	})
	return p, err
}

func (s *Service) replaceTasks(ctx context.Context, tx bun.Tx, p *Procedure, in []TaskInput) error {
	existing := map[uuid.UUID]bool{}
	for _, t := range p.Tasks {
		existing[t.ID] = true
	}
	tasks, err := checkTasks(ctx, tx, p.TenantID, p.ID, in, existing)
	if err != nil {
		return err
	}
	kept := map[uuid.UUID]bool{}
	for _, t := range tasks {
		kept[t.ID] = true
	}
	var removed []uuid.UUID
	for _, t := range p.Tasks {
		if !kept[t.ID] {
			removed = append(removed, t.ID)
		}
	}
	if len(removed) > 0 {
		inUse, err := tx.NewSelect().Model((*Ticket)(nil)).
			Where("tenant_id = ? AND current_task_id IN (?)", p.TenantID, bun.In(removed)).Exists(ctx)
		if err == nil && !inUse {
			inUse, err = tx.NewSelect().Model((*Message)(nil)).
				Where("tenant_id = ? AND task_id IN (?)", p.TenantID, bun.In(removed)).Exists(ctx)
		}
		if err != nil {
			return fmt.Errorf("check removed tasks: %w", err)
		}
		if inUse {
			return ErrTaskInUse
		}
		if _, err := tx.NewDelete().Model((*Task)(nil)).Where("tenant_id = ? AND id IN (?)", p.TenantID, bun.In(removed)).Exec(ctx); err != nil {
			return fmt.Errorf("delete tasks: %w", err)
		}
	}
	if _, err := tx.NewInsert().Model(&tasks).
		On("CONFLICT (tenant_id, id) DO UPDATE").
		Set("position = EXCLUDED.position, name = EXCLUDED.name, send_whatsapp = EXCLUDED.send_whatsapp").
		Set("template_id = EXCLUDED.template_id, variables = EXCLUDED.variables").Exec(ctx); err != nil {
		return fmt.Errorf("store tasks: %w", err)
	}
	p.Tasks = tasks
	return nil
}
