// Package telephony is the port the dialer hands calls to, and its adapters.
//
// The dialer places a Call through a Port once its transaction has committed; Place returns as soon as the
// far end has taken the call, and the call's progress (answered, no answer, busy, failed, ended) comes back
// later as Events, on POST /v1/calls/{id}/events for a real telephony system or through a Reporter for the
// simulated one. Placing the same call (same ID) again never rings the customer twice: the webhook adapter
// sends the call id as the Standard Webhooks webhook-id so the far end drops repeats, and the simulated
// adapter drops them itself. So when Place fails without saying the call was refused, placing it again is safe.
//
// Adapters: Webhook (a signed POST to the tenant's telephony URL), Simulated (for `make run` and tests), and
// Router, which picks one of them per tenant.
package telephony

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Call is a call the dialer places: one attempt at one entry.
type Call struct {
	// TenantID is the tenant the call belongs to; it picks the adapter, URL and secret.
	TenantID uuid.UUID
	// ID identifies the call; placing the same ID twice must not ring the customer twice.
	ID uuid.UUID
	// EntryID is the dial entry this call is an attempt at.
	EntryID uuid.UUID
	// CampaignID is the campaign of the entry.
	CampaignID uuid.UUID
	// AgentID is the agent the call is for; uuid.Nil when no agent is attached.
	AgentID uuid.UUID
	// Attempt is the entry's attempt number this call is (1 for the first).
	Attempt int
	// Number is the customer's number in E.164 ("+5511987654321").
	Number string
	// Adapter names the adapter the Router places the call on, as the tenant's settings read when the call
	// was made; empty makes the Router look the tenant's adapter up.
	Adapter string
}

// Event kinds a call reports.
const (
	// Answered means the customer picked up; the call goes on until Ended.
	Answered = "answered"
	// NoAnswer means the call rang out without an answer.
	NoAnswer = "no_answer"
	// Busy means the customer's line was busy.
	Busy = "busy"
	// Failed means the call could not be made (bad number, network failure).
	Failed = "failed"
	// Ended means an answered call hung up.
	Ended = "ended"
)

// ValidKind tells whether kind is one of the event kinds a call reports.
func ValidKind(kind string) bool {
	switch kind {
	case Answered, NoAnswer, Busy, Failed, Ended:
		return true
	}
	return false
}

// Event is what happened to a call.
type Event struct {
	// TenantID is the tenant of the call.
	TenantID uuid.UUID
	// CallID is the call's ID, as placed.
	CallID uuid.UUID
	// Kind is one of Answered, NoAnswer, Busy, Failed and Ended.
	Kind string
	// At is when it happened.
	At time.Time
}

// Reporter delivers call events back into atende (the dialer's call-event handling).
type Reporter func(ctx context.Context, ev Event) error

// Port places calls. Place must return quickly; the call's progress comes back as events. Placing the same
// call (same ID) twice must not ring the customer twice: adapters pass the call id on so the far end can
// drop repeats, and the simulated adapter ignores repeats itself.
type Port interface {
	// Place hands the call to the telephony system. A nil error means the far end took it; it does not mean
	// the call was answered.
	Place(ctx context.Context, c Call) error
}

// Adapter names, as a tenant's dialer settings spell them (telephony_adapter).
const (
	// AdapterSimulated names the Simulated adapter.
	AdapterSimulated = "simulated"
	// AdapterWebhook names the Webhook adapter.
	AdapterWebhook = "webhook"
)

// Errors the adapters return; compare with errors.Is.
var (
	// ErrInvalidCall means the call lacks its tenant, its ID or its number; it was not placed.
	ErrInvalidCall = errors.New("telephony: invalid call")
	// ErrRejected means the far end refused the call (a 4xx, or another answer that is neither success nor a
	// server error). Placing the same call again will not help; *StatusError has the status.
	ErrRejected = errors.New("telephony: call rejected")
	// ErrUnavailable means the far end could not be reached or did not answer in time (connection error,
	// timeout, 5xx after the retries). It may or may not have taken the call; placing the same call again is
	// safe, since repeats are dropped.
	ErrUnavailable = errors.New("telephony: endpoint unavailable")
	// ErrNotConfigured means the tenant has no usable telephony URL or secret.
	ErrNotConfigured = errors.New("telephony: not configured")
	// ErrUnknownAdapter means a tenant's adapter name has no adapter behind it.
	ErrUnknownAdapter = errors.New("telephony: unknown adapter")
	// ErrClosed means the adapter was closed; the call was not placed.
	ErrClosed = errors.New("telephony: adapter closed")
	// ErrQueueFull means the simulated adapter's report queue is full; the call was not placed (not even
	// recorded), so placing it again later is a first placement, not a repeat.
	ErrQueueFull = errors.New("telephony: simulated report queue full")
)

// validate checks what every adapter needs of a call.
func (c Call) validate() error {
	switch {
	case c.TenantID == uuid.Nil:
		return fmt.Errorf("%w: no tenant", ErrInvalidCall)
	case c.ID == uuid.Nil:
		return fmt.Errorf("%w: no call id", ErrInvalidCall)
	case c.Number == "":
		return fmt.Errorf("%w: no number", ErrInvalidCall)
	}
	return nil
}
