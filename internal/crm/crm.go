// Package crm owns the records every channel writes to: companies, contacts, leads and their phones, the
// updates log of each record, the results catalog, interactions (atendimentos) and follow-ups
// (agendamentos), and the bulk import of contacts.
package crm

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// RecordType names the kind of record a phone, an update or an interaction points at.
type RecordType string

// The record types.
const (
	RecordCompany RecordType = "company"
	RecordContact RecordType = "contact"
	RecordLead    RecordType = "lead"
)

// Valid reports whether t is a known record type.
func (t RecordType) Valid() bool {
	return t == RecordCompany || t == RecordContact || t == RecordLead
}

// Address is a postal address of a company.
type Address struct {
	Kind       string `json:"kind,omitempty"`
	Street     string `json:"street,omitempty"`
	Number     string `json:"number,omitempty"`
	Complement string `json:"complement,omitempty"`
	District   string `json:"district,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Company is a customer organisation (empresa).
type Company struct {
	bun.BaseModel `bun:"table:companies,alias:co"`

	TenantID     uuid.UUID      `bun:"tenant_id,pk"`
	ID           uuid.UUID      `bun:"id,pk"`
	LegalName    string         `bun:"legal_name"`
	TradeName    *string        `bun:"trade_name"`
	CNPJ         *string        `bun:"cnpj"`
	Status       string         `bun:"status"`
	OwnerID      *uuid.UUID     `bun:"owner_id"`
	CustomFields map[string]any `bun:"custom_fields,type:jsonb"`
	Addresses    []Address      `bun:"addresses,type:jsonb"`
	SearchText   string         `bun:"search_text"`
	ArchivedAt   *time.Time     `bun:"archived_at"`
	DeletedAt    *time.Time     `bun:"deleted_at"`
	Version      int64          `bun:"version"`
	CreatedAt    time.Time      `bun:"created_at"`
	UpdatedAt    time.Time      `bun:"updated_at"`

	// Phones are loaded with the company; they are not columns.
	Phones []Phone `bun:"-"`
}

// Company statuses.
const (
	CompanyActive   = "active"
	CompanyInactive = "inactive"
)

// Contact is a person (contato). A contact may act for several companies of one group.
type Contact struct {
	bun.BaseModel `bun:"table:contacts,alias:ct"`

	TenantID   uuid.UUID  `bun:"tenant_id,pk"`
	ID         uuid.UUID  `bun:"id,pk"`
	Name       string     `bun:"name"`
	Email      *string    `bun:"email"`
	JobTitle   *string    `bun:"job_title"`
	Birthday   *string    `bun:"birthday"` // YYYY-MM-DD
	Notes      *string    `bun:"notes"`
	SearchText string     `bun:"search_text"`
	ArchivedAt *time.Time `bun:"archived_at"`
	DeletedAt  *time.Time `bun:"deleted_at"`
	Version    int64      `bun:"version"`
	CreatedAt  time.Time  `bun:"created_at"`
	UpdatedAt  time.Time  `bun:"updated_at"`

	CompanyIDs []uuid.UUID `bun:"-"`
	Phones     []Phone     `bun:"-"`
}

// Lead is a prospect not yet a customer.
type Lead struct {
	bun.BaseModel `bun:"table:leads,alias:ld"`

	TenantID    uuid.UUID  `bun:"tenant_id,pk"`
	ID          uuid.UUID  `bun:"id,pk"`
	Name        string     `bun:"name"`
	CompanyName *string    `bun:"company_name"`
	Email       *string    `bun:"email"`
	Source      *string    `bun:"source"`
	Status      string     `bun:"status"`
	SearchText  string     `bun:"search_text"`
	ArchivedAt  *time.Time `bun:"archived_at"`
	DeletedAt   *time.Time `bun:"deleted_at"`
	Version     int64      `bun:"version"`
	CreatedAt   time.Time  `bun:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at"`

	Phones []Phone `bun:"-"`
}

// Lead statuses.
const (
	LeadNew       = "new"
	LeadContacted = "contacted"
	LeadQualified = "qualified"
	LeadConverted = "converted"
	LeadLost      = "lost"
)

// Phone is a number in E.164 that belongs to any number of records.
type Phone struct {
	bun.BaseModel `bun:"table:phones,alias:ph"`

	TenantID            uuid.UUID  `bun:"tenant_id,pk"`
	ID                  uuid.UUID  `bun:"id,pk"`
	E164                string     `bun:"e164"`
	Type                string     `bun:"type"`
	WhatsAppID          *string    `bun:"whatsapp_id"`
	WhatsAppConfirmedAt *time.Time `bun:"whatsapp_confirmed_at"`
	Version             int64      `bun:"version"`
	CreatedAt           time.Time  `bun:"created_at"`
	UpdatedAt           time.Time  `bun:"updated_at"`

	// Links are the records the phone belongs to, when loaded.
	Links []RecordRef `bun:"-"`
}

// PhoneLink ties a phone to a record.
type PhoneLink struct {
	bun.BaseModel `bun:"table:phone_links,alias:pl"`

	TenantID   uuid.UUID  `bun:"tenant_id,pk"`
	PhoneID    uuid.UUID  `bun:"phone_id,pk"`
	RecordType RecordType `bun:"record_type"`
	RecordID   uuid.UUID  `bun:"record_id,pk"`
	CreatedAt  time.Time  `bun:"created_at"`
}

// ContactCompany says a contact acts for a company.
type ContactCompany struct {
	bun.BaseModel `bun:"table:contact_companies,alias:cc"`

	TenantID  uuid.UUID `bun:"tenant_id,pk"`
	ContactID uuid.UUID `bun:"contact_id,pk"`
	CompanyID uuid.UUID `bun:"company_id,pk"`
}

// RecordRef names a record.
type RecordRef struct {
	Type     RecordType
	ID       uuid.UUID
	Name     string
	Archived bool
}

// Update is an entry of a record's updates log (Atualizações).
type Update struct {
	bun.BaseModel `bun:"table:record_updates,alias:ru"`

	TenantID   uuid.UUID  `bun:"tenant_id,pk"`
	ID         uuid.UUID  `bun:"id,pk"`
	RecordType RecordType `bun:"record_type"`
	RecordID   uuid.UUID  `bun:"record_id"`
	Kind       string     `bun:"kind"`
	Message    string     `bun:"message"`
	ActorID    *uuid.UUID `bun:"actor_id"`
	CreatedAt  time.Time  `bun:"created_at"`
}

// Update kinds.
const (
	UpdateSystem = "system"
	UpdateUser   = "user"
)

// PhoneTakenError is ErrPhoneTaken with the id of the phone that already has the number.
type PhoneTakenError struct{ ID uuid.UUID }

func (e PhoneTakenError) Error() string {
	return ErrPhoneTaken.Error() + " (phone " + e.ID.String() + ")"
}

// Unwrap makes errors.Is(err, ErrPhoneTaken) hold.
func (e PhoneTakenError) Unwrap() error { return ErrPhoneTaken }

// Errors returned by this package.
var (
	ErrNotFound       = errors.New("not found")
	ErrStale          = errors.New("the object changed since the version given")
	ErrCNPJTaken      = errors.New("another company of the tenant has this CNPJ")
	ErrPhoneTaken     = errors.New("the tenant already has this phone number")
	ErrHasHistory     = errors.New("the record has history (interactions or follow-ups); archive it before deleting it")
	ErrSystemResult   = errors.New("system results cannot be changed or deleted")
	ErrResultInUse    = errors.New("interactions use this result; archive it instead")
	ErrCodeTaken      = errors.New("a result with this code already exists")
	ErrArchivedResult = errors.New("the result is archived")
)

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
