package tenant

import (
	"context"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

// Optional is a field of a patch: Set says it was sent, and a nil Value clears it.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// PlinxPatch lists the Plinx settings to change.
type PlinxPatch struct {
	BaseURL       Optional[string]
	Token         Optional[string]
	WebhookSecret Optional[string]
}

// UpdatePlinxSettings changes where and how the tenant reaches Plinx, if the tenant is still at version
// ifVersion (when given).
func (s *Service) UpdatePlinxSettings(ctx context.Context, tenantID uuid.UUID, patch PlinxPatch, ifVersion *int64) (Tenant, error) {
	if patch.BaseURL.Set && patch.BaseURL.Value != nil {
		u, err := url.Parse(*patch.BaseURL.Value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Tenant{}, validate.Field("base_url", "must be an http or https URL")
		}
		trimmed := strings.TrimRight(*patch.BaseURL.Value, "/")
		patch.BaseURL.Value = &trimmed
	}
	var t Tenant
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if t, err = getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != t.Version {
			return ErrStale
		}
		for _, f := range []struct {
			patch Optional[string]
			dst   **string
		}{{patch.BaseURL, &t.PlinxBaseURL}, {patch.Token, &t.PlinxToken}, {patch.WebhookSecret, &t.PlinxWebhookSecret}} {
			if f.patch.Set {
				*f.dst = f.patch.Value
			}
		}
		expected := t.Version
		t.Version++
		t.UpdatedAt = s.clock.Now()
		res, err := tx.NewUpdate().Model(&t).
			Column("plinx_base_url", "plinx_token", "plinx_webhook_secret", "version", "updated_at").
			Where("t.id = ? AND t.version = ?", t.ID, expected).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		return nil
	})
	return t, err
}

// Tenant returns a tenant, settings and Plinx connection included.
func (s *Service) Tenant(ctx context.Context, id uuid.UUID) (Tenant, error) {
	return getTenant(ctx, s.db, id)
}
