package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/validate"
	"github.com/atende/atende/internal/webhook"
)

// SecretGrace is how long a rotated-out secret keeps verifying deliveries, so the external system can switch.
const SecretGrace = 24 * time.Hour

// NewIntegration describes an integration to create.
type NewIntegration struct {
	Name               string
	Active             *bool
	DefaultProcedureID *uuid.UUID
	StatusMap          []StatusMapping
}

func checkStatusMap(errs *validate.Errors, m []StatusMapping) []StatusMapping {
	seen := map[string]bool{}
	out := make([]StatusMapping, 0, len(m))
	for i, sm := range m {
		sm.External = strings.TrimSpace(sm.External)
		key := strings.ToLower(sm.External)
		switch {
		case sm.External == "":
			errs.Add(fmt.Sprintf("status_map.%d.external", i), "must not be blank")
		case seen[key]:
			errs.Add(fmt.Sprintf("status_map.%d.external", i), "maps %q twice", sm.External)
		}
		if !ValidStatus(sm.Status) {
			errs.Add(fmt.Sprintf("status_map.%d.status", i), "is not a ticket status")
		}
		seen[key] = true
		out = append(out, sm)
	}
	return out
}

func checkProcedure(ctx context.Context, db bun.IDB, errs *validate.Errors, tenantID uuid.UUID, field string, id *uuid.UUID) error {
	if id == nil {
		return nil
	}
	ok, err := db.NewSelect().Model((*Procedure)(nil)).Where("tenant_id = ? AND id = ?", tenantID, *id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("check procedure: %w", err)
	}
	if !ok {
		errs.Add(field, "no such procedure")
	}
	return nil
}

// CreateIntegration stores an integration with a new signing secret, returned in it this once.
func (s *Service) CreateIntegration(ctx context.Context, tenantID uuid.UUID, in NewIntegration) (Integration, error) {
	now := s.clock.Now()
	ig := Integration{TenantID: tenantID, ID: newID(), Name: strings.TrimSpace(in.Name), Active: true,
		Secret: webhook.NewSecret(), DefaultProcedureID: in.DefaultProcedureID, Version: 1, CreatedAt: now, UpdatedAt: now}
	setIf(&ig.Active, in.Active)
	var errs validate.Errors
	if ig.Name == "" {
		errs.Add("name", "must not be blank")
	}
	ig.StatusMap = checkStatusMap(&errs, in.StatusMap)
	if err := checkProcedure(ctx, s.db, &errs, tenantID, "default_procedure_id", in.DefaultProcedureID); err != nil {
		return Integration{}, err
	}
	if err := errs.Err(); err != nil {
		return Integration{}, err
	}
	if _, err := s.db.NewInsert().Model(&ig).Exec(ctx); err != nil {
		return Integration{}, fmt.Errorf("insert integration: %w", err)
	}
	return ig, nil
}

// Integration returns one integration of the tenant.
func (s *Service) Integration(ctx context.Context, tenantID, id uuid.UUID) (Integration, error) {
	return integrationOf(ctx, s.db, tenantID, id)
}

func integrationOf(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (Integration, error) {
	var ig Integration
	if err := db.NewSelect().Model(&ig).Where("ig.tenant_id = ? AND ig.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Integration{}, notFound(err)
	}
	return ig, nil
}

// ActiveIntegration finds an active integration by id alone, for its signed deliveries, with its tenant;
// any other case is ErrIntegrationUnknown. fresh reads the database; otherwise a read up to cacheTTL old
// may answer (a delivery whose signature fails against it is checked again with fresh).
func (s *Service) ActiveIntegration(ctx context.Context, id uuid.UUID, fresh bool) (Integration, tenant.Tenant, error) {
	if fresh {
		s.integrationCache.forget(id)
	}
	ig, err := s.integrationCache.get(ctx, id, func(ctx context.Context, id uuid.UUID) (Integration, error) {
		var ig Integration
		err := s.db.NewSelect().Model(&ig).Where("ig.id = ?", id).Scan(ctx)
		return ig, notFound(err)
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return Integration{}, tenant.Tenant{}, ErrIntegrationUnknown
	case err != nil:
		return Integration{}, tenant.Tenant{}, err
	case !ig.Active:
		return Integration{}, tenant.Tenant{}, ErrIntegrationUnknown
	}
	t, err := s.tenant(ctx, ig.TenantID)
	return ig, t, err
}

// Integrations lists integrations.
func (s *Service) Integrations(ctx context.Context, tenantID uuid.UUID, p store.Page) ([]Integration, string, error) {
	var out []Integration
	if err := p.Apply(s.db.NewSelect().Model(&out).Where("ig.tenant_id = ?", tenantID), "ig.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list integrations: %w", err)
	}
	out, next := store.Trim(p, out, func(ig Integration) uuid.UUID { return ig.ID })
	return out, next, nil
}

// IntegrationPatch lists integration fields to change; nil fields keep their value.
type IntegrationPatch struct {
	Name               *string
	Active             *bool
	DefaultProcedureID **uuid.UUID
	StatusMap          *[]StatusMapping
}

// UpdateIntegration changes an integration if it is still at version ifVersion (when given).
func (s *Service) UpdateIntegration(ctx context.Context, tenantID, id uuid.UUID, p IntegrationPatch, ifVersion *int64) (Integration, error) {
	var ig Integration
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if ig, err = integrationOf(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != ig.Version {
			return ErrStale
		}
		var errs validate.Errors
		if p.Name != nil {
			if ig.Name = strings.TrimSpace(*p.Name); ig.Name == "" {
				errs.Add("name", "must not be blank")
			}
		}
		setIf(&ig.Active, p.Active)
		if p.StatusMap != nil {
			ig.StatusMap = checkStatusMap(&errs, *p.StatusMap)
		}
		if p.DefaultProcedureID != nil {
			ig.DefaultProcedureID = *p.DefaultProcedureID
			if err := checkProcedure(ctx, tx, &errs, tenantID, "default_procedure_id", ig.DefaultProcedureID); err != nil {
				return err
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
		return s.saveIntegration(ctx, tx, &ig)
	})
	s.integrationCache.forget(id)
	return ig, err
}

func (s *Service) saveIntegration(ctx context.Context, tx bun.IDB, ig *Integration) error {
	expected := ig.Version
	ig.Version++
	ig.UpdatedAt = s.clock.Now()
	res, err := tx.NewUpdate().Model(ig).WherePK().Where("version = ?", expected).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update integration: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrStale
	}
	return nil
}

// RotateSecret gives the integration a new signing secret, returned in it this once; the previous one keeps
// verifying deliveries for SecretGrace.
func (s *Service) RotateSecret(ctx context.Context, tenantID, id uuid.UUID) (Integration, error) {
	var ig Integration
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if ig, err = integrationOf(ctx, tx, tenantID, id); err != nil {
			return err
		}
		now := s.clock.Now()
		previous, expires := ig.Secret, now.Add(SecretGrace)
		ig.PreviousSecret, ig.PreviousExpiresAt, ig.SecretRotatedAt = &previous, &expires, &now
		ig.Secret = webhook.NewSecret()
		return s.saveIntegration(ctx, tx, &ig)
	})
	s.integrationCache.forget(id)
	return ig, err
}
