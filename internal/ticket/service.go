package ticket

import (
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/tenant"
)

// Deps are what the tickets service works with.
type Deps struct {
	DB      *store.DB
	Tenants *tenant.Service
	Clock   clock.Clock
	Logger  *slog.Logger
	// PublicURL is atende's public base URL; tracking links point at its /v1/public/tickets/{token} page
	// when the tenant sets no tracking URL template of its own.
	PublicURL string
	// Plinx resolves a tenant's Plinx client for the sender.
	Plinx PlinxResolver
	// Metrics counts messages; nil counts nothing.
	Metrics *Metrics
	// Outbox receives ticket and message events for outbound webhooks; nil publishes none.
	Outbox outbound.Publisher
}

// Service holds the tickets rules.
type Service struct {
	db      *store.DB
	tenants *tenant.Service
	clock   clock.Clock
	logger  *slog.Logger
	public  string
	plinx   PlinxResolver
	metrics *Metrics
	outbox  outbound.Publisher

	tenantCache      *ttlCache[tenant.Tenant]
	integrationCache *ttlCache[Integration]
	intake           *intake
}

// NewService returns the tickets service.
func NewService(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	s := &Service{db: d.DB, tenants: d.Tenants, clock: d.Clock, logger: d.Logger,
		public: strings.TrimRight(d.PublicURL, "/"), plinx: d.Plinx, metrics: d.Metrics, outbox: d.Outbox,
		tenantCache: newTTLCache[tenant.Tenant](), integrationCache: newTTLCache[Integration]()}
	s.intake = newIntake(s)
	return s
}

// notFound maps "no rows" to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// equalFold compares two statuses as people type them: case and surrounding spaces do not matter.
func equalFold(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// trimmed returns s without surrounding spaces, or nil when that leaves nothing.
func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

// cut shortens s to at most n runes.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// idOf is the id of a uuid pointer, or uuid.Nil.
func idOf(p *uuid.UUID) uuid.UUID {
	if p == nil {
		return uuid.Nil
	}
	return *p
}
