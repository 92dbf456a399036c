package httpapi_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// hostileStrings are values an attacker, a broken client or a careless integrator sends where a field,
// a parameter or an id is expected.
var hostileStrings = []string{
	"", " ", strings.Repeat("A", 70_000), "😀🇧🇷 ação ñ \u202e\u200b", "nul\x00byte", "'; DROP TABLE contacts; --",
	"<script>alert(1)</script>", "../../etc/passwd", "%00%ff", "{{7*7}}${jndi:ldap://x}", "-1", "1e309",
	"9223372036854775808", "2026-02-30T25:61:00Z", "\xff\xfe",
}

// hostileValues are JSON values of every type, and numbers at and past the edges.
var hostileValues = []any{
	nil, true, []any{}, map[string]any{}, -1, 0, -9223372036854775808, 1e308, 3.5, 18446744073709551616.0,
	[]any{strings.Repeat("x", 1000)}, map[string]any{"$ne": nil},
}

// Every operation, fed hostile values in each query parameter, each path parameter and each field of its
// body, answers below 500; and a request it refuses changes nothing stored.
func TestHostileInputNeverAnswers5xxNorChangesState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		env := apitest.New(t, dialect)
		keys := roleKeys(env, env.AdminKey)
		keys[""] = apitest.OperatorKey
		doc := apitest.Contract(t)
		ops := contractOps(t)
		fx := &fixtures{t: t, env: env, ops: ops, keys: keys, made: map[string]string{}}
		skip := func(o contractOp) bool {
			// Signatures are checked before anything else; streams stay open; deletes would remove fixtures.
			return o.signed() || o.streams() || o.method == http.MethodDelete
		}
		// Every object the paths name, made first: the hostile requests that are accepted create more.
		paths := map[string]string{}
		for _, o := range ops {
			switch {
			case skip(o):
			case slices.Contains(publicOperations, o.op.OperationID):
				paths[o.path] = withRandomIDs(o.path) // no tenant, no fixture: a token that matches nothing
			default:
				paths[o.path] = fx.resolve(o.path)
			}
		}
		requests := 0
		for _, o := range ops {
			if skip(o) {
				continue
			}
			key := apitest.OperatorKey
			if o.usesAPIKey(doc) {
				key = keys[o.roles()[0]]
			}
			name := o.method + " " + o.path
			path := paths[o.path]
			before := fingerprint(t, env)
			changed := false
			send := func(what, method, target string, body []byte) {
				t.Helper()
				requests++
				resp, b := env.Do(method, target, key, body, nil)
				require.Less(t, resp.StatusCode, 500, "%s with %s (request %.200q): %.300s", name, what, body, b)
				if resp.StatusCode < 300 {
					changed = true
				}
			}

			for _, p := range o.op.Parameters {
				if p.Value == nil {
					continue
				}
				switch p.Value.In {
				case "query":
					for _, v := range hostileStrings {
						sep := "?"
						if strings.Contains(path, "?") {
							sep = "&"
						}
						send("query "+p.Value.Name, o.method, path+sep+p.Value.Name+"="+url.QueryEscape(v), o.exampleBody(t))
					}
				}
			}
			template, concrete := strings.Split(o.path, "/"), strings.Split(path, "/")
			for i, seg := range template {
				if !pathParamRe.MatchString(seg) || i >= len(concrete) {
					continue
				}
				for _, v := range hostileStrings[:12] {
					if v == "" || strings.Contains(v, "/") {
						continue
					}
					parts := slices.Clone(concrete)
					parts[i] = url.PathEscape(v)
					send("path "+seg, o.method, strings.Join(parts, "/"), o.exampleBody(t))
				}
			}
			if example := o.exampleBody(t); example != nil {
				var obj map[string]any
				if json.Unmarshal(example, &obj) == nil {
					fields := slices.Sorted(maps.Keys(obj))
					for _, field := range fields {
						values := append([]any{}, hostileValues...)
						for _, s := range hostileStrings {
							values = append(values, s)
						}
						for _, v := range values {
							with := map[string]any{}
							for k, x := range obj {
								with[k] = x
							}
							with[field] = v
							body, err := json.Marshal(with)
							if err != nil {
								continue // not JSON-encodable (invalid UTF-8 is sent raw below)
							}
							send("body "+field, o.method, path, body)
						}
					}
				}
			}
			if !changed {
				require.Equal(t, before, fingerprint(t, env), "%s: a refused request changed what is stored", name)
			}
		}
		t.Logf("%d hostile requests, none answered 5xx", requests)

		// The log of this run, every operation and every fixture included, holds no key and no secret.
		logs := env.Logs()
		require.Contains(t, logs, `"msg":"request"`, "the access log is on")
		for role, k := range keys {
			require.NotContains(t, logs, k, "the key of %q reached the log", role)
		}
		require.NotContains(t, logs, "whsec_", "a signing secret reached the log")
		require.NotContains(t, logs, "Bearer ")
	})
}

// fingerprint counts the rows of every table but the ones a refused request may touch by design: the
// idempotency keys, the webhook inbox and the API keys' last use.
func fingerprint(t *testing.T, env *apitest.Env) map[string]int {
	t.Helper()
	ctx := context.Background()
	var tables []string
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`
	if env.Dialect == store.SQLite {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	require.NoError(t, env.App.DB.NewRaw(q).Scan(ctx, &tables))
	out := map[string]int{}
	for _, table := range tables {
		if table == "idempotency_keys" || table == "schema_migrations" {
			continue
		}
		var n int
		require.NoError(t, env.App.DB.NewRaw("SELECT count(*) FROM ?", bun.Ident(table)).Scan(ctx, &n))
		out[table] = n
	}
	return out
}
