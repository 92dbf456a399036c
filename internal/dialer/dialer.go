// Package dialer owns the outbound dialer: campaigns and their dial queue, the do-not-call list, agent
// sessions, the worker that drains the queue — asking Plinx before every call whether the customer is already
// in a WhatsApp conversation — and the calls it places.
package dialer

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/calendar"
)

// PromptText is what an agent is asked when the customer is in an active WhatsApp conversation and the
// tenant dials such customers (seed: "Deseja pausar o discador?").
const PromptText = "Cliente com conversa ativa via WhatsApp. Deseja pausar o discador?"

// Updates-log lines written on the record when the dialer does not dial.
const (
	SkippedWhatsAppMessage = "Discagem não realizada: cliente com conversa ativa no WhatsApp (Plinx)."
	DeferredPlinxMessage   = "Discagem adiada: o Plinx não respondeu à verificação de conversa ativa (%s). Nova tentativa após %s."
)

// Settings is the tenant's Gestão do Discador.
type Settings struct {
	bun.BaseModel `bun:"table:dialer_settings,alias:ds"`

	TenantID uuid.UUID `bun:"tenant_id,pk"`
	// DialActiveWhatsApp is "Discar para clientes com conversa ativa no WhatsApp": off, such customers are
	// skipped; on, the agent is asked.
	DialActiveWhatsApp bool `bun:"dial_active_whatsapp"`
	// PromptTimeoutMS is how long the agent has to answer the prompt.
	PromptTimeoutMS int `bun:"prompt_timeout_ms"`
	// CheckTimeoutMS bounds the Plinx check before each call.
	CheckTimeoutMS int `bun:"check_timeout_ms"`
	// UnavailableBackoffMS defers an entry when Plinx cannot answer (the only option: no dial without a check).
	UnavailableBackoffMS int       `bun:"unavailable_backoff_ms"`
	TelephonyAdapter     string    `bun:"telephony_adapter"`
	TelephonyURL         *string   `bun:"telephony_url"`
	TelephonySecret      *string   `bun:"telephony_secret"`
	Version              int64     `bun:"version"`
	UpdatedAt            time.Time `bun:"updated_at"`
}

// DefaultSettings are a tenant's settings until it changes them.
func DefaultSettings(tenantID uuid.UUID) Settings {
	return Settings{TenantID: tenantID, PromptTimeoutMS: 30_000, CheckTimeoutMS: 2_000, UnavailableBackoffMS: 60_000,
		TelephonyAdapter: "simulated", Version: 0}
}

// Campaign statuses.
const (
	CampaignDraft   = "draft"
	CampaignRunning = "running"
	CampaignPaused  = "paused"
	CampaignStopped = "stopped"
)

// Campaign is a set of customers to call, with its calling window and retry rules.
type Campaign struct {
	bun.BaseModel `bun:"table:campaigns,alias:cp"`

	TenantID       uuid.UUID `bun:"tenant_id,pk"`
	ID             uuid.UUID `bun:"id,pk"`
	Name           string    `bun:"name"`
	Status         string    `bun:"status"`
	WindowDays     string    `bun:"window_days"` // comma-separated lower-case weekdays
	WindowStart    string    `bun:"window_start"`
	WindowEnd      string    `bun:"window_end"`
	MaxAttempts    int       `bun:"max_attempts"`
	RetryNoAnswerS int       `bun:"retry_no_answer_s"`
	RetryBusyS     int       `bun:"retry_busy_s"`
	RetryFailedS   int       `bun:"retry_failed_s"`
	RetryWhatsAppS int       `bun:"retry_whatsapp_s"`
	Priority       int       `bun:"priority"`
	Version        int64     `bun:"version"`
	CreatedAt      time.Time `bun:"created_at"`
	UpdatedAt      time.Time `bun:"updated_at"`
}

// Days returns the campaign's calling days.
func (c Campaign) Days() []time.Weekday {
	var out []time.Weekday
	for _, d := range strings.Split(c.WindowDays, ",") {
		for wd := time.Sunday; wd <= time.Saturday; wd++ {
			if strings.ToLower(wd.String()) == d {
				out = append(out, wd)
			}
		}
	}
	return out
}

// retryAfter is how long an entry waits after an outcome before its next attempt.
func (c Campaign) retryAfter(outcome string) time.Duration {
	switch outcome {
	case OutcomeBusy:
		return time.Duration(c.RetryBusyS) * time.Second
	case OutcomeFailed:
		return time.Duration(c.RetryFailedS) * time.Second
	case OutcomeSkippedWhatsApp:
		return time.Duration(c.RetryWhatsAppS) * time.Second
	}
	return time.Duration(c.RetryNoAnswerS) * time.Second
}

// Entry statuses.
const (
	EntryQueued    = "queued"
	EntryClaimed   = "claimed"
	EntryPrompting = "prompting"
	EntryDialing   = "dialing"
	EntryClosed    = "closed"
)

// Outcomes of an attempt, and reasons an entry closes.
const (
	OutcomeNoAnswer        = "no_answer"
	OutcomeBusy            = "busy"
	OutcomeFailed          = "failed"
	OutcomeAnswered        = "answered"
	OutcomeSkippedWhatsApp = "skipped_whatsapp"
	OutcomeWhatsAppContact = "whatsapp_contact"
	CloseDNC               = "dnc"
	CloseMaxAttempts       = "max_attempts"
	CloseRemoved           = "removed"
	CloseCampaignStopped   = "campaign_stopped"
)

// Entry is one customer to call in a campaign: a row of the dial queue.
type Entry struct {
	bun.BaseModel `bun:"table:dial_entries,alias:de"`

	TenantID    uuid.UUID  `bun:"tenant_id,pk"`
	ID          uuid.UUID  `bun:"id,pk"`
	CampaignID  uuid.UUID  `bun:"campaign_id"`
	CompanyID   *uuid.UUID `bun:"company_id"`
	ContactID   *uuid.UUID `bun:"contact_id"`
	LeadID      *uuid.UUID `bun:"lead_id"`
	PhoneID     uuid.UUID  `bun:"phone_id"`
	E164        string     `bun:"e164"`
	FollowUpID  *uuid.UUID `bun:"follow_up_id"`
	Status      string     `bun:"status"`
	DueAt       time.Time  `bun:"due_at"`
	Priority    int        `bun:"priority"`
	Attempts    int        `bun:"attempts"`
	LeaseOwner  *string    `bun:"lease_owner"`
	LeaseUntil  *time.Time `bun:"lease_until"`
	CloseReason *string    `bun:"close_reason"`
	LastOutcome *string    `bun:"last_outcome"`
	Version     int64      `bun:"version"`
	CreatedAt   time.Time  `bun:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at"`
}

// DialEvent is one transition of an entry with its reason.
type DialEvent struct {
	bun.BaseModel `bun:"table:dial_events,alias:dv"`

	TenantID  uuid.UUID `bun:"tenant_id,pk"`
	ID        uuid.UUID `bun:"id,pk"`
	EntryID   uuid.UUID `bun:"entry_id,pk"`
	Attempt   int       `bun:"attempt"`
	Kind      string    `bun:"kind"`
	Reason    *string   `bun:"reason"`
	CreatedAt time.Time `bun:"created_at"`
}

// DNC is a number that must not be called.
type DNC struct {
	bun.BaseModel `bun:"table:dnc_numbers,alias:dn"`

	TenantID  uuid.UUID  `bun:"tenant_id,pk"`
	ID        uuid.UUID  `bun:"id,pk"`
	E164      string     `bun:"e164"`
	Reason    *string    `bun:"reason"`
	CreatedBy *uuid.UUID `bun:"created_by"`
	CreatedAt time.Time  `bun:"created_at"`
}

// Session statuses.
const (
	SessionReady     = "ready"
	SessionPrompting = "prompting"
	SessionOnCall    = "on_call"
	SessionWrapUp    = "wrap_up"
	SessionPaused    = "paused"
	SessionLeft      = "left"
)

// PausePromptTimeout is the pause reason when an agent let a prompt expire.
const PausePromptTimeout = "prompt_timeout"

// Session is an agent working a campaign.
type Session struct {
	bun.BaseModel `bun:"table:agent_sessions,alias:sn"`

	TenantID    uuid.UUID  `bun:"tenant_id,pk"`
	ID          uuid.UUID  `bun:"id,pk"`
	CampaignID  uuid.UUID  `bun:"campaign_id"`
	UserID      uuid.UUID  `bun:"user_id"`
	Status      string     `bun:"status"`
	PauseReason *string    `bun:"pause_reason"`
	CallID      *uuid.UUID `bun:"call_id"`
	PromptID    *uuid.UUID `bun:"prompt_id"`
	Version     int64      `bun:"version"`
	CreatedAt   time.Time  `bun:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at"`
	LeftAt      *time.Time `bun:"left_at"`

	Prompt *Prompt `bun:"-"`
	Call   *Call   `bun:"-"`
}

// Prompt statuses.
const (
	PromptPending   = "pending"
	PromptPaused    = "paused"    // the agent chose to pause the dialer: no call
	PromptContinued = "continued" // the agent chose to dial
	PromptExpired   = "expired"
)

// Prompt asks an agent whether to call a customer who is in an active WhatsApp conversation.
type Prompt struct {
	bun.BaseModel `bun:"table:dial_prompts,alias:dp"`

	TenantID   uuid.UUID  `bun:"tenant_id,pk"`
	ID         uuid.UUID  `bun:"id,pk"`
	EntryID    uuid.UUID  `bun:"entry_id"`
	SessionID  uuid.UUID  `bun:"session_id"`
	Attempt    int        `bun:"attempt"`
	Text       string     `bun:"text"`
	Status     string     `bun:"status"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	AnsweredAt *time.Time `bun:"answered_at"`
	CreatedAt  time.Time  `bun:"created_at"`
}

// Call statuses.
const (
	CallCreated  = "created"
	CallPlaced   = "placed"
	CallAnswered = "answered"
	CallEnded    = "ended"
)

// Call is one attempt at an entry, handed to telephony.
type Call struct {
	bun.BaseModel `bun:"table:calls,alias:cl"`

	TenantID      uuid.UUID  `bun:"tenant_id,pk"`
	ID            uuid.UUID  `bun:"id,pk"`
	EntryID       uuid.UUID  `bun:"entry_id"`
	CampaignID    uuid.UUID  `bun:"campaign_id"`
	Attempt       int        `bun:"attempt"`
	SessionID     uuid.UUID  `bun:"session_id"`
	AgentID       uuid.UUID  `bun:"agent_id"`
	E164          string     `bun:"e164"`
	Status        string     `bun:"status"`
	Outcome       *string    `bun:"outcome"`
	PlacedAt      *time.Time `bun:"placed_at"`
	AnsweredAt    *time.Time `bun:"answered_at"`
	EndedAt       *time.Time `bun:"ended_at"`
	QualifiedAt   *time.Time `bun:"qualified_at"`
	InteractionID *uuid.UUID `bun:"interaction_id"`
	Version       int64      `bun:"version"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
}

// Errors returned by this package.
var (
	ErrNotFound         = errors.New("not found")
	ErrStale            = errors.New("the object changed since the version given")
	ErrCampaignState    = errors.New("the campaign is not in a state that allows this")
	ErrSessionOpen      = errors.New("the agent already has an open dialer session; leave it first")
	ErrSessionState     = errors.New("the session is not in a state that allows this")
	ErrPromptAnswered   = errors.New("the prompt was already answered")
	ErrPromptExpired    = errors.New("the prompt expired; the entry went back to the queue")
	ErrCallState        = errors.New("the call is not in a state that allows this")
	ErrNotYourSession   = errors.New("agents act on their own sessions only")
	ErrDNCTaken         = errors.New("the number is already on the do-not-call list")
	ErrCampaignNotEmpty = errors.New("the campaign has entries in progress")
)

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// windowIn is a campaign's calling window as a calendar: its days and hours, in the tenant's zone, off on
// holidays.
func windowIn(c Campaign, loc *time.Location, holidays []calendar.Holiday) (*calendar.Calendar, error) {
	opens, err := parseTime(c.WindowStart)
	if err != nil {
		return nil, err
	}
	closes, err := parseTime(c.WindowEnd)
	if err != nil {
		return nil, err
	}
	return calendar.New(calendar.Config{Location: loc, WorkingDays: c.Days(), Opens: opens, Closes: closes,
		NationalHolidays: true, Holidays: holidays})
}

func parseTime(s string) (calendar.TimeOfDay, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return calendar.TimeOfDay{}, err
	}
	return calendar.TimeOfDay{Hour: t.Hour(), Minute: t.Minute()}, nil
}
