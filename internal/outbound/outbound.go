// Package outbound sends atende's events to the webhook endpoints tenants subscribe to.
//
// An event becomes one delivery row per subscribed, enabled endpoint, written by Publish inside the
// transaction of the change it reports: the delivery exists exactly when the change does. Deliverers, in
// any number of processes, claim due deliveries under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), POST
// them signed with Standard Webhooks, log every attempt, and retry failures on a schedule of about a day
// with the same webhook-id. A deliverer that dies mid-delivery leaves a lease that expires and a successor
// delivers again, so delivery is at least once and receivers deduplicate by webhook-id.
package outbound

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/webhook"
)

// Event types endpoints subscribe to.
const (
	ConversationCreated   = "conversation.created"
	ConversationLinked    = "conversation.linked"
	ConversationQualified = "conversation.qualified"
	DialerPromptCreated   = "dialer.prompt.created"
	CallCreated           = "call.created"
	CallEnded             = "call.ended"
	TicketCreated         = "ticket.created"
	TicketUpdated         = "ticket.updated"
	MessageStatus         = "message.status"
)

// EventTypes lists every event type, in the contract's order.
var EventTypes = []string{ConversationCreated, ConversationLinked, ConversationQualified, DialerPromptCreated,
	CallCreated, CallEnded, TicketCreated, TicketUpdated, MessageStatus}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Why an endpoint is disabled.
const (
	DisabledManual  = "manual"
	DisabledFailing = "failing"
	DisabledGone    = "gone"
)

// Errors of the endpoint and delivery operations.
var (
	// ErrNotFound means no such endpoint or delivery in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrStale means the endpoint changed since the version the caller read.
	ErrStale = errors.New("the endpoint changed since it was read")
	// ErrDisabled refuses a redelivery to a disabled endpoint.
	ErrDisabled = errors.New("the endpoint is disabled: enable it (PATCH enabled: true) before redelivering")
)

// SecretGrace is how long deliveries also carry a signature with a rotated-out secret.
const SecretGrace = 24 * time.Hour

// Retention is how long deliveries and their attempts are kept.
const Retention = 30 * 24 * time.Hour

// Endpoint is a URL subscribed to events.
type Endpoint struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:we"`

	TenantID          uuid.UUID  `bun:"tenant_id,pk"`
	ID                uuid.UUID  `bun:"id,pk"`
	URL               string     `bun:"url"`
	Description       string     `bun:"description"`
	Events            []string   `bun:"events,type:jsonb"`
	Secret            string     `bun:"secret"`
	PreviousSecret    *string    `bun:"previous_secret"`
	PreviousExpiresAt *time.Time `bun:"previous_expires_at"`
	SecretRotatedAt   *time.Time `bun:"secret_rotated_at"`
	Enabled           bool       `bun:"enabled"`
	DisabledReason    *string    `bun:"disabled_reason"`
	DisabledAt        *time.Time `bun:"disabled_at"`
	LastSuccessAt     *time.Time `bun:"last_success_at"`
	FailingSince      *time.Time `bun:"failing_since"`
	Version           int64      `bun:"version"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`

	// Pending and Failed count the endpoint's deliveries in those statuses, when loaded.
	Pending int64 `bun:"pending,scanonly"`
	Failed  int64 `bun:"failed,scanonly"`
}

// subscribes tells whether the endpoint takes events of type t.
func (e *Endpoint) subscribes(t string) bool { return slices.Contains(e.Events, t) }

// secrets returns the secrets a delivery is signed with at now: the current one, and the previous one
// during its grace period.
func (e *Endpoint) secrets(now time.Time) []string {
	out := []string{e.Secret}
	if e.PreviousSecret != nil && e.PreviousExpiresAt != nil && now.Before(*e.PreviousExpiresAt) {
		out = append(out, *e.PreviousSecret)
	}
	return out
}

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	TenantID   uuid.UUID       `bun:"tenant_id,pk"`
	ID         uuid.UUID       `bun:"id,pk"`
	EndpointID uuid.UUID       `bun:"endpoint_id"`
	EventID    string          `bun:"event_id"`
	EventType  string          `bun:"event_type"`
	Payload    json.RawMessage `bun:"payload"`
	Status     string          `bun:"status"`
	Attempts   int             `bun:"attempts"`
	// ScheduleStart is the attempt count when the current retry schedule began: 0, or the attempts made
	// before a manual redelivery.
	ScheduleStart  int        `bun:"schedule_start"`
	NextAttemptAt  *time.Time `bun:"next_attempt_at"`
	LeaseUntil     *time.Time `bun:"lease_until"`
	LeasedBy       *string    `bun:"leased_by"`
	FirstFailedAt  *time.Time `bun:"first_failed_at"`
	LastAttemptAt  *time.Time `bun:"last_attempt_at"`
	LastStatusCode *int       `bun:"last_status_code"`
	LastError      *string    `bun:"last_error"`
	SucceededAt    *time.Time `bun:"succeeded_at"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
}

// Attempt is one POST of a delivery and its answer.
type Attempt struct {
	bun.BaseModel `bun:"table:webhook_attempts,alias:wa"`

	TenantID     uuid.UUID `bun:"tenant_id,pk"`
	ID           uuid.UUID `bun:"id,pk"`
	DeliveryID   uuid.UUID `bun:"delivery_id"`
	AttemptedAt  time.Time `bun:"attempted_at"`
	StatusCode   *int      `bun:"status_code"`
	Error        *string   `bun:"error"`
	DurationMS   int64     `bun:"duration_ms"`
	ResponseBody *string   `bun:"response_body"`
}

// Event is something that happened in a tenant, to be delivered to the endpoints subscribed to its type.
type Event struct {
	TenantID uuid.UUID
	Type     string
	// At is when it happened.
	At time.Time
	// Data is the event's data (one of the *Data types), marshalled to JSON.
	Data any
}

// Envelope is the body of every delivery, in the Standard Webhooks payload shape.
type Envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	TenantID  uuid.UUID       `json:"tenant_id"`
	Data      json.RawMessage `json:"data"`
}

// Publisher records events for delivery inside the caller's transaction.
type Publisher interface {
	Publish(ctx context.Context, db bun.IDB, evs ...Event) error
}

// Emit publishes evs through p, when there is a publisher (services built without one publish nothing).
func Emit(ctx context.Context, p Publisher, db bun.IDB, evs ...Event) error {
	if p == nil || len(evs) == 0 {
		return nil
	}
	return p.Publish(ctx, db, evs...)
}

// Service keeps endpoints and their deliveries.
type Service struct {
	db      *store.DB
	clock   clock.Clock
	logger  *slog.Logger
	metrics *Metrics
}

// NewService returns a Service on db; metrics may be nil.
func NewService(db *store.DB, clk clock.Clock, logger *slog.Logger, metrics *Metrics) *Service {
	return &Service{db: db, clock: clk, logger: logger, metrics: metrics}
}

// Publish writes, with db (the caller's transaction), one pending delivery of each event to every enabled
// endpoint of its tenant subscribed to its type, due now. Events of tenants without such endpoints cost one
// indexed read per call.
func (s *Service) Publish(ctx context.Context, db bun.IDB, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	tenants := make([]uuid.UUID, 0, 1)
	for _, ev := range evs {
		if !slices.Contains(tenants, ev.TenantID) {
			tenants = append(tenants, ev.TenantID)
		}
	}
	// KEY SHARE keeps the endpoints from being deleted before the deliveries referring to them commit, and
	// lets every other change to them go on.
	var endpoints []Endpoint
	q := db.NewSelect().Model(&endpoints).Column("tenant_id", "id", "events").Where("tenant_id IN (?) AND enabled", bun.In(tenants))
	if err := store.Lock(s.db.Kind, q, "KEY SHARE").Scan(ctx); err != nil {
		return fmt.Errorf("find webhook endpoints: %w", err)
	}
	if len(endpoints) == 0 {
		return nil
	}
	now := s.clock.Now()
	var rows []Delivery
	for _, ev := range evs {
		var id string
		var body []byte
		for i := range endpoints {
			ep := &endpoints[i]
			if ep.TenantID != ev.TenantID || !ep.subscribes(ev.Type) {
				continue
			}
			if body == nil {
				var err error
				if id, body, err = envelope(ev); err != nil {
					return err
				}
			}
			rows = append(rows, Delivery{TenantID: ev.TenantID, ID: newID(), EndpointID: ep.ID, EventID: id,
				EventType: ev.Type, Payload: body, Status: StatusPending, NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("queue webhook deliveries: %w", err)
	}
	return nil
}

// envelope gives an event a new id and renders its body.
func envelope(ev Event) (string, []byte, error) {
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return "", nil, fmt.Errorf("render %s event: %w", ev.Type, err)
	}
	id := webhook.NewID()
	body, err := json.Marshal(Envelope{ID: id, Type: ev.Type, Timestamp: ev.At.UTC(), TenantID: ev.TenantID, Data: data})
	return id, body, err
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// notFound maps "no rows" to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
