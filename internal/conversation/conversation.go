// Package conversation owns the WhatsApp conversations Plinx reports: their messages, the records each is
// linked to (vínculo), re-linking before qualification with its history, and qualification, which records
// the interaction on the linked records and freezes the link.
package conversation

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/crm"
)

// Conversation statuses.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Conversation is a WhatsApp conversation with a customer, as Plinx reported it, and what atende knows of it.
type Conversation struct {
	bun.BaseModel `bun:"table:conversations,alias:cv"`

	TenantID      uuid.UUID  `bun:"tenant_id,pk"`
	ID            uuid.UUID  `bun:"id,pk"`
	PlinxID       string     `bun:"plinx_id"`
	PhoneID       uuid.UUID  `bun:"phone_id"`
	Status        string     `bun:"status"`
	StartedAt     *time.Time `bun:"started_at"`
	ClosedAt      *time.Time `bun:"closed_at"`
	LastMessageAt *time.Time `bun:"last_message_at"`
	PlinxAgent    *string    `bun:"plinx_agent"`
	AssignedTo    *uuid.UUID `bun:"assigned_to"`
	AssignedAt    *time.Time `bun:"assigned_at"`
	// TeamID, Routing and OverflowAt say where routing put the conversation (see package routing).
	TeamID        *uuid.UUID `bun:"team_id"`
	Routing       *string    `bun:"routing"`
	OverflowAt    *time.Time `bun:"overflow_at"`
	CompanyID     *uuid.UUID `bun:"company_id"`
	ContactID     *uuid.UUID `bun:"contact_id"`
	LeadID        *uuid.UUID `bun:"lead_id"`
	QualifiedAt   *time.Time `bun:"qualified_at"`
	QualifiedBy   *uuid.UUID `bun:"qualified_by"`
	InteractionID *uuid.UUID `bun:"interaction_id"`
	Version       int64      `bun:"version"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`

	// Loaded with the conversation: its phone and the names of the linked records.
	Phone   crm.Phone      `bun:"-"`
	Company *crm.RecordRef `bun:"-"`
	Contact *crm.RecordRef `bun:"-"`
	Lead    *crm.RecordRef `bun:"-"`
}

// Routing states of a conversation.
const (
	// RoutingOffered is on the waiting lists of the contact's portfolio owners.
	RoutingOffered = "offered"
	// RoutingQueued waits for an available member of its team.
	RoutingQueued = "queued"
	// RoutingAssigned has an agent.
	RoutingAssigned = "assigned"
	// RoutingUnrouted had no team to go to; an admin or supervisor assigns it.
	RoutingUnrouted = "unrouted"
	// RoutingAbandoned closed while still waiting.
	RoutingAbandoned = "abandoned"
)

// Waiting reports whether the conversation waits for an agent.
func (c *Conversation) Waiting() bool {
	return c.Status == StatusOpen && c.Routing != nil && (*c.Routing == RoutingOffered || *c.Routing == RoutingQueued)
}

// Link is what a conversation is recorded against.
type Link struct {
	CompanyID *uuid.UUID
	ContactID *uuid.UUID
	LeadID    *uuid.UUID
	PhoneID   *uuid.UUID
}

func (c *Conversation) link() Link {
	phone := c.PhoneID
	return Link{CompanyID: c.CompanyID, ContactID: c.ContactID, LeadID: c.LeadID, PhoneID: &phone}
}

// Message is a WhatsApp message of a conversation.
type Message struct {
	bun.BaseModel `bun:"table:conversation_messages,alias:cm"`

	TenantID       uuid.UUID  `bun:"tenant_id,pk"`
	ID             uuid.UUID  `bun:"id,pk"`
	ConversationID uuid.UUID  `bun:"conversation_id"`
	PlinxID        string     `bun:"plinx_id"`
	Direction      string     `bun:"direction"`
	Text           *string    `bun:"text"`
	SentAt         *time.Time `bun:"sent_at"`
	Status         *string    `bun:"status"`
	StatusAt       *time.Time `bun:"status_at"`
	ErrorCode      *string    `bun:"error_code"`
	ErrorMessage   *string    `bun:"error_message"`
	CreatedAt      time.Time  `bun:"created_at"`
}

// LinkChange records one change of a conversation's link.
type LinkChange struct {
	bun.BaseModel `bun:"table:conversation_link_changes,alias:lc"`

	TenantID       uuid.UUID  `bun:"tenant_id,pk"`
	ID             uuid.UUID  `bun:"id,pk"`
	ConversationID uuid.UUID  `bun:"conversation_id"`
	Reason         string     `bun:"reason"`
	ActorID        *uuid.UUID `bun:"actor_id"`
	FromCompanyID  *uuid.UUID `bun:"from_company_id"`
	FromContactID  *uuid.UUID `bun:"from_contact_id"`
	FromLeadID     *uuid.UUID `bun:"from_lead_id"`
	FromPhoneID    *uuid.UUID `bun:"from_phone_id"`
	ToCompanyID    *uuid.UUID `bun:"to_company_id"`
	ToContactID    *uuid.UUID `bun:"to_contact_id"`
	ToLeadID       *uuid.UUID `bun:"to_lead_id"`
	ToPhoneID      *uuid.UUID `bun:"to_phone_id"`
	CreatedAt      time.Time  `bun:"created_at"`
}

// Link change reasons.
const (
	ReasonAutomatic = "automatic"
	ReasonManual    = "manual"
)

// Errors returned by this package.
var (
	ErrNotFound      = errors.New("not found")
	ErrStale         = errors.New("the conversation changed since the version given")
	ErrQualified     = errors.New("the conversation is already qualified; its link can no longer change")
	ErrNotLinked     = errors.New("link the conversation to a company, contact or lead before qualifying it")
	ErrNotYours      = errors.New("agents may only re-link conversations assigned to them or not yet assigned")
	ErrUnknownTenant = errors.New("unknown tenant")
)

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
