package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	apispec "github.com/atende/atende/api"
	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/idempotency"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

func TestSystemEndpoints(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		env.Do(http.MethodGet, "/healthz", "", nil, nil) // so the request metrics have a sample
		for path, want := range map[string]string{
			"/healthz":      `"status":"ok"`,
			"/readyz":       `"migrations":"ok"`,
			"/openapi.yaml": "openapi: 3.0.3",
			"/docs":         "Redoc.init",
			"/metrics":      "atende_http_requests_total",
		} {
			resp, body := env.Do(http.MethodGet, path, "", nil, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
			require.True(t, strings.Contains(string(body), want), "%s must contain %q", path, want)
		}
		_, spec := env.Do(http.MethodGet, "/openapi.yaml", "", nil, nil)
		require.Equal(t, apispec.YAML, spec, "/openapi.yaml serves the contract as written")
		_, docs := env.Do(http.MethodGet, "/docs", "", nil, nil)
		require.False(t, strings.Contains(string(docs), "<script src") || strings.Contains(string(docs), "<link"),
			"/docs must not load assets from anywhere")
		require.True(t, strings.Contains(string(docs), `"operationId":"createTenant"`), "/docs carries the operations")
	})
}

func TestReadinessFailsWhenMigrationsAreBehind(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		mg, err := store.NewMigrator(env.App.DB.URL())
		require.NoError(t, err)
		defer mg.Close()
		vs, err := store.Versions(dialect)
		require.NoError(t, err)
		require.NoError(t, mg.Down(len(vs)))

		resp, body := env.Do(http.MethodGet, "/readyz", "", nil, nil)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Contains(t, string(body), `"status":"unavailable"`)
		require.Contains(t, string(body), "at version 0")
	})
}

func TestBadInputIsAClearClientError(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		key := env.AdminKey
		users := func() int {
			list, err := env.Client(key).ListUsersWithResponse(context.Background(), &client.ListUsersParams{Limit: ptr(200)})
			require.NoError(t, err)
			return len(list.JSON200.Data)
		}
		before := users()

		cases := []struct {
			name, method, path string
			body               string
			headers            map[string]string
			status             int
			field              string
		}{
			{"malformed JSON", "POST", "/v1/users", `{"name": "Ana", "email":`, nil, 400, "body"},
			{"wrong type", "POST", "/v1/users", `{"name": 42, "email": "a@b.example", "role": "agent"}`, nil, 400, "name"},
			{"unknown field", "POST", "/v1/users", `{"name": "Ana", "email": "a@b.example", "role": "agent", "tenant_id": "x"}`, nil, 400, "tenant_id"},
			{"missing field", "POST", "/v1/users", `{"name": "Ana", "role": "agent"}`, nil, 400, "email"},
			{"bad enum", "POST", "/v1/users", `{"name": "Ana", "email": "a@b.example", "role": "root"}`, nil, 400, "role"},
			{"bad email", "POST", "/v1/users", `{"name": "Ana", "email": "not-an-email", "role": "agent"}`, nil, 400, "email"},
			{"blank name", "POST", "/v1/users", `{"name": "   ", "email": "a@b.example", "role": "agent"}`, nil, 400, "name"},
			{"huge string", "POST", "/v1/users", `{"name": "` + strings.Repeat("x", 5000) + `", "email": "a@b.example", "role": "agent"}`, nil, 400, "name"},
			{"script and SQL", "POST", "/v1/users", `{"name": "<script>'; DROP TABLE users;--", "email": "x'--@b.example\"", "role": "agent"}`, nil, 400, "email"},
			{"oversized body", "POST", "/v1/users", `{"name": "` + strings.Repeat("x", 70<<10) + `"}`, nil, 413, ""},
			{"bad id", "GET", "/v1/users/not-a-uuid", "", nil, 400, "id"},
			{"bad cursor", "GET", "/v1/users?cursor=zzz", "", nil, 400, "cursor"},
			{"bad limit", "GET", "/v1/users?limit=100000", "", nil, 400, "limit"},
			{"negative limit", "GET", "/v1/users?limit=-1", "", nil, 400, "limit"},
			{"bad boolean", "GET", "/v1/api-keys?include_revoked=maybe", "", nil, 400, "include_revoked"},
			{"empty patch", "PATCH", "/v1/settings", `{}`, nil, 400, "body"},
			{"null patch field", "PATCH", "/v1/settings", `{"timezone": null}`, nil, 400, "timezone"},
			{"bad If-Match", "PATCH", "/v1/settings", `{"timezone": "UTC"}`, map[string]string{"If-Match": "abc"}, 412, ""},
			{"unknown route", "GET", "/v1/nothing-here", "", nil, 404, ""},
			{"wrong method", "PUT", "/v1/me", "", nil, 405, ""},
			{"form body", "POST", "/v1/users", "name=a", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, ""},
		}
		for _, tc := range cases {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			resp, got := env.Do(tc.method, tc.path, key, body, tc.headers)
			p := env.Problem(resp, got, tc.status)
			require.NotNil(t, p.Detail, tc.name)
			if tc.field != "" {
				require.NotNil(t, p.Errors, "%s: %s", tc.name, got)
				fields := []string{}
				for _, e := range *p.Errors {
					fields = append(fields, e.Field)
				}
				require.Contains(t, fields, tc.field, "%s: %s", tc.name, got)
			}
			require.NotContains(t, string(got), "DROP TABLE", "%s: submitted values are not echoed", tc.name)
			require.NotContains(t, strings.ToLower(string(got)), "goroutine", tc.name)
		}
		require.Equal(t, before, users(), "rejected requests wrote nothing")
	})
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		body := []byte(`{"name": "Ana", "email": "ana@eox.com.br", "role": "agent"}`)
		idem := map[string]string{"Idempotency-Key": "create-ana-1"}

		first, firstBody := env.Do(http.MethodPost, "/v1/users", env.AdminKey, body, idem)
		require.Equal(t, http.StatusCreated, first.StatusCode, string(firstBody))
		replay, replayBody := env.Do(http.MethodPost, "/v1/users", env.AdminKey, body, idem)
		require.Equal(t, http.StatusCreated, replay.StatusCode)
		require.Equal(t, firstBody, replayBody)
		require.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
		require.Equal(t, first.Header.Get("Location"), replay.Header.Get("Location"))

		other, otherBody := env.Do(http.MethodPost, "/v1/users", env.AdminKey, []byte(`{"name": "Bia", "email": "bia@eox.com.br", "role": "agent"}`), idem)
		p := env.Problem(other, otherBody, http.StatusUnprocessableEntity)
		require.Equal(t, "urn:atende:problem:idempotency-key-reused", p.Type)

		// Another caller's key space is its own.
		_, supKey := env.NewUser(env.AdminKey, client.RoleAdmin)
		own, ownBody := env.Do(http.MethodPost, "/v1/users", supKey, []byte(`{"name": "Caio", "email": "caio@eox.com.br", "role": "agent"}`), idem)
		require.Equal(t, http.StatusCreated, own.StatusCode, string(ownBody))

		// Client errors are stored too: the retry sees the same conflict, not a new attempt.
		dupIdem := map[string]string{"Idempotency-Key": "dup"}
		dup, dupBody := env.Do(http.MethodPost, "/v1/users", env.AdminKey, body, dupIdem)
		env.Problem(dup, dupBody, http.StatusConflict)
		dup2, dup2Body := env.Do(http.MethodPost, "/v1/users", env.AdminKey, body, dupIdem)
		env.Problem(dup2, dup2Body, http.StatusConflict)
		require.Equal(t, "true", dup2.Header.Get("Idempotent-Replayed"))

		// A request still running holds its key.
		me := mustMe(t, env.Client(env.AdminKey))
		_, _, err := env.App.Idempotency.Begin(context.Background(), "key:"+me.ApiKey.Id.String(), "busy", []byte("whatever"))
		require.NoError(t, err)
		busy, busyBody := env.Do(http.MethodPost, "/v1/users", env.AdminKey, body, map[string]string{"Idempotency-Key": "busy"})
		p = env.Problem(busy, busyBody, http.StatusUnprocessableEntity)
		require.Equal(t, "urn:atende:problem:idempotency-key-reused", p.Type, "a different request is a mismatch even while running")
		h := idempotency.Fingerprint(http.MethodPost, "/v1/users", body)
		_, _, err = env.App.Idempotency.Begin(context.Background(), "key:"+me.ApiKey.Id.String(), "busy-same", h)
		require.NoError(t, err)
		busy, busyBody = env.Do(http.MethodPost, "/v1/users", env.AdminKey, body, map[string]string{"Idempotency-Key": "busy-same"})
		p = env.Problem(busy, busyBody, http.StatusConflict)
		require.Equal(t, "urn:atende:problem:idempotency-key-in-flight", p.Type)

		// Keys are kept 24 hours.
		env.Clock.Advance(25 * time.Hour)
		fresh, freshBody := env.Do(http.MethodPost, "/v1/users", env.AdminKey, []byte(`{"name": "Duda", "email": "duda@eox.com.br", "role": "agent"}`), idem)
		require.Equal(t, http.StatusCreated, fresh.StatusCode, string(freshBody))
		n, err := env.App.Idempotency.Sweep(context.Background())
		require.NoError(t, err)
		require.Positive(t, n)
	})
}

func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect, apitest.Options{Configure: func(c *config.Config) { c.RateLimit, c.RateBurst = 0.5, 3 }})
		for i := 0; i < 3; i++ {
			resp, _ := env.Do(http.MethodGet, "/v1/me", env.AdminKey, nil, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		resp, body := env.Do(http.MethodGet, "/v1/me", env.AdminKey, nil, nil)
		p := env.Problem(resp, body, http.StatusTooManyRequests)
		require.Equal(t, "urn:atende:problem:rate-limited", p.Type)
		require.Equal(t, "2", resp.Header.Get("Retry-After"))

		other := env.NewTenant("Other")
		resp, _ = env.Do(http.MethodGet, "/v1/me", other.AdminKey, nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "each key has its own bucket")

		env.Clock.Advance(2 * time.Second)
		resp, _ = env.Do(http.MethodGet, "/v1/me", env.AdminKey, nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "the bucket refills")
	})
}

func TestSecretsNeverReachTheLog(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, store.SQLite)
	ctx := context.Background()
	tn := env.NewTenant("Leaky")
	_, agentKey := env.NewUser(tn.AdminKey, client.RoleAgent)
	k, err := env.Client(tn.AdminKey).CreateAPIKeyWithResponse(ctx, nil, client.APIKeyCreate{Name: "erp"})
	require.NoError(t, err)
	env.Do(http.MethodGet, "/v1/me", k.JSON201.Key, nil, nil)
	env.Do(http.MethodGet, "/v1/me", k.JSON201.Key+"x", nil, nil)
	env.Do(http.MethodGet, "/v1/users?cursor=secretcursor", agentKey, nil, nil)
	env.Do(http.MethodPost, "/v1/tenants", "wrong-operator-key-12345", []byte(`{}`), nil)

	logs := env.Logs()
	require.Contains(t, logs, `"msg":"request"`, "the access log is on")
	for _, secret := range []string{env.AdminKey, tn.AdminKey, agentKey, k.JSON201.Key, apitest.OperatorKey, "wrong-operator-key", "secretcursor"} {
		require.NotContains(t, logs, secret)
	}
	require.NotContains(t, logs, "Bearer ")
}

func TestConcurrentWritesOnSQLiteDoNotFail(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, store.SQLite)
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := 0; i < 40; i++ {
		wg.Go(func() {
			body := []byte(`{"name": "U", "email": "u` + time.Now().Format("150405.000000000") + string(rune('a'+i%26)) + `@x.example", "role": "agent"}`)
			resp, b := env.Do(http.MethodPost, "/v1/users", env.AdminKey, body, nil)
			if resp.StatusCode != http.StatusCreated {
				errs <- string(b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
