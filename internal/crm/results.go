package crm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
)

// Result is an outcome interactions are qualified with. System results are built in and the same for
// every tenant; tenants add their own.
type Result struct {
	bun.BaseModel `bun:"table:results,alias:rs"`

	TenantID    uuid.UUID  `bun:"tenant_id,pk"`
	ID          uuid.UUID  `bun:"id,pk"`
	Code        string     `bun:"code"`
	Name        string     `bun:"name"`
	Description *string    `bun:"description"`
	ArchivedAt  *time.Time `bun:"archived_at"`
	Version     int64      `bun:"version"`
	CreatedAt   time.Time  `bun:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at"`

	System bool `bun:"-"`
}

// Codes of system results other subjects record.
const (
	ResultContactViaWhatsApp = "contact_via_whatsapp"
	ResultNoAnswer           = "no_answer"
	ResultBusy               = "busy"
	ResultCallFailed         = "call_failed"
)

var systemNamespace = uuid.MustParse("6f1f3c7e-2a4b-4d8e-9c1a-5b7d3e2f1a0c")

// SystemResults are the results every tenant has. Their ids are derived from their codes.
var SystemResults = []Result{
	systemResult(ResultContactViaWhatsApp, "Contato via WhatsApp", "O cliente já estava em conversa ativa no WhatsApp (Plinx); atendimento registrado pelo discador."),
	systemResult(ResultNoAnswer, "Não atende", "A chamada tocou sem resposta."),
	systemResult(ResultBusy, "Ocupado", "A linha estava ocupada."),
	systemResult(ResultCallFailed, "Falha na chamada", "A chamada não se completou por falha técnica ou número inválido."),
	systemResult("wrong_number", "Número errado", "O número não é do cliente."),
	systemResult("callback_scheduled", "Retorno agendado", "O cliente pediu um novo contato em outro momento."),
	systemResult("do_not_call", "Não ligar", "O cliente pediu para não receber ligações."),
}

func systemResult(code, name, desc string) Result {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return Result{ID: uuid.NewSHA1(systemNamespace, []byte(code)), Code: code, Name: name, Description: &desc,
		System: true, Version: 1, CreatedAt: epoch, UpdatedAt: epoch}
}

func systemResultByCode(code string) (Result, bool) {
	for _, r := range SystemResults {
		if r.Code == code {
			return r, true
		}
	}
	return Result{}, false
}

func systemResultByID(id uuid.UUID) (Result, bool) {
	for _, r := range SystemResults {
		if r.ID == id {
			return r, true
		}
	}
	return Result{}, false
}

// Results lists the catalog: system results first, then the tenant's, oldest first.
func (s *Service) Results(ctx context.Context, tenantID uuid.UUID, includeArchived bool) ([]Result, error) {
	var own []Result
	q := s.db.NewSelect().Model(&own).Where("rs.tenant_id = ?", tenantID).OrderExpr("rs.id")
	if !includeArchived {
		q = q.Where("rs.archived_at IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list results: %w", err)
	}
	out := make([]Result, 0, len(SystemResults)+len(own))
	for _, r := range SystemResults {
		r.TenantID = tenantID
		out = append(out, r)
	}
	return append(out, own...), nil
}

// Result returns one result of the catalog.
func (s *Service) Result(ctx context.Context, tenantID, id uuid.UUID) (Result, error) {
	return ResultByID(ctx, s.db, tenantID, id)
}

// ResultByID returns one result of the catalog, system or the tenant's.
func ResultByID(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (Result, error) {
	if r, ok := systemResultByID(id); ok {
		r.TenantID = tenantID
		return r, nil
	}
	var r Result
	if err := db.NewSelect().Model(&r).Where("rs.tenant_id = ? AND rs.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Result{}, notFound(err)
	}
	return r, nil
}

// NewResult describes a tenant result.
type NewResult struct {
	Code        string
	Name        string
	Description *string
}

// CreateResult adds a result to the tenant's catalog.
func (s *Service) CreateResult(ctx context.Context, actor tenant.Actor, in NewResult) (Result, error) {
	var errs validate.Errors
	name := strings.TrimSpace(in.Name)
	if name == "" {
		errs.Add("name", "must not be blank")
	}
	if _, ok := systemResultByCode(in.Code); ok {
		errs.Add("code", "is a system result's code")
	}
	if err := errs.Err(); err != nil {
		return Result{}, err
	}
	now := s.clock.Now()
	r := Result{TenantID: actor.TenantID, ID: newID(), Code: in.Code, Name: name, Description: trimmed(in.Description),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(&r).Exec(ctx)
		return err
	})
	if err != nil {
		if store.IsUniqueViolation(err) {
			return Result{}, ErrCodeTaken
		}
		return Result{}, fmt.Errorf("insert result: %w", err)
	}
	return r, nil
}

// ResultPatch lists the result fields to change.
type ResultPatch struct {
	Name        *string
	Description Optional[string]
	Archived    *bool
}

// UpdateResult renames or archives a tenant result.
func (s *Service) UpdateResult(ctx context.Context, tenantID, id uuid.UUID, patch ResultPatch, ifVersion *int64) (Result, error) {
	if _, ok := systemResultByID(id); ok {
		return Result{}, ErrSystemResult
	}
	if patch.Name != nil {
		if *patch.Name = strings.TrimSpace(*patch.Name); *patch.Name == "" {
			return Result{}, validate.Field("name", "must not be blank")
		}
	}
	var r Result
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&r).Where("rs.tenant_id = ? AND rs.id = ?", tenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		if ifVersion != nil && *ifVersion != r.Version {
			return ErrStale
		}
		setIf(&r.Name, patch.Name)
		patch.Description.apply(&r.Description)
		now := s.clock.Now()
		archive(&r.ArchivedAt, patch.Archived, now)
		return updateVersioned(ctx, tx, &r, &r.Version, &r.UpdatedAt, now, "rs.tenant_id = ? AND rs.id = ?", tenantID, id)
	})
	return r, err
}

// DeleteResult deletes a tenant result that no interaction uses.
func (s *Service) DeleteResult(ctx context.Context, tenantID, id uuid.UUID) error {
	if _, ok := systemResultByID(id); ok {
		return ErrSystemResult
	}
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var r Result
		if err := tx.NewSelect().Model(&r).Where("rs.tenant_id = ? AND rs.id = ?", tenantID, id).Scan(ctx); err != nil {
			return notFound(err)
		}
		used, err := tx.NewSelect().Table("interactions").Where("tenant_id = ? AND result_code = ?", tenantID, r.Code).Exists(ctx)
		if err != nil {
			return fmt.Errorf("check result use: %w", err)
		}
		if used {
			return ErrResultInUse
		}
		_, err = tx.NewDelete().Model((*Result)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
		return err
	})
}

// usableResult checks that code names a result an interaction may be recorded with now.
func usableResult(ctx context.Context, db bun.IDB, tenantID uuid.UUID, code string) error {
	if _, ok := systemResultByCode(code); ok {
		return nil
	}
	var r Result
	err := db.NewSelect().Model(&r).Where("rs.tenant_id = ? AND rs.code = ?", tenantID, code).Scan(ctx)
	if err != nil {
		if notFound(err) == ErrNotFound {
			return validate.Field("result", "is not a result of the catalog")
		}
		return err
	}
	if r.ArchivedAt != nil {
		return validate.Field("result", "is archived")
	}
	return nil
}
