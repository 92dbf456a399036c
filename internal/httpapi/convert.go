package httpapi

import (
	"strings"
	"time"

	"github.com/oapi-codegen/nullable"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/internal/tenant"
)

func apiTenant(t tenant.Tenant) gen.Tenant {
	return gen.Tenant{Id: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}
}

func apiUser(u tenant.User) gen.User {
	return gen.User{
		Id: u.ID, Name: u.Name, Email: u.Email, Role: gen.Role(u.Role), Status: gen.UserStatus(u.Status),
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

func apiKey(k tenant.APIKey) gen.APIKey {
	out := gen.APIKey{
		Id: k.ID, Name: k.Name, Prefix: k.Prefix, UserId: k.UserID, CreatedAt: k.CreatedAt,
		ExpiresAt: nullTime(k.ExpiresAt), RevokedAt: nullTime(k.RevokedAt), LastUsedAt: nullTime(k.LastUsedAt),
	}
	if k.User != nil {
		out.Role = gen.Role(k.User.Role)
	}
	return out
}

func apiIssuedKey(k tenant.IssuedKey) gen.APIKeyCreated {
	a := apiKey(k.Key)
	return gen.APIKeyCreated{
		Id: a.Id, Name: a.Name, Prefix: a.Prefix, UserId: a.UserId, Role: a.Role, CreatedAt: a.CreatedAt,
		ExpiresAt: a.ExpiresAt, RevokedAt: a.RevokedAt, LastUsedAt: a.LastUsedAt, Key: k.Secret,
	}
}

func apiSettings(t tenant.Tenant) gen.Settings {
	b := t.BusinessHours()
	days := make([]gen.Weekday, len(b.Days))
	for i, d := range b.Days {
		days[i] = gen.Weekday(strings.ToLower(d.String()))
	}
	return gen.Settings{
		Timezone: t.Timezone, DefaultCountryCode: t.DefaultCountryCode, UpdatedAt: t.UpdatedAt,
		BusinessHours: gen.BusinessHours{Days: days, Opens: b.Opens.String(), Closes: b.Closes.String()},
		Features: gen.Features{PortfolioRouting: t.Features.PortfolioRouting,
			PortfolioAutoInclude: t.Features.PortfolioAutoInclude},
		TrackingUrlTemplate: nullOf(t.TrackingURLTemplate), SurveyUrlTemplate: nullOf(t.SurveyURLTemplate),
	}
}

// nullablePatch reads a PATCH field that may be cleared: nil when absent, a pointer to nil when null.
func nullablePatch[T any](n nullable.Nullable[T]) **T {
	if !n.IsSpecified() {
		return nil
	}
	var v *T
	if !n.IsNull() {
		x := n.MustGet()
		v = &x
	}
	return &v
}

func nullTime(t *time.Time) nullable.Nullable[time.Time] {
	if t == nil {
		return nullable.NewNullNullable[time.Time]()
	}
	return nullable.NewNullableWithValue(*t)
}

// nextCursor renders the cursor of the next page: null on the last page.
func nextCursor(next string) nullable.Nullable[string] {
	if next == "" {
		return nullable.NewNullNullable[string]()
	}
	return nullable.NewNullableWithValue(next)
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
