// Package ticket owns tickets fed by external systems (ERPs): the integrations that send signed events, the
// tickets they create or update by external code, the procedures whose tasks a ticket goes through, the
// WhatsApp templates those tasks send, and the outbox of template messages with the worker that sends them
// through Plinx.
package ticket

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// User-facing texts written on a ticket's timeline (seed 002).
const (
	// NoPhoneText is written when a message cannot go out because the customer has no WhatsApp number.
	NoPhoneText = "Não possui telefone para envio de mensagem"
)

// Ticket statuses.
const (
	StatusOpen       = "open"
	StatusInProgress = "in_progress"
	StatusWaiting    = "waiting"
	StatusClosed     = "closed"
)

// ValidStatus tells whether s is a ticket status.
func ValidStatus(s string) bool {
	switch s {
	case StatusOpen, StatusInProgress, StatusWaiting, StatusClosed:
		return true
	}
	return false
}

// Message statuses, in the order a message goes through them; failed ends it.
const (
	MessageQueued    = "queued"
	MessageAccepted  = "accepted"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
	MessageFailed    = "failed"
)

// statusRank orders message statuses: a status applies only over a lower one, so statuses arriving out of
// order never move a message back. A failure after "sent" counts; after "delivered" it cannot happen.
var statusRank = map[string]int{
	MessageQueued: 0, MessageAccepted: 1, MessageSent: 2, MessageFailed: 3, MessageDelivered: 4, MessageRead: 5,
}

// Errors of the package; the API maps them to problems.
var (
	ErrNotFound = errors.New("not found")
	ErrStale    = errors.New("the object changed since it was read")
	// ErrTemplateTaken means the tenant has a template with that name and language.
	ErrTemplateTaken = errors.New("a template with this name and language exists")
	// ErrTaskInUse means a procedure change removes a task tickets are in.
	ErrTaskInUse = errors.New("tickets are in a task this change removes")
	// ErrClosed means the ticket is closed.
	ErrClosed = errors.New("the ticket is closed")
	// ErrNotClosed means the ticket is not closed.
	ErrNotClosed = errors.New("the ticket is not closed")
	// ErrLastTask means the ticket is at its procedure's last task, or has no procedure.
	ErrLastTask = errors.New("the ticket is at its procedure's last task")
	// ErrNoOrderKey means an event carries neither a version nor a time.
	ErrNoOrderKey = errors.New("the event has neither version nor occurred_at")
	// ErrIntegrationUnknown means no active integration has that id.
	ErrIntegrationUnknown = errors.New("no such active integration")
)

// Template is a WhatsApp template (HSM) approved in Plinx.
type Template struct {
	bun.BaseModel `bun:"table:message_templates,alias:mt"`

	TenantID uuid.UUID `bun:"tenant_id,pk"`
	ID       uuid.UUID `bun:"id,pk"`
	// Name is the template's name in Plinx.
	Name     string `bun:"name"`
	Language string `bun:"language"`
	// Body is the text with {{1}}, {{2}}... placeholders.
	Body string `bun:"body"`
	// Variables label the placeholders, in order.
	Variables []string  `bun:"variables,type:jsonb"`
	Version   int64     `bun:"version"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// Procedure is an ordered list of tasks a ticket goes through.
type Procedure struct {
	bun.BaseModel `bun:"table:procedures,alias:pr"`

	TenantID    uuid.UUID `bun:"tenant_id,pk"`
	ID          uuid.UUID `bun:"id,pk"`
	Name        string    `bun:"name"`
	Description *string   `bun:"description"`
	Version     int64     `bun:"version"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`

	// Tasks are the procedure's tasks by position, when loaded.
	Tasks []Task `bun:"-"`
}

// Task is one step of a procedure; entering it may send a WhatsApp template.
type Task struct {
	bun.BaseModel `bun:"table:procedure_tasks,alias:tk"`

	TenantID     uuid.UUID  `bun:"tenant_id,pk"`
	ID           uuid.UUID  `bun:"id,pk"`
	ProcedureID  uuid.UUID  `bun:"procedure_id"`
	Position     int        `bun:"position"`
	Name         string     `bun:"name"`
	SendWhatsApp bool       `bun:"send_whatsapp"`
	TemplateID   *uuid.UUID `bun:"template_id"`
	// Variables are the ticket fields filling the template's placeholders, in order.
	Variables []string `bun:"variables,type:jsonb"`

	// TemplateName and TemplateLanguage are read with the task by procedureTasks, never written.
	TemplateName     *string `bun:"template_name,scanonly"`
	TemplateLanguage *string `bun:"template_language,scanonly"`
}

// StatusMapping maps one of an external system's statuses to a ticket status.
type StatusMapping struct {
	External string `json:"external"`
	Status   string `json:"status"`
	Critical bool   `json:"critical"`
}

// Integration is an external system that sends ticket events.
type Integration struct {
	bun.BaseModel `bun:"table:integrations,alias:ig"`

	TenantID uuid.UUID `bun:"tenant_id,pk"`
	ID       uuid.UUID `bun:"id,pk"`
	Name     string    `bun:"name"`
	Active   bool      `bun:"active"`
	// Secret signs the integration's deliveries; PreviousSecret still verifies until PreviousExpiresAt.
	Secret             string          `bun:"secret"`
	PreviousSecret     *string         `bun:"previous_secret"`
	PreviousExpiresAt  *time.Time      `bun:"previous_expires_at"`
	SecretRotatedAt    *time.Time      `bun:"secret_rotated_at"`
	DefaultProcedureID *uuid.UUID      `bun:"default_procedure_id"`
	StatusMap          []StatusMapping `bun:"status_map,type:jsonb"`
	Version            int64           `bun:"version"`
	CreatedAt          time.Time       `bun:"created_at"`
	UpdatedAt          time.Time       `bun:"updated_at"`
}

// Secrets returns the secrets that verify a delivery at now: the current one, and the previous one during
// its grace period.
func (ig Integration) Secrets(now time.Time) []string {
	out := []string{ig.Secret}
	if ig.PreviousSecret != nil && ig.PreviousExpiresAt != nil && now.Before(*ig.PreviousExpiresAt) {
		out = append(out, *ig.PreviousSecret)
	}
	return out
}

// mapStatus maps an external status: a status of the map (case-insensitive), or else open, not critical.
func (ig Integration) mapStatus(external string) StatusMapping {
	for _, m := range ig.StatusMap {
		if equalFold(m.External, external) {
			return m
		}
	}
	return StatusMapping{External: external, Status: StatusOpen}
}

// Customer is who a ticket is for, as the external system describes them.
type Customer struct {
	Document *string
	Name     *string
	Phone    *string
	Email    *string
}

// Ticket is a case opened by an external system, identified there by its external code.
type Ticket struct {
	bun.BaseModel `bun:"table:tickets,alias:tc"`

	TenantID           uuid.UUID      `bun:"tenant_id,pk,type:uuid"`
	ID                 uuid.UUID      `bun:"id,pk,type:uuid"`
	IntegrationID      uuid.UUID      `bun:"integration_id,type:uuid"`
	ExternalCode       string         `bun:"external_code"`
	ProcessNumber      *string        `bun:"process_number"`
	IssuedAt           *string        `bun:"issued_at"` // YYYY-MM-DD
	ProductDescription *string        `bun:"product_description"`
	Problem            *string        `bun:"problem"`
	CustomerDocument   *string        `bun:"customer_document"`
	CustomerName       *string        `bun:"customer_name"`
	CustomerPhone      *string        `bun:"customer_phone"` // E.164
	CustomerEmail      *string        `bun:"customer_email"`
	CompanyID          *uuid.UUID     `bun:"company_id,type:uuid"`
	ContactID          *uuid.UUID     `bun:"contact_id,type:uuid"`
	ExternalStatus     string         `bun:"external_status"`
	Status             string         `bun:"status"`
	Critical           bool           `bun:"critical"`
	ProcedureID        *uuid.UUID     `bun:"procedure_id,type:uuid"`
	CurrentTaskID      *uuid.UUID     `bun:"current_task_id,type:uuid"`
	SourceVersion      int64          `bun:"source_version"`
	Extra              map[string]any `bun:"extra,type:jsonb"`
	PublicToken        string         `bun:"public_token"`
	ClosedAt           *time.Time     `bun:"closed_at"`
	Version            int64          `bun:"version"`
	CreatedAt          time.Time      `bun:"created_at"`
	UpdatedAt          time.Time      `bun:"updated_at"`

	// CurrentTask is the task the ticket is in, when loaded.
	CurrentTask *Task `bun:"-"`
	// CurrentTaskName and CurrentTaskPosition are read with the ticket by ticketByCode, never written.
	CurrentTaskName     *string `bun:"current_task_name,scanonly"`
	CurrentTaskPosition *int    `bun:"current_task_position,scanonly"`
	// FreshReceipt is read with the ticket when an event's delivery is recorded in the same statement.
	FreshReceipt *bool `bun:"fresh_receipt,scanonly"`
	// TrackingURL and SurveyURL are the ticket's public links, when loaded.
	TrackingURL string  `bun:"-"`
	SurveyURL   *string `bun:"-"`
}

// Protocol is the number the customer knows the ticket by: the process number, or the external code.
func (t *Ticket) Protocol() string {
	if t.ProcessNumber != nil && *t.ProcessNumber != "" {
		return *t.ProcessNumber
	}
	return t.ExternalCode
}

// Timeline entry kinds.
const (
	KindCreated          = "created"
	KindUpdated          = "updated"
	KindStaleEvent       = "stale_event"
	KindStatusChanged    = "status_changed"
	KindTaskEntered      = "task_entered"
	KindClosed           = "closed"
	KindReopened         = "reopened"
	KindMessageQueued    = "message_queued"
	KindMessageAccepted  = "message_accepted"
	KindMessageRetry     = "message_retry"
	KindMessageSent      = "message_sent"
	KindMessageDelivered = "message_delivered"
	KindMessageRead      = "message_read"
	KindMessageFailed    = "message_failed"
	KindNoPhone          = "no_phone"
)

// TimelineEntry is one thing that happened to a ticket.
type TimelineEntry struct {
	bun.BaseModel `bun:"table:ticket_timeline,alias:tl"`

	TenantID  uuid.UUID      `bun:"tenant_id,pk"`
	TicketID  uuid.UUID      `bun:"ticket_id,pk"`
	ID        uuid.UUID      `bun:"id,pk"`
	Kind      string         `bun:"kind"`
	Text      string         `bun:"text"`
	MessageID *uuid.UUID     `bun:"message_id"`
	TaskID    *uuid.UUID     `bun:"task_id"`
	Data      map[string]any `bun:"data,type:json"`
	At        time.Time      `bun:"at"`
}

// Message is a WhatsApp template message to a ticket's customer, written in the outbox when the ticket
// enters a task that sends one.
type Message struct {
	bun.BaseModel `bun:"table:outbound_messages,alias:om"`

	TenantID       uuid.UUID  `bun:"tenant_id,pk"`
	ID             uuid.UUID  `bun:"id,pk"`
	TicketID       uuid.UUID  `bun:"ticket_id"`
	TaskID         uuid.UUID  `bun:"task_id"`
	TemplateID     uuid.UUID  `bun:"template_id"`
	Template       string     `bun:"template"`
	Language       string     `bun:"language"`
	Variables      []string   `bun:"variables,type:jsonb"`
	To             *string    `bun:"to_phone"`
	WaID           *string    `bun:"wa_id"`
	Status         string     `bun:"status"`
	Attempts       int        `bun:"attempts"`
	NextAttemptAt  *time.Time `bun:"next_attempt_at"`
	LeaseUntil     *time.Time `bun:"lease_until"`
	LeasedBy       *string    `bun:"leased_by"`
	PlinxMessageID *string    `bun:"plinx_message_id"`
	ErrorCode      *string    `bun:"error_code"`
	ErrorMessage   *string    `bun:"error_message"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
	AcceptedAt     *time.Time `bun:"accepted_at"`
	SentAt         *time.Time `bun:"sent_at"`
	DeliveredAt    *time.Time `bun:"delivered_at"`
	ReadAt         *time.Time `bun:"read_at"`
	FailedAt       *time.Time `bun:"failed_at"`
}

// pendingStatus is a Plinx status that arrived before the send it is about was recorded.
type pendingStatus struct {
	bun.BaseModel `bun:"table:pending_message_statuses,alias:ps"`

	TenantID       uuid.UUID `bun:"tenant_id,pk"`
	PlinxMessageID string    `bun:"plinx_message_id,pk"`
	Status         string    `bun:"status,pk"`
	OccurredAt     time.Time `bun:"occurred_at"`
	ErrorCode      *string   `bun:"error_code"`
	ErrorMessage   *string   `bun:"error_message"`
	ReceivedAt     time.Time `bun:"received_at"`
}

// Ticket fields a task may put in a template's placeholders.
const (
	FieldCustomerName       = "customer_name"
	FieldProtocol           = "protocol"
	FieldExternalCode       = "external_code"
	FieldProductDescription = "product_description"
	FieldProblem            = "problem"
	FieldStatus             = "status"
	FieldIssuedAt           = "issued_at"
	FieldTrackingLink       = "tracking_link"
	FieldSurveyLink         = "survey_link"
)

// ValidField tells whether f is a ticket field a template variable can take.
func ValidField(f string) bool {
	switch f {
	case FieldCustomerName, FieldProtocol, FieldExternalCode, FieldProductDescription, FieldProblem, FieldStatus,
		FieldIssuedAt, FieldTrackingLink, FieldSurveyLink:
		return true
	}
	return false
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
