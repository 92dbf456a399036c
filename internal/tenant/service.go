package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

// touchEvery is how stale a key's last-used time may get before a request refreshes it; it keeps
// authentication from writing on every request.
const touchEvery = time.Minute

// Service holds the rules for tenants, users and keys.
type Service struct {
	db    *bun.DB
	clock clock.Clock
}

// NewService returns a Service on db.
func NewService(db *bun.DB, clk clock.Clock) *Service {
	return &Service{db: db, clock: clk}
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// NewTenant describes a tenant to create with its first admin.
type NewTenant struct {
	Name               string
	Timezone           string // default DefaultTimezone
	DefaultCountryCode string // default DefaultCountryCode
	AdminName          string
	AdminEmail         string
	// AdminSecret, when set, becomes the admin's key instead of a generated one.
	AdminSecret string
}

// Provisioned is a new tenant, its admin and the admin's key.
type Provisioned struct {
	Tenant Tenant
	Admin  User
	Key    IssuedKey
}

// CreateTenant creates a tenant with its first admin user and that admin's API key, in one transaction.
func (s *Service) CreateTenant(ctx context.Context, in NewTenant) (Provisioned, error) {
	var errs validate.Errors
	name := strings.TrimSpace(in.Name)
	if name == "" {
		errs.Add("name", "must not be blank")
	}
	tz := or(in.Timezone, DefaultTimezone)
	checkTimezone(&errs, "timezone", tz)
	cc := or(in.DefaultCountryCode, DefaultCountryCode)
	checkCountryCode(&errs, "default_country_code", cc)
	adminName := strings.TrimSpace(in.AdminName)
	if adminName == "" {
		errs.Add("admin.name", "must not be blank")
	}
	email, ok := normaliseEmail(in.AdminEmail)
	if !ok {
		errs.Add("admin.email", "must be an email address")
	}
	if err := errs.Err(); err != nil {
		return Provisioned{}, err
	}

	now := s.clock.Now()
	out := Provisioned{
		Tenant: Tenant{
			ID: newID(), Name: name, Timezone: tz, DefaultCountryCode: cc,
			WorkingDays: DefaultWorkingDays, OpensAt: DefaultOpensAt, ClosesAt: DefaultClosesAt,
			Version: 1, CreatedAt: now, UpdatedAt: now,
		},
	}
	out.Admin = User{
		TenantID: out.Tenant.ID, ID: newID(), Name: adminName, Email: email,
		Role: RoleAdmin, Status: UserActive, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	out.Key = issue(out.Admin, "bootstrap", in.AdminSecret, nil, now)
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := insertTenant(ctx, tx, &out.Tenant); err != nil {
			return err
		}
		if err := insertUser(ctx, tx, &out.Admin); err != nil {
			return err
		}
		return insertKey(ctx, tx, &out.Key.Key)
	})
	if err != nil {
		return Provisioned{}, err
	}
	out.Key.Key.User = &out.Admin
	return out, nil
}

// Bootstrap creates the tenant "default" when the database has no tenant yet, so a fresh install can be
// used at once. adminSecret, when set, becomes the admin's key. It reports what it created, if anything.
func (s *Service) Bootstrap(ctx context.Context, adminSecret string) (*Provisioned, error) {
	n, err := countTenants(ctx, s.db)
	if err != nil || n > 0 {
		return nil, err
	}
	p, err := s.CreateTenant(ctx, NewTenant{
		Name: "default", AdminName: "Administrator", AdminEmail: "admin@atende.localhost", AdminSecret: adminSecret,
	})
	if err != nil {
		return nil, fmt.Errorf("create the default tenant: %w", err)
	}
	return &p, nil
}

// DefaultTenant returns the tenant Bootstrap creates.
func (s *Service) DefaultTenant(ctx context.Context) (Tenant, error) {
	var t Tenant
	err := s.db.NewSelect().Model(&t).Where("t.name = ?", "default").OrderExpr("t.id").Limit(1).Scan(ctx)
	if err != nil {
		return Tenant{}, fmt.Errorf("find the default tenant: %w", notFound(err))
	}
	return t, nil
}

// Authenticate resolves an API key secret to its principal and records the key's use.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	k, err := keyWithOwner(ctx, s.db, HashSecret(secret))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrKeyUnknown
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.clock.Now()
	switch {
	case k.RevokedAt != nil:
		return Principal{}, ErrKeyRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return Principal{}, ErrKeyExpired
	case k.User.Status != UserActive:
		return Principal{}, ErrUserDisabled
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery {
		if err := touchKey(ctx, s.db, k.TenantID, k.ID, now); err != nil {
			return Principal{}, err
		}
		k.LastUsedAt = &now
	}
	p := Principal{Tenant: *k.User.Tenant, User: *k.User, Key: k}
	p.User.Tenant = nil
	return p, nil
}

// Settings returns the tenant with its settings.
func (s *Service) Settings(ctx context.Context, tenantID uuid.UUID) (Tenant, error) {
	return getTenant(ctx, s.db, tenantID)
}

// SettingsPatch lists the settings to change; nil fields keep their value.
type SettingsPatch struct {
	Timezone           *string
	DefaultCountryCode *string
	BusinessHours      *BusinessHours
	PortfolioRouting   *bool
	// PortfolioAutoInclude, when set, turns automatic inclusion in the qualifying agent's portfolio on or off.
	PortfolioAutoInclude *bool
	// TrackingURLTemplate and SurveyURLTemplate, when set, replace the templates; a nil inner value clears it.
	TrackingURLTemplate **string
	SurveyURLTemplate   **string
}

// UpdateSettings applies patch if the tenant is still at version ifVersion (when given).
func (s *Service) UpdateSettings(ctx context.Context, tenantID uuid.UUID, patch SettingsPatch, ifVersion *int64) (Tenant, error) {
	var errs validate.Errors
	if patch.Timezone != nil {
		checkTimezone(&errs, "timezone", *patch.Timezone)
	}
	if patch.DefaultCountryCode != nil {
		checkCountryCode(&errs, "default_country_code", *patch.DefaultCountryCode)
	}
	if patch.BusinessHours != nil {
		patch.BusinessHours.check(&errs)
	}
	checkURLTemplate(&errs, "tracking_url_template", patch.TrackingURLTemplate)
	checkURLTemplate(&errs, "survey_url_template", patch.SurveyURLTemplate)
	if err := errs.Err(); err != nil {
		return Tenant{}, err
	}
	var t Tenant
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if t, err = getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != t.Version {
			return ErrStale
		}
		setIf(&t.Timezone, patch.Timezone)
		setIf(&t.DefaultCountryCode, patch.DefaultCountryCode)
		setIf(&t.Features.PortfolioRouting, patch.PortfolioRouting)
		setIf(&t.Features.PortfolioAutoInclude, patch.PortfolioAutoInclude)
		if patch.BusinessHours != nil {
			t.SetBusinessHours(*patch.BusinessHours)
		}
		if patch.TrackingURLTemplate != nil {
			t.TrackingURLTemplate = *patch.TrackingURLTemplate
		}
		if patch.SurveyURLTemplate != nil {
			t.SurveyURLTemplate = *patch.SurveyURLTemplate
		}
		expected := t.Version
		t.Version++
		t.UpdatedAt = s.clock.Now()
		ok, err := updateTenant(ctx, tx, &t, expected)
		if err == nil && !ok {
			err = ErrStale
		}
		return err
	})
	return t, err
}

// NewUser describes a user to create.
type NewUser struct {
	Name  string
	Email string
	Role  Role
}

// CreateUser adds an active user to the tenant.
func (s *Service) CreateUser(ctx context.Context, tenantID uuid.UUID, in NewUser) (User, error) {
	var errs validate.Errors
	name := strings.TrimSpace(in.Name)
	if name == "" {
		errs.Add("name", "must not be blank")
	}
	email, ok := normaliseEmail(in.Email)
	if !ok {
		errs.Add("email", "must be an email address")
	}
	if !in.Role.Valid() {
		errs.Add("role", "must be admin, supervisor, agent or integration")
	}
	if err := errs.Err(); err != nil {
		return User{}, err
	}
	now := s.clock.Now()
	u := User{
		TenantID: tenantID, ID: newID(), Name: name, Email: email, Role: in.Role, Status: UserActive,
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	// In a transaction of its own, like every write, so an idempotent request records that it applied it.
	if err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error { return insertUser(ctx, tx, &u) }); err != nil {
		return User{}, err
	}
	return u, nil
}

// User returns one user of the tenant.
func (s *Service) User(ctx context.Context, tenantID, id uuid.UUID) (User, error) {
	return getUser(ctx, s.db, tenantID, id)
}

// Users lists the tenant's users, oldest first, and the cursor of the next page.
func (s *Service) Users(ctx context.Context, tenantID uuid.UUID, f UserFilter, p store.Page) ([]User, string, error) {
	users, err := listUsers(ctx, s.db, tenantID, f, p)
	if err != nil {
		return nil, "", err
	}
	users, next := store.Trim(p, users, func(u User) uuid.UUID { return u.ID })
	return users, next, nil
}

// UserPatch lists the user fields to change; nil fields keep their value.
type UserPatch struct {
	Name   *string
	Email  *string
	Role   *Role
	Status *UserStatus
}

// UpdateUser applies patch if the user is still at version ifVersion (when given). The tenant always keeps
// an active admin.
func (s *Service) UpdateUser(ctx context.Context, tenantID, id uuid.UUID, patch UserPatch, ifVersion *int64) (User, error) {
	var errs validate.Errors
	if patch.Name != nil {
		n := strings.TrimSpace(*patch.Name)
		patch.Name = &n
		if n == "" {
			errs.Add("name", "must not be blank")
		}
	}
	if patch.Email != nil {
		e, ok := normaliseEmail(*patch.Email)
		patch.Email = &e
		if !ok {
			errs.Add("email", "must be an email address")
		}
	}
	if patch.Role != nil && !patch.Role.Valid() {
		errs.Add("role", "must be admin, supervisor, agent or integration")
	}
	if patch.Status != nil && !patch.Status.Valid() {
		errs.Add("status", "must be active or disabled")
	}
	if err := errs.Err(); err != nil {
		return User{}, err
	}
	var u User
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) (err error) {
		u, err = s.changeUser(ctx, tx, tenantID, id, ifVersion, func(u *User) {
			setIf(&u.Name, patch.Name)
			setIf(&u.Email, patch.Email)
			setIf(&u.Role, patch.Role)
			setIf(&u.Status, patch.Status)
		})
		return err
	})
	return u, err
}

// DisableUser disables a user and revokes all of its keys.
func (s *Service) DisableUser(ctx context.Context, tenantID, id uuid.UUID) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.changeUser(ctx, tx, tenantID, id, nil, func(u *User) { u.Status = UserDisabled }); err != nil {
			return err
		}
		return revokeUserKeys(ctx, tx, tenantID, id, s.clock.Now())
	})
}

// changeUser loads a user, applies change and writes it, keeping the last-admin rule and the version check.
func (s *Service) changeUser(ctx context.Context, tx bun.Tx, tenantID, id uuid.UUID, ifVersion *int64, change func(*User)) (User, error) {
	if err := lockTenant(ctx, tx, tenantID); err != nil {
		return User{}, err
	}
	u, err := getUser(ctx, tx, tenantID, id)
	if err != nil {
		return User{}, err
	}
	if ifVersion != nil && *ifVersion != u.Version {
		return User{}, ErrStale
	}
	wasAdmin := u.Role == RoleAdmin && u.Status == UserActive
	change(&u)
	if wasAdmin && (u.Role != RoleAdmin || u.Status != UserActive) {
		n, err := countActiveAdmins(ctx, tx, tenantID, u.ID)
		if err != nil {
			return User{}, err
		}
		if n == 0 {
			return User{}, ErrLastAdmin
		}
	}
	expected := u.Version
	u.Version++
	u.UpdatedAt = s.clock.Now()
	ok, err := updateUser(ctx, tx, &u, expected)
	if err == nil && !ok {
		err = ErrStale
	}
	return u, err
}

// NewKey describes a key to create.
type NewKey struct {
	Name string
	// UserID is the user the key acts as; nil means the actor itself. Only admins may name another user.
	UserID    *uuid.UUID
	ExpiresAt *time.Time
}

// CreateKey issues a key. The secret is in the result only.
func (s *Service) CreateKey(ctx context.Context, actor Actor, in NewKey) (IssuedKey, error) {
	var errs validate.Errors
	name := strings.TrimSpace(in.Name)
	if name == "" {
		errs.Add("name", "must not be blank")
	}
	now := s.clock.Now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		errs.Add("expires_at", "must be in the future")
	}
	if err := errs.Err(); err != nil {
		return IssuedKey{}, err
	}
	userID := actor.UserID
	if in.UserID != nil && *in.UserID != actor.UserID {
		if actor.Role != RoleAdmin {
			return IssuedKey{}, ErrForbidden
		}
		userID = *in.UserID
	}
	u, err := getUser(ctx, s.db, actor.TenantID, userID)
	if err != nil {
		return IssuedKey{}, err
	}
	if u.Status != UserActive {
		return IssuedKey{}, ErrUserDisabled
	}
	var expires *time.Time
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		expires = &e
	}
	k := issue(u, name, "", expires, now)
	if err := insertKey(ctx, s.db, &k.Key); err != nil {
		return IssuedKey{}, err
	}
	k.Key.User = &u
	return k, nil
}

// Key returns one key the actor may see: any key of the tenant for admins, their own for others.
func (s *Service) Key(ctx context.Context, actor Actor, id uuid.UUID) (APIKey, error) {
	k, err := getKey(ctx, s.db, actor.TenantID, id)
	if err != nil {
		return APIKey{}, err
	}
	if actor.Role != RoleAdmin && k.UserID != actor.UserID {
		return APIKey{}, ErrNotFound
	}
	return k, nil
}

// Keys lists the keys the actor may see, oldest first, and the cursor of the next page.
func (s *Service) Keys(ctx context.Context, actor Actor, f KeyFilter, p store.Page) ([]APIKey, string, error) {
	if actor.Role != RoleAdmin {
		if f.UserID != nil && *f.UserID != actor.UserID {
			return []APIKey{}, "", nil
		}
		f.UserID = &actor.UserID
	}
	keys, err := listKeys(ctx, s.db, actor.TenantID, f, p)
	if err != nil {
		return nil, "", err
	}
	keys, next := store.Trim(p, keys, func(k APIKey) uuid.UUID { return k.ID })
	return keys, next, nil
}

// RevokeKey revokes a key the actor may see. Revoking a revoked key changes nothing.
func (s *Service) RevokeKey(ctx context.Context, actor Actor, id uuid.UUID) error {
	if _, err := s.Key(ctx, actor, id); err != nil {
		return err
	}
	return revokeKey(ctx, s.db, actor.TenantID, id, s.clock.Now())
}

func issue(u User, name, secret string, expires *time.Time, now time.Time) IssuedKey {
	if secret == "" {
		secret = NewSecret()
	}
	return IssuedKey{
		Secret: secret,
		Key: APIKey{
			TenantID: u.TenantID, ID: newID(), UserID: u.ID, Name: name,
			Prefix: secretPrefix(secret), Hash: HashSecret(secret), CreatedAt: now, ExpiresAt: expires,
		},
	}
}

var countryCodeRe = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)

func checkCountryCode(errs *validate.Errors, field, cc string) {
	if !countryCodeRe.MatchString(cc) {
		errs.Add(field, "must be a country calling code of 1 to 3 digits, such as 55")
	}
}

func checkTimezone(errs *validate.Errors, field, tz string) {
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		errs.Add(field, "must be an IANA time zone, such as America/Sao_Paulo")
	}
}

func normaliseEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return s, false
	}
	return s, true
}

func or(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// checkURLTemplate checks a ticket link template: an absolute http(s) URL with a {token} to replace.
func checkURLTemplate(errs *validate.Errors, field string, v **string) {
	if v == nil || *v == nil {
		return
	}
	s := strings.TrimSpace(**v)
	**v = s
	u, err := url.Parse(strings.ReplaceAll(s, "{token}", "token"))
	switch {
	case !strings.Contains(s, "{token}"):
		errs.Add(field, "must contain {token}")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs.Add(field, "must be an absolute http or https URL")
	}
}
