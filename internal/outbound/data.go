package outbound

import (
	"time"

	"github.com/google/uuid"
)

// ConversationData is the data of conversation.created, conversation.linked and conversation.qualified.
type ConversationData struct {
	ConversationID      uuid.UUID  `json:"conversation_id"`
	PlinxConversationID string     `json:"plinx_conversation_id"`
	Phone               string     `json:"phone"`
	Status              string     `json:"status"`
	CompanyID           *uuid.UUID `json:"company_id"`
	ContactID           *uuid.UUID `json:"contact_id"`
	LeadID              *uuid.UUID `json:"lead_id"`
	AssignedTo          *uuid.UUID `json:"assigned_to"`
	TeamID              *uuid.UUID `json:"team_id"`
	// InteractionID and ResultID are set in conversation.qualified.
	InteractionID *uuid.UUID `json:"interaction_id,omitempty"`
	ResultID      *uuid.UUID `json:"result_id,omitempty"`
}

// PromptData is the data of dialer.prompt.created.
type PromptData struct {
	PromptID   uuid.UUID  `json:"prompt_id"`
	EntryID    uuid.UUID  `json:"entry_id"`
	CampaignID uuid.UUID  `json:"campaign_id"`
	SessionID  uuid.UUID  `json:"session_id"`
	AgentID    uuid.UUID  `json:"agent_id"`
	Number     string     `json:"number"`
	Text       string     `json:"text"`
	ExpiresAt  time.Time  `json:"expires_at"`
	CompanyID  *uuid.UUID `json:"company_id"`
	ContactID  *uuid.UUID `json:"contact_id"`
	LeadID     *uuid.UUID `json:"lead_id"`
}

// CallData is the data of call.created and call.ended.
type CallData struct {
	CallID     uuid.UUID  `json:"call_id"`
	EntryID    uuid.UUID  `json:"entry_id"`
	CampaignID uuid.UUID  `json:"campaign_id"`
	AgentID    uuid.UUID  `json:"agent_id"`
	Number     string     `json:"number"`
	Attempt    int        `json:"attempt"`
	Status     string     `json:"status"`
	Outcome    *string    `json:"outcome"`
	CompanyID  *uuid.UUID `json:"company_id"`
	ContactID  *uuid.UUID `json:"contact_id"`
	LeadID     *uuid.UUID `json:"lead_id"`
}

// TicketData is the data of ticket.created and ticket.updated.
type TicketData struct {
	TicketID       uuid.UUID  `json:"ticket_id"`
	IntegrationID  uuid.UUID  `json:"integration_id"`
	ExternalCode   string     `json:"external_code"`
	ExternalStatus string     `json:"external_status"`
	Status         string     `json:"status"`
	Critical       bool       `json:"critical"`
	CurrentTaskID  *uuid.UUID `json:"current_task_id"`
	CompanyID      *uuid.UUID `json:"company_id"`
	ContactID      *uuid.UUID `json:"contact_id"`
	Version        int64      `json:"version"`
}

// MessageStatusData is the data of message.status.
type MessageStatusData struct {
	MessageID    uuid.UUID `json:"message_id"`
	TicketID     uuid.UUID `json:"ticket_id"`
	Template     string    `json:"template"`
	To           *string   `json:"to"`
	Status       string    `json:"status"`
	ErrorCode    *string   `json:"error_code"`
	ErrorMessage *string   `json:"error_message"`
}
