package app

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/plinx"
	"github.com/atende/atende/internal/tenant"
)

// plinxChecker calls the tenant's Plinx, or the server's default one: the dialer's question — is this
// customer in an active WhatsApp conversation? — and the message sender's WhatsApp checks and template sends.
type plinxChecker struct {
	tenants *tenant.Service
	clients *plinx.Clients

	mu    sync.Mutex
	cache map[uuid.UUID]cachedClient
}

type cachedClient struct {
	client  *plinx.Client
	expires time.Time
}

// clientTTL bounds how long a tenant's Plinx settings are reused without reading them again.
const clientTTL = 10 * time.Second

func newPlinxChecker(tenants *tenant.Service, clients *plinx.Clients) *plinxChecker {
	return &plinxChecker{tenants: tenants, clients: clients, cache: map[uuid.UUID]cachedClient{}}
}

// Active asks Plinx; any error means Plinx could not answer.
func (c *plinxChecker) Active(ctx context.Context, tenantID uuid.UUID, e164 string) (bool, error) {
	client, err := c.clientFor(ctx, tenantID)
	if err != nil {
		return false, err
	}
	a, err := client.ActiveConversation(ctx, e164)
	if err != nil {
		return false, err
	}
	return a.Active, nil
}

func (c *plinxChecker) clientFor(ctx context.Context, tenantID uuid.UUID) (*plinx.Client, error) {
	now := time.Now()
	c.mu.Lock()
	cached, ok := c.cache[tenantID]
	c.mu.Unlock()
	if ok && now.Before(cached.expires) {
		return cached.client, nil
	}
	t, err := c.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	client := c.clients.Default()
	if t.PlinxBaseURL != nil && t.PlinxToken != nil {
		client = c.clients.For(*t.PlinxBaseURL, *t.PlinxToken)
	}
	c.mu.Lock()
	c.cache[tenantID] = cachedClient{client: client, expires: now.Add(clientTTL)}
	c.mu.Unlock()
	return client, nil
}

// WhatsAppNumber asks the tenant's Plinx whether a number has WhatsApp.
func (c *plinxChecker) WhatsAppNumber(ctx context.Context, tenantID uuid.UUID, e164 string) (plinx.Number, error) {
	client, err := c.clientFor(ctx, tenantID)
	if err != nil {
		return plinx.Number{}, err
	}
	return client.WhatsAppNumber(ctx, e164)
}

// SendTemplate sends a template message through the tenant's Plinx.
func (c *plinxChecker) SendTemplate(ctx context.Context, tenantID uuid.UUID, m plinx.TemplateMessage) (plinx.Sent, error) {
	client, err := c.clientFor(ctx, tenantID)
	if err != nil {
		return plinx.Sent{}, err
	}
	return client.SendTemplate(ctx, m)
}
