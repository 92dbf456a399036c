// Package tenant owns tenants and their settings, the users who work in them, and the API keys those users
// call atende with. Every other subject hangs off a tenant; every query here is scoped by one.
package tenant

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Role is what a user may do in its tenant.
type Role string

// The roles.
const (
	RoleAdmin       Role = "admin"
	RoleSupervisor  Role = "supervisor"
	RoleAgent       Role = "agent"
	RoleIntegration Role = "integration"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleAgent, RoleIntegration:
		return true
	}
	return false
}

// UserStatus says whether a user may still act.
type UserStatus string

// The user statuses.
const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
)

// Valid reports whether s is a known status.
func (s UserStatus) Valid() bool { return s == UserActive || s == UserDisabled }

// Defaults for a new tenant.
const (
	DefaultTimezone    = "America/Sao_Paulo"
	DefaultCountryCode = "55"
)

// Features are a tenant's feature flags.
type Features struct {
	// PortfolioRouting (Carteirização de contatos) routes a contact's conversations to its portfolios' owners.
	PortfolioRouting bool `json:"portfolio_routing"`
	// PortfolioAutoInclude puts the contact of a conversation an agent qualifies in the agent's portfolio
	// when the contact is in none.
	PortfolioAutoInclude bool `json:"portfolio_auto_include"`
}

// Tenant is one customer of atende: a contact center with its own records, users and settings.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants,alias:t"`

	ID                 uuid.UUID `bun:"id,pk"`
	Name               string    `bun:"name"`
	Timezone           string    `bun:"timezone"`
	DefaultCountryCode string    `bun:"default_country_code"`
	Features           Features  `bun:"features,type:jsonb"`
	// WorkingDays lists the days the tenant works, comma-separated lower-case English weekday names.
	WorkingDays string `bun:"working_days"`
	// OpensAt and ClosesAt are the working hours, HH:MM in the tenant's zone.
	OpensAt  string `bun:"opens_at"`
	ClosesAt string `bun:"closes_at"`
	// PlinxBaseURL, PlinxToken and PlinxWebhookSecret connect the tenant to Plinx; the secrets never leave
	// through the API.
	PlinxBaseURL       *string `bun:"plinx_base_url"`
	PlinxToken         *string `bun:"plinx_token"`
	PlinxWebhookSecret *string `bun:"plinx_webhook_secret"`
	// TrackingURLTemplate and SurveyURLTemplate are the tickets' public links, with {token} replaced by a
	// ticket's public token; a nil tracking template uses atende's own public page, a nil survey template
	// means no survey link.
	TrackingURLTemplate *string `bun:"tracking_url_template"`
	SurveyURLTemplate   *string `bun:"survey_url_template"`
	// Version increases with every settings change; the API shows it as the ETag.
	Version   int64     `bun:"version"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// User is a person (or, with the integration role, a system) acting in a tenant.
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	TenantID  uuid.UUID  `bun:"tenant_id,pk"`
	ID        uuid.UUID  `bun:"id,pk"`
	Name      string     `bun:"name"`
	Email     string     `bun:"email"`
	Role      Role       `bun:"role"`
	Status    UserStatus `bun:"status"`
	Version   int64      `bun:"version"`
	CreatedAt time.Time  `bun:"created_at"`
	UpdatedAt time.Time  `bun:"updated_at"`

	Tenant *Tenant `bun:"rel:belongs-to,join:tenant_id=id"`
}

// APIKey is a credential acting as one user. Only a hash of its secret is stored.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys,alias:k"`

	TenantID   uuid.UUID  `bun:"tenant_id,pk"`
	ID         uuid.UUID  `bun:"id,pk"`
	UserID     uuid.UUID  `bun:"user_id"`
	Name       string     `bun:"name"`
	Prefix     string     `bun:"prefix"`
	Hash       []byte     `bun:"hash"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`

	User *User `bun:"rel:belongs-to,join:tenant_id=tenant_id,join:user_id=id"`
}

// IssuedKey is a newly created key with its secret, which exists only until it is shown.
type IssuedKey struct {
	Key    APIKey
	Secret string
}

// Principal is who is behind an authenticated request.
type Principal struct {
	Tenant Tenant
	User   User
	Key    APIKey
}

// Principal returns the provisioned admin as a principal, for work done on the new tenant's behalf.
func (p Provisioned) Principal() Principal {
	return Principal{Tenant: p.Tenant, User: p.Admin, Key: p.Key.Key}
}

// Actor is the part of a principal that domain rules need: which tenant, which user, which role, and the
// tenant's default country calling code for the phone numbers the user types.
type Actor struct {
	TenantID    uuid.UUID
	UserID      uuid.UUID
	Role        Role
	CountryCode string
}

// Actor returns the principal as an Actor.
func (p Principal) Actor() Actor {
	return Actor{TenantID: p.Tenant.ID, UserID: p.User.ID, Role: p.User.Role, CountryCode: p.Tenant.DefaultCountryCode}
}

// Errors returned by this package.
var (
	ErrNotFound     = errors.New("not found")
	ErrEmailTaken   = errors.New("a user with this email already exists in the tenant")
	ErrStale        = errors.New("the object changed since the version given")
	ErrLastAdmin    = errors.New("the tenant must keep at least one active admin")
	ErrForbidden    = errors.New("only admins may act on other users' keys")
	ErrUserDisabled = errors.New("the user is disabled")
	ErrKeyUnknown   = errors.New("the API key is not valid")
	ErrKeyRevoked   = errors.New("the API key has been revoked")
	ErrKeyExpired   = errors.New("the API key has expired")
)
