package ticket

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/tenant"
)

// cacheTTL bounds how long a process reuses a tenant's settings or an integration read before: a change
// made through another process takes effect within it.
const cacheTTL = 5 * time.Second

// ttlCache keeps values for cacheTTL. It is safe for concurrent use.
type ttlCache[V any] struct {
	mu      sync.Mutex
	entries map[uuid.UUID]cached[V]
	// forgotten counts forget calls, so that a load begun before one does not store what it read.
	forgotten uint64
}

type cached[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any]() *ttlCache[V] { return &ttlCache[V]{entries: map[uuid.UUID]cached[V]{}} }

// get returns the value of id, loading it when it is missing or old.
func (c *ttlCache[V]) get(ctx context.Context, id uuid.UUID, load func(context.Context, uuid.UUID) (V, error)) (V, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[id]
	generation := c.forgotten
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := load(ctx, id)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgotten != generation {
		return v, nil // changed meanwhile: use what was read, but do not keep it
	}
	if len(c.entries) > 10_000 {
		clear(c.entries) // many tenants: start over rather than grow without bound
	}
	c.entries[id] = cached[V]{v: v, expires: now.Add(cacheTTL)}
	return v, nil
}

// forget drops id, so the next get loads it.
func (c *ttlCache[V]) forget(id uuid.UUID) {
	c.mu.Lock()
	delete(c.entries, id)
	c.forgotten++
	c.mu.Unlock()
}

// tenant returns the tenant's settings, read at most cacheTTL ago.
func (s *Service) tenant(ctx context.Context, id uuid.UUID) (tenant.Tenant, error) {
	return s.tenantCache.get(ctx, id, s.tenants.Tenant)
}
