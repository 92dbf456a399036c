package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

func ptr[T any](v T) *T { return &v }

func TestMeAnswersWithTheBootstrapKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()

		anon, err := env.Client("").GetMeWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, anon.StatusCode())
		require.Equal(t, "application/problem+json", anon.HTTPResponse.Header.Get("Content-Type"))
		require.Contains(t, *anon.ApplicationproblemJSON401.Detail, "Authorization header is missing")

		me, err := env.Client(env.AdminKey).GetMeWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))
		require.Equal(t, "default", me.JSON200.Tenant.Name)
		require.Equal(t, client.RoleAdmin, me.JSON200.User.Role)
		require.Equal(t, client.RoleAdmin, me.JSON200.ApiKey.Role)
		require.True(t, strings.HasPrefix(env.AdminKey, me.JSON200.ApiKey.Prefix))
		used, err := me.JSON200.ApiKey.LastUsedAt.Get()
		require.NoError(t, err)
		require.Equal(t, apitest.Epoch, used.UTC())
	})
}

func TestProvisionTenantWithTheOperatorKeyOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		body := client.TenantCreate{Name: "Eox Tecnologia", Admin: client.TenantAdminCreate{Name: "Maria", Email: "Maria@Eox.com.br"}}

		asTenantAdmin, err := env.Client(env.AdminKey).CreateTenantWithResponse(ctx, nil, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, asTenantAdmin.StatusCode(), "a tenant key must not provision tenants")

		created, err := env.Client(apitest.OperatorKey).CreateTenantWithResponse(ctx, nil, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		require.Equal(t, "maria@eox.com.br", created.JSON201.Admin.Email, "emails are stored lower-cased")
		require.True(t, strings.HasPrefix(created.JSON201.ApiKey.Key, "atd_"))

		me, err := env.Client(created.JSON201.ApiKey.Key).GetMeWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, created.JSON201.Tenant.Id, me.JSON200.Tenant.Id)

		settings, err := env.Client(created.JSON201.ApiKey.Key).GetSettingsWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, "America/Sao_Paulo", settings.JSON200.Timezone)
		require.Equal(t, "55", settings.JSON200.DefaultCountryCode)
		require.False(t, settings.JSON200.Features.PortfolioRouting)

		bad, err := env.Client(apitest.OperatorKey).CreateTenantWithResponse(ctx, nil, client.TenantCreate{
			Name: "X", Timezone: ptr("Mars/Olympus"), Admin: client.TenantAdminCreate{Name: "A", Email: "a@x.example"},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, bad.StatusCode())
		require.Equal(t, "timezone", (*bad.ApplicationproblemJSON400.Errors)[0].Field)
	})
}

func TestUsersLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		created, err := admin.CreateUserWithResponse(ctx, nil, client.UserCreate{Name: "João José", Email: "joao@eox.com.br", Role: client.RoleAgent})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), string(created.Body))
		id := created.JSON201.Id
		require.Equal(t, "/v1/users/"+id.String(), created.HTTPResponse.Header.Get("Location"))

		dup, err := admin.CreateUserWithResponse(ctx, nil, client.UserCreate{Name: "Other", Email: "JOAO@eox.com.br", Role: client.RoleAgent})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, dup.StatusCode(), "emails are unique per tenant, whatever their case")

		got, err := admin.GetUserWithResponse(ctx, id)
		require.NoError(t, err)
		tag := got.HTTPResponse.Header.Get("ETag")
		require.Equal(t, `"1"`, tag)

		patched, err := admin.UpdateUserWithResponse(ctx, id, &client.UpdateUserParams{IfMatch: &tag}, client.UserUpdate{Role: ptr(client.RoleSupervisor)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
		require.Equal(t, client.RoleSupervisor, patched.JSON200.Role)
		require.Equal(t, "João José", patched.JSON200.Name, "fields not sent keep their value")
		require.Equal(t, `"2"`, patched.HTTPResponse.Header.Get("ETag"))

		stale, err := admin.UpdateUserWithResponse(ctx, id, &client.UpdateUserParams{IfMatch: &tag}, client.UserUpdate{Name: ptr("Lost update")})
		require.NoError(t, err)
		require.Equal(t, http.StatusPreconditionFailed, stale.StatusCode())
		garbage, err := admin.UpdateUserWithResponse(ctx, id, &client.UpdateUserParams{IfMatch: ptr("nonsense")}, client.UserUpdate{Name: ptr("Lost update")})
		require.NoError(t, err)
		require.Equal(t, http.StatusPreconditionFailed, garbage.StatusCode())
		got, err = admin.GetUserWithResponse(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "João José", got.JSON200.Name, "a rejected write changes nothing")

		agents, err := admin.ListUsersWithResponse(ctx, &client.ListUsersParams{Role: ptr(client.RoleSupervisor)})
		require.NoError(t, err)
		require.Len(t, agents.JSON200.Data, 1)
		require.Equal(t, id, agents.JSON200.Data[0].Id)

		_, key := env.NewUser(env.AdminKey, client.RoleAgent)
		del, err := admin.DeleteUserWithResponse(ctx, id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode())
		got, err = admin.GetUserWithResponse(ctx, id)
		require.NoError(t, err)
		require.Equal(t, client.UserStatusDisabled, got.JSON200.Status)
		other, err := env.Client(key).GetMeWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, other.StatusCode(), "disabling one user leaves the others' keys alone")
	})
}

func TestTheLastAdminCannotBeRemoved(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		me, err := admin.GetMeWithResponse(ctx)
		require.NoError(t, err)
		self := me.JSON200.User.Id

		demote, err := admin.UpdateUserWithResponse(ctx, self, nil, client.UserUpdate{Role: ptr(client.RoleAgent)})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, demote.StatusCode())
		require.Contains(t, *demote.ApplicationproblemJSON409.Detail, "at least one active admin")
		del, err := admin.DeleteUserWithResponse(ctx, self)
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, del.StatusCode())

		second, secondKey := env.NewUser(env.AdminKey, client.RoleAdmin)
		require.NotEqual(t, uuid.Nil, second)
		del, err = admin.DeleteUserWithResponse(ctx, self)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), "with another admin the first may go")
		gone, err := admin.GetMeWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, gone.StatusCode(), "a deleted user's keys are revoked")
		still, err := env.Client(secondKey).GetMeWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, still.StatusCode())
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		agentID, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)
		agent := env.Client(agentKey)

		own, err := agent.CreateAPIKeyWithResponse(ctx, nil, client.APIKeyCreate{Name: "laptop"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, own.StatusCode(), string(own.Body))
		require.Equal(t, agentID, own.JSON201.UserId)
		require.Equal(t, client.RoleAgent, own.JSON201.Role)

		adminID := mustMe(t, admin).User.Id
		forOther, err := agent.CreateAPIKeyWithResponse(ctx, nil, client.APIKeyCreate{Name: "escalate", UserId: &adminID})
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, forOther.StatusCode(), "agents cannot mint keys for others")

		list, err := agent.ListAPIKeysWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 2, "an agent sees its own keys only")
		for _, k := range list.JSON200.Data {
			require.Equal(t, agentID, k.UserId)
		}
		all, err := admin.ListAPIKeysWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Len(t, all.JSON200.Data, 3, "an admin sees every key")
		require.NotContains(t, string(all.Body), own.JSON201.Key, "secrets are never listed")

		adminKeyID := mustMe(t, admin).ApiKey.Id
		peek, err := agent.GetAPIKeyWithResponse(ctx, adminKeyID)
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, peek.StatusCode(), "another user's key is invisible to an agent")
		revokeOther, err := agent.RevokeAPIKeyWithResponse(ctx, adminKeyID)
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, revokeOther.StatusCode())

		revoke, err := agent.RevokeAPIKeyWithResponse(ctx, own.JSON201.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, revoke.StatusCode())
		again, err := agent.RevokeAPIKeyWithResponse(ctx, own.JSON201.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, again.StatusCode(), "revoking twice is not an error")
		resp, body := env.Do(http.MethodGet, "/v1/me", own.JSON201.Key, nil, nil)
		p := env.Problem(resp, body, http.StatusUnauthorized)
		require.Equal(t, "The API key has been revoked.", *p.Detail)
		require.Equal(t, `Bearer realm="atende"`, resp.Header.Get("WWW-Authenticate"))

		withRevoked, err := agent.ListAPIKeysWithResponse(ctx, &client.ListAPIKeysParams{IncludeRevoked: ptr(true)})
		require.NoError(t, err)
		require.Len(t, withRevoked.JSON200.Data, 2)
		active, err := agent.ListAPIKeysWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Len(t, active.JSON200.Data, 1)
	})
}

func TestExpiredKeysAreRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		past, err := admin.CreateAPIKeyWithResponse(ctx, nil, client.APIKeyCreate{Name: "old", ExpiresAt: ptr(apitest.Epoch.Add(-time.Hour))})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, past.StatusCode())
		require.Equal(t, "expires_at", (*past.ApplicationproblemJSON400.Errors)[0].Field)

		k, err := admin.CreateAPIKeyWithResponse(ctx, nil, client.APIKeyCreate{Name: "short", ExpiresAt: ptr(apitest.Epoch.Add(time.Hour))})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, k.StatusCode())
		resp, _ := env.Do(http.MethodGet, "/v1/me", k.JSON201.Key, nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)

		env.Clock.Advance(time.Hour)
		resp, body := env.Do(http.MethodGet, "/v1/me", k.JSON201.Key, nil, nil)
		p := env.Problem(resp, body, http.StatusUnauthorized)
		require.Equal(t, "The API key has expired.", *p.Detail)
	})
}

func TestSettings(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)

		got, err := admin.GetSettingsWithResponse(ctx)
		require.NoError(t, err)
		tag := got.HTTPResponse.Header.Get("ETag")
		routing := true
		patched, err := admin.UpdateSettingsWithResponse(ctx, &client.UpdateSettingsParams{IfMatch: &tag}, client.SettingsUpdate{
			Timezone: ptr("America/Manaus"), Features: &client.FeaturesUpdate{PortfolioRouting: &routing},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, patched.StatusCode(), string(patched.Body))
		require.Equal(t, "America/Manaus", patched.JSON200.Timezone)
		require.True(t, patched.JSON200.Features.PortfolioRouting)
		require.Equal(t, "55", patched.JSON200.DefaultCountryCode)

		stale, err := admin.UpdateSettingsWithResponse(ctx, &client.UpdateSettingsParams{IfMatch: &tag}, client.SettingsUpdate{DefaultCountryCode: ptr("1")})
		require.NoError(t, err)
		require.Equal(t, http.StatusPreconditionFailed, stale.StatusCode())

		bad, err := admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{Timezone: ptr("Nowhere/Land"), DefaultCountryCode: ptr("0")})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, bad.StatusCode())
		fields := []string{}
		for _, f := range *bad.ApplicationproblemJSON400.Errors {
			fields = append(fields, f.Field)
		}
		require.ElementsMatch(t, []string{"timezone", "default_country_code"}, fields)

		_, agentKey := env.NewUser(env.AdminKey, client.RoleAgent)
		forbidden, err := env.Client(agentKey).UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{Timezone: ptr("UTC")})
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, forbidden.StatusCode())
		read, err := env.Client(agentKey).GetSettingsWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, "America/Manaus", read.JSON200.Timezone, "every role reads the settings")
	})
}

func TestUserListPagination(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		ctx := context.Background()
		admin := env.Client(env.AdminKey)
		for i := 0; i < 6; i++ {
			env.NewUser(env.AdminKey, client.RoleAgent)
		}
		seen := map[uuid.UUID]bool{}
		var cursor *string
		pages := 0
		for {
			page, err := admin.ListUsersWithResponse(ctx, &client.ListUsersParams{Limit: ptr(3), Cursor: cursor})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, page.StatusCode())
			pages++
			for _, u := range page.JSON200.Data {
				require.False(t, seen[u.Id], "a user appears on two pages")
				seen[u.Id] = true
			}
			if !page.JSON200.NextCursor.IsSpecified() || page.JSON200.NextCursor.IsNull() {
				break
			}
			next := page.JSON200.NextCursor.MustGet()
			cursor = &next
		}
		require.Len(t, seen, 7, "six agents and the admin")
		require.Equal(t, 3, pages)
	})
}

func mustMe(t testing.TB, c *client.ClientWithResponses) *client.Me {
	t.Helper()
	me, err := c.GetMeWithResponse(context.Background())
	require.NoError(t, err)
	require.NotNil(t, me.JSON200, string(me.Body))
	return me.JSON200
}
