package telephony

import (
	"context"
	"fmt"
	"maps"

	"github.com/google/uuid"
)

// Router is the Port the dialer uses: it places each call through the adapter its tenant's settings name
// (AdapterSimulated or AdapterWebhook). Safe for concurrent use when adapterFor and the adapters are.
type Router struct {
	adapterFor func(ctx context.Context, tenantID uuid.UUID) (string, error)
	adapters   map[string]Port
}

var _ Port = (*Router)(nil)

// NewRouter returns a Router that asks adapterFor for the tenant's adapter name on every Place and hands the
// call to adapters[name]. The map is copied. It panics without adapterFor, a programming error.
func NewRouter(adapterFor func(ctx context.Context, tenantID uuid.UUID) (string, error), adapters map[string]Port) *Router {
	if adapterFor == nil {
		panic("telephony: NewRouter needs adapterFor")
	}
	return &Router{adapterFor: adapterFor, adapters: maps.Clone(adapters)}
}

// Place places the call through the tenant's adapter. It fails with adapterFor's error, ErrUnknownAdapter
// when the name has no adapter (the call reaches none), or the adapter's error.
func (r *Router) Place(ctx context.Context, c Call) error {
	name := c.Adapter
	if name == "" {
		var err error
		if name, err = r.adapterFor(ctx, c.TenantID); err != nil {
			return fmt.Errorf("place call %s: telephony adapter of tenant %s: %w", c.ID, c.TenantID, err)
		}
	}
	p := r.adapters[name]
	if p == nil {
		return fmt.Errorf("place call %s: tenant %s: %w %q", c.ID, c.TenantID, ErrUnknownAdapter, name)
	}
	return p.Place(ctx, c)
}
