// Package apitest runs a whole atende — the same wiring as `atende serve` — on a fresh database behind a
// real HTTP listener on loopback, and gives tests the generated Go client to drive it, with every response
// checked against the OpenAPI contract.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"

	gen "github.com/atende/atende/gen/api"
	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// Keys the test server is configured with.
const (
	OperatorKey       = "test-operator-key-0123456789"
	BootstrapAdminKey = "atd_test_bootstrap_admin_key_0123456789"
)

// Epoch is where the test clock starts: a Monday, 09:00 in São Paulo.
var Epoch = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// Env is a running atende for one test.
type Env struct {
	t       testing.TB
	Dialect store.Dialect
	URL     string
	App     *app.App
	Clock   *clock.Fake
	// Plinx is the Plinx simulator the server talks to, over loopback HTTP.
	Plinx *sim.Server
	// AdminKey is the bootstrap admin key of the tenant "default".
	AdminKey string
	logs     *SyncBuffer
}

// Options adjust the server under test.
type Options struct {
	// Configure changes the configuration before the server starts.
	Configure func(*config.Config)
	// Quiet keeps only warnings and errors in the server's log, for load runs whose debug log would fill
	// memory.
	Quiet bool
}

// New starts atende on a fresh database of the given dialect.
func New(t testing.TB, dialect store.Dialect, opts ...Options) *Env {
	t.Helper()
	clk := clock.NewFake(Epoch)
	plinx := sim.New(sim.Options{Now: clk.Now})
	plinxSrv := httptest.NewServer(plinx)
	t.Cleanup(func() {
		plinx.Close()
		plinxSrv.Close()
	})
	cfg := config.Config{
		Addr: "127.0.0.1:0", DatabaseURL: storetest.NewURL(t, dialect), DatabaseMaxConns: 8,
		PlinxURL: plinxSrv.URL, PlinxToken: config.Secret(plinx.Token()),
		OperatorKey: OperatorKey, BootstrapAdminKey: BootstrapAdminKey,
		LogLevel: "debug", LogFormat: "json", BodyLimit: 64 << 10, UploadLimit: 8 << 20,
		// Tests send many requests at a frozen clock; the rate limit test sets its own.
		RateLimit: 1000, RateBurst: 1 << 20, ShutdownTimeout: 5 * time.Second, PlinxTimeout: 2 * time.Second, RequestTimeout: 30 * time.Second,
		WorkerLease: 30 * time.Second, WorkerBatch: 50, PublicURL: "https://atende.example", PlinxSendRate: 1000,
		// Tests drive the dial queue themselves (RunOnce) and report call events through the API.
		Workers: 0, TelephonySimulator: "manual",
	}
	for _, o := range opts {
		if o.Configure != nil {
			o.Configure(&cfg)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	level := slog.LevelDebug
	for _, o := range opts {
		if o.Quiet {
			level = slog.LevelWarn
		}
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})), clk)
	if err != nil {
		t.Fatalf("start atende: %v", err)
	}
	if _, _, err := a.Bootstrap(context.Background()); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	hubCtx, stopHub := context.WithCancel(context.Background())
	if err := a.Hub.Start(hubCtx); err != nil {
		t.Fatalf("start the event hub: %v", err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() {
		if t.Failed() {
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
					t.Log("server: " + strings.TrimSpace(line))
				}
			}
		}
		srv.Close()
		stopHub()
		a.Hub.Stop()
		_ = a.Close()
	})
	return &Env{t: t, Dialect: dialect, URL: srv.URL, App: a, Clock: clk, Plinx: plinx, AdminKey: BootstrapAdminKey, logs: logs}
}

// Logs returns everything the server logged so far.
func (e *Env) Logs() string { return e.logs.String() }

// HTTPClient is an HTTP client whose responses are checked against the contract; a response the contract
// does not allow fails the test.
func (e *Env) HTTPClient() *http.Client {
	return &http.Client{Transport: &validatingTransport{t: e.t, next: http.DefaultTransport}, Timeout: 30 * time.Second}
}

// Client returns the generated client acting with key ("" sends no Authorization header).
func (e *Env) Client(key string) *client.ClientWithResponses {
	e.t.Helper()
	c, err := client.NewClientWithResponses(e.URL, client.WithHTTPClient(e.HTTPClient()),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			if key != "" {
				r.Header.Set("Authorization", "Bearer "+key)
			}
			return nil
		}))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// Do sends a raw request (for input the generated client cannot produce) and returns the response with its
// body read.
func (e *Env) Do(method, path, key string, body []byte, headers map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.HTTPClient().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// Tenant is a tenant created for a test, with its admin's key.
type Tenant struct {
	ID       uuid.UUID
	AdminID  uuid.UUID
	AdminKey string
}

// NewTenant provisions a tenant through the operator endpoint.
func (e *Env) NewTenant(name string) Tenant {
	e.t.Helper()
	resp, err := e.Client(OperatorKey).CreateTenantWithResponse(context.Background(), nil, client.TenantCreate{
		Name: name, Admin: client.TenantAdminCreate{Email: client.Email("admin@" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".example"), Name: "Admin " + name},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.JSON201 == nil {
		e.t.Fatalf("create tenant: %d %s", resp.StatusCode(), resp.Body)
	}
	return Tenant{ID: resp.JSON201.Tenant.Id, AdminID: resp.JSON201.Admin.Id, AdminKey: resp.JSON201.ApiKey.Key}
}

// NewUser creates a user with role in the tenant of adminKey and returns its id and a key for it.
func (e *Env) NewUser(adminKey string, role client.Role) (uuid.UUID, string) {
	e.t.Helper()
	ctx := context.Background()
	c := e.Client(adminKey)
	u, err := c.CreateUserWithResponse(ctx, nil, client.UserCreate{
		Name: "User " + string(role), Email: client.Email(uuid.NewString()[:8] + "@" + string(role) + ".example"), Role: role,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if u.JSON201 == nil {
		e.t.Fatalf("create user: %d %s", u.StatusCode(), u.Body)
	}
	k, err := c.CreateAPIKeyWithResponse(ctx, nil, client.APIKeyCreate{Name: "test", UserId: &u.JSON201.Id})
	if err != nil {
		e.t.Fatal(err)
	}
	if k.JSON201 == nil {
		e.t.Fatalf("create key: %d %s", k.StatusCode(), k.Body)
	}
	return u.JSON201.Id, k.JSON201.Key
}

// Problem decodes a problem document, failing the test unless the response is one with the given status.
func (e *Env) Problem(resp *http.Response, body []byte, status int) gen.Problem {
	e.t.Helper()
	if resp.StatusCode != status {
		e.t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		e.t.Fatalf("content type %q, want application/problem+json: %s", ct, body)
	}
	var p gen.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatalf("decode problem: %v: %s", err, body)
	}
	if p.Status != status || p.Type == "" || p.Title == "" {
		e.t.Fatalf("incomplete problem: %s", body)
	}
	return p
}

// Contract returns the OpenAPI document the server implements.
func Contract(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := gen.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil
	return doc
}

var (
	routerOnce sync.Once
	router     routers.Router
	routerErr  error
)

// validatingTransport checks every response against the contract.
type validatingTransport struct {
	t    testing.TB
	next http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	routerOnce.Do(func() {
		doc, err := gen.GetSwagger()
		if err != nil {
			routerErr = err
			return
		}
		doc.Servers = nil
		router, routerErr = gorillamux.NewRouter(doc)
	})
	if routerErr != nil {
		v.t.Errorf("contract router: %v", routerErr)
		return resp, nil
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Outside the contract (unknown path or method): it must still be a problem document.
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && !strings.HasPrefix(ct, "application/problem+json") {
			v.t.Errorf("%s %s: %d with content type %q, want a problem document", req.Method, req.URL.Path, resp.StatusCode, ct)
		}
		return resp, nil
	}
	checkReq := req.Clone(req.Context())
	checkReq.Body = io.NopCloser(bytes.NewReader(reqBody))
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: checkReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		v.t.Errorf("%s %s: response %d breaks the contract: %v\nbody: %.500s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for capturing logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
