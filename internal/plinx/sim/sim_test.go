package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	plinxapi "github.com/atende/atende/gen/plinx"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "test-plinx-token"

var spec = func() *openapi3.T {
	s, err := plinxapi.GetSwagger()
	if err != nil {
		panic(err)
	}
	s.Servers = nil
	return s
}()

var specRouter = func() routers.Router {
	r, err := gorillamux.NewRouter(spec)
	if err != nil {
		panic(err)
	}
	return r
}()

// contractTransport validates every /v1 answer against api/plinx.yaml, so the simulator cannot drift from it.
type contractTransport struct {
	t    *testing.T
	next http.RoundTripper
}

func (ct contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := ct.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/v1/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := specRouter.FindRoute(req)
	if err != nil {
		ct.t.Errorf("no contract route for %s %s: %v", req.Method, req.URL.Path, err)
		return resp, nil
	}
	for k, v := range params {
		if u, err := url.PathUnescape(v); err == nil {
			params[k] = u
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}); err != nil {
		ct.t.Errorf("%s %s answered %d outside the contract: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// received is one webhook the receiver got.
type received struct {
	header http.Header
	body   []byte
}

type bundle struct {
	sim      *sim.Server
	url      string
	http     *http.Client
	api      *plinxapi.ClientWithResponses
	hooks    chan received
	hookURL  string
	hookCode func() int
	setCode  func(int)
	now      time.Time
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{hooks: make(chan received, 16), now: time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	code := http.StatusOK
	b.setCode = func(c int) { mu.Lock(); code = c; mu.Unlock() }
	b.hookCode = func() int { mu.Lock(); defer mu.Unlock(); return code }
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.hooks <- received{header: r.Header.Clone(), body: body}
		w.WriteHeader(b.hookCode())
	}))
	t.Cleanup(receiver.Close)
	b.hookURL = receiver.URL + "/v1/webhooks/plinx/tenant"

	b.sim = sim.New(sim.Options{Token: token, Now: func() time.Time { return b.now }, HangFor: 5 * time.Second})
	srv := httptest.NewServer(b.sim)
	t.Cleanup(srv.Close)
	t.Cleanup(b.sim.Close) // first: releases hung requests
	b.url = srv.URL
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	b.http = &http.Client{Transport: contractTransport{t: t, next: tr}}
	var err error
	b.api, err = plinxapi.NewClientWithResponses(srv.URL, plinxapi.WithHTTPClient(b.http),
		plinxapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	require.NoError(t, err)
	return b
}

// admin calls the admin API and decodes its JSON answer into out (when not nil).
func (b *bundle) admin(t *testing.T, method, path string, in any, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		raw, ok := in.(string)
		if !ok {
			j, err := json.Marshal(in)
			require.NoError(t, err)
			raw = string(j)
		}
		body = strings.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.url+"/_admin"+path, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func (b *bundle) nextHook(t *testing.T) received {
	t.Helper()
	select {
	case h := <-b.hooks:
		return h
	case <-time.After(2 * time.Second):
		t.Fatal("no webhook arrived")
		return received{}
	}
}

// verifyHook checks the Standard Webhooks signature with the configured secret and the contract's
// PlinxEvent schema, and returns the event.
func (b *bundle) verifyHook(t *testing.T, h received) plinxapi.PlinxEvent {
	t.Helper()
	id, err := webhook.Verify(b.sim.Webhook().Secret, h.header, h.body, b.now)
	require.NoError(t, err)
	require.NotEmpty(t, id)
	require.Equal(t, "application/json", h.header.Get("Content-Type"))
	var doc any
	require.NoError(t, json.Unmarshal(h.body, &doc))
	require.NoError(t, spec.Components.Schemas["PlinxEvent"].Value.VisitJSON(doc), "%s", h.body)
	var ev plinxapi.PlinxEvent
	require.NoError(t, json.Unmarshal(h.body, &ev))
	return ev
}

const phone = "+5547991234567"

func TestActiveConversation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	resp, err := b.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: phone})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode())
	require.Equal(t, plinxapi.ActiveConversation{Active: false}, *resp.JSON200, "inactive: every other field null")

	started := b.now.Add(-10 * time.Minute)
	c := b.sim.SetActive(phone, true, sim.WithAgent("maria"), sim.WithStartedAt(started))
	resp, err = b.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: phone})
	require.NoError(t, err)
	got := resp.JSON200
	require.True(t, got.Active)
	require.Equal(t, c.ID, *got.ConversationId)
	require.Equal(t, "maria", *got.Agent)
	require.True(t, started.Equal(*got.StartedAt))
	require.True(t, started.Equal(*got.LastMessageAt))

	resp, err = b.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: "+5511988887777"})
	require.NoError(t, err)
	require.False(t, resp.JSON200.Active, "another number is not active")

	b.sim.SetActive(phone, false)
	resp, err = b.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: phone})
	require.NoError(t, err)
	require.False(t, resp.JSON200.Active)
	require.Equal(t, 4, b.sim.Requests(sim.OpGetActiveConversation))
}

func TestAuthAndValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, auth := range map[string]string{"none": "", "wrong": "Bearer nope", "not bearer": "Basic " + token} {
		req, err := http.NewRequest(http.MethodGet, b.url+"/v1/conversations/active?phone=%2B5547991234567", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := b.http.Do(req)
		require.NoError(t, err)
		var e plinxapi.Error
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		require.Equal(t, "unauthorized", e.Code)
	}

	ctx := context.Background()
	for _, bad := range []string{"5547991234567", "+0123", "+55 47 99123-4567", ""} {
		resp, err := b.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: bad})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode(), bad)
		require.Equal(t, "invalid_request", resp.JSON400.Code)
		if bad != "" {
			require.NotContains(t, resp.JSON400.Message, bad, "errors do not echo the number")
		}
	}
	// An unescaped '+' in a query is a space: not E.164.
	req, _ := http.NewRequest(http.MethodGet, b.url+"/v1/conversations/active?phone=+5547991234567", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	send, err := b.api.SendTemplateWithBodyWithResponse(ctx, "application/json", strings.NewReader(`{"to":"+5547991234567","template":"abertura_chamado"}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, send.StatusCode(), "language and variables are required")
}

func TestWhatsAppNumber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	get := func(phone string) plinxapi.WhatsAppNumber {
		t.Helper()
		resp, err := b.api.GetWhatsAppNumberWithResponse(ctx, phone)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode(), string(resp.Body))
		return *resp.JSON200
	}
	n := get(phone)
	require.True(t, n.IsWhatsapp, "every valid number is WhatsApp by default")
	require.Equal(t, "5547991234567", *n.WaId)

	b.sim.SetWhatsApp(phone, false)
	require.Equal(t, plinxapi.WhatsAppNumber{IsWhatsapp: false}, get(phone))

	b.sim.SetWhatsAppID("+5511988887777", "551188887777")
	require.Equal(t, "551188887777", *get("+5511988887777").WaId, "a Brazilian wa_id without the ninth digit")

	b.sim.SetDefaultWhatsApp(false)
	require.False(t, get("+5521977776666").IsWhatsapp)

	// The path's '+' escaped as %2B and bare both mean '+'.
	for _, p := range []string{"%2B5511988887777", "+5511988887777"} {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/v1/whatsapp/numbers/"+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := b.http.Do(req)
		require.NoError(t, err)
		var got plinxapi.WhatsAppNumber
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		require.True(t, got.IsWhatsapp, p)
	}

	resp, err := b.api.GetWhatsAppNumberWithResponse(ctx, "12345")
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode())
}

func TestSendTemplate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ref := "0192b7c4-0000-7000-8000-000000000001"
	send := func(m plinxapi.TemplateMessage) *plinxapi.SendTemplateResponse {
		t.Helper()
		resp, err := b.api.SendTemplateWithResponse(ctx, m)
		require.NoError(t, err)
		return resp
	}
	resp := send(plinxapi.TemplateMessage{To: phone, Template: "abertura_chamado", Language: "pt_BR",
		Variables: []string{"Ana", "2026-000123", "https://atende.example/t/x"}, Reference: &ref})
	require.Equal(t, http.StatusAccepted, resp.StatusCode())
	require.Equal(t, plinxapi.TemplateAcceptedStatusQueued, resp.JSON202.Status)

	sent := b.sim.SentMessages()
	require.Len(t, sent, 1)
	require.Equal(t, resp.JSON202.MessageId, sent[0].ID)
	require.Equal(t, phone, sent[0].To)
	require.Equal(t, ref, sent[0].Reference)
	require.Equal(t, []string{"Ana", "2026-000123", "https://atende.example/t/x"}, sent[0].Variables)
	require.Equal(t, "queued", sent[0].Status)

	resp = send(plinxapi.TemplateMessage{To: phone, Template: "abertura", Language: "pt_BR", Variables: []string{}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode())
	require.Equal(t, "template_not_found", resp.JSON404.Code)

	resp = send(plinxapi.TemplateMessage{To: phone, Template: "abertura_chamado", Language: "en_US", Variables: []string{"a", "b", "c"}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode(), "a template exists per language")

	resp = send(plinxapi.TemplateMessage{To: phone, Template: "encerramento_chamado", Language: "pt_BR", Variables: []string{"Ana"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode())
	require.Equal(t, "template_rejected", resp.JSON422.Code)

	b.sim.SetWhatsApp(phone, false)
	resp = send(plinxapi.TemplateMessage{To: phone, Template: "encerramento_chamado", Language: "pt_BR", Variables: []string{"Ana", "https://s.example"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode())
	require.Equal(t, "not_whatsapp", resp.JSON422.Code)

	require.Len(t, b.sim.SentMessages(), 1, "refused sends are not logged")
	require.Equal(t, 5, b.sim.Requests(sim.OpSendTemplate))
}

func TestFaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	active := func(ctx context.Context) (*plinxapi.GetActiveConversationResponse, error) {
		return b.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: phone})
	}

	b.sim.FailNext(sim.OpGetActiveConversation, sim.FailError500, 2)
	for range 2 {
		resp, err := active(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode())
		require.Equal(t, "internal_error", resp.JSON500.Code)
	}
	resp, err := active(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "FailNext fails only the next N")
	require.Equal(t, sim.FailNone, b.sim.Fault(sim.OpGetActiveConversation).Mode)

	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailError429)
	resp, err = active(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode())
	require.Equal(t, "1", resp.HTTPResponse.Header.Get("Retry-After"))
	resp, err = active(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode(), "SetFailure lasts")

	num, err := b.api.GetWhatsAppNumberWithResponse(ctx, phone)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, num.StatusCode(), "faults are per operation")

	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailNone)
	b.sim.SetLatency(sim.OpGetActiveConversation, 80*time.Millisecond)
	start := time.Now()
	resp, err = active(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode())
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)

	// timeout: the simulator hangs until the client gives up.
	b.sim.SetLatency(sim.OpGetActiveConversation, 0)
	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailTimeout)
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = active(tctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), time.Second)

	// With a hang limit it answers 503 after it.
	b.sim.SetFault(sim.OpGetActiveConversation, sim.Fault{Mode: sim.FailTimeout, HangFor: 50 * time.Millisecond})
	resp, err = active(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode())
}

// TestCloseReleasesHangs: Close ends a request hanging in the timeout mode, so a test's cleanup never waits
// for the hang limit.
func TestCloseReleasesHangs(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{Token: token, HangFor: time.Minute})
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.SetFailure(sim.OpGetWhatsAppNumber, sim.FailTimeout)
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/whatsapp/numbers/%2B5547991234567", nil)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return s.Requests(sim.OpGetWhatsAppNumber) == 1 }, 2*time.Second, 5*time.Millisecond)
	s.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not release the hanging request")
	}
	srv.Client().CloseIdleConnections()
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	var conv sim.Conversation
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/conversations",
		map[string]any{"phone": phone, "active": true, "conversation_id": "conv_1", "agent": "joao"}, &conv))
	require.Equal(t, "conv_1", conv.ID)
	resp, err := b.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: phone})
	require.NoError(t, err)
	require.Equal(t, "conv_1", *resp.JSON200.ConversationId)
	require.Equal(t, "joao", *resp.JSON200.Agent)
	var convs []sim.Conversation
	require.Equal(t, http.StatusOK, b.admin(t, "GET", "/conversations", nil, &convs))
	require.Len(t, convs, 1)
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/conversations", map[string]any{"phone": phone, "active": false}, nil))
	_, ok := b.sim.Conversation(phone)
	require.False(t, ok)
	require.Equal(t, http.StatusBadRequest, b.admin(t, "POST", "/conversations", map[string]any{"phone": "47 9912", "active": true}, nil))
	require.Equal(t, http.StatusBadRequest, b.admin(t, "POST", "/conversations", `{"phone":"+5547991234567","active":true,"agnet":"x"}`, nil),
		"unknown fields are reported")

	var n sim.Number
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/numbers", map[string]any{"phone": phone, "is_whatsapp": true, "wa_id": "554791234567"}, &n))
	require.Equal(t, sim.Number{IsWhatsApp: true, WaID: "554791234567"}, n)
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/numbers", map[string]any{"phone": phone, "is_whatsapp": false}, &n))
	require.False(t, b.sim.Number(phone).IsWhatsApp)
	require.Equal(t, http.StatusNoContent, b.admin(t, "POST", "/numbers/default", map[string]any{"is_whatsapp": false}, nil))
	require.False(t, b.sim.Number("+5511988887777").IsWhatsApp)

	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/templates", map[string]any{"name": "pesquisa", "language": "pt_BR", "variables": 1}, nil))
	require.Contains(t, b.sim.Templates(), sim.Template{Name: "pesquisa", Language: "pt_BR", Variables: 1})

	var faults map[string]map[string]any
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/faults", map[string]any{"operation": "*", "mode": "error500", "times": 1, "latency_ms": 5}, &faults))
	require.Len(t, faults, 3)
	for _, op := range sim.Operations {
		f := b.sim.Fault(op)
		require.Equal(t, sim.Fault{Mode: sim.FailError500, Times: 1, Latency: 5 * time.Millisecond}, f, op)
	}
	require.Equal(t, http.StatusBadRequest, b.admin(t, "POST", "/faults", map[string]any{"operation": "sendTemplate", "mode": "explode"}, nil))
	require.Equal(t, http.StatusBadRequest, b.admin(t, "POST", "/faults", map[string]any{"operation": "dial", "mode": "none"}, nil))
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/faults", map[string]any{"operation": "sendTemplate", "mode": "none"}, nil))
	require.Equal(t, sim.FailNone, b.sim.Fault(sim.OpSendTemplate).Mode)
	require.Equal(t, 5*time.Millisecond, b.sim.Fault(sim.OpSendTemplate).Latency, "fields not given are kept")

	b.sim.SetDefaultWhatsApp(true)
	b.sim.SetWhatsApp(phone, true)
	sendResp, err := b.api.SendTemplateWithResponse(ctx, plinxapi.TemplateMessage{To: phone, Template: "pesquisa", Language: "pt_BR", Variables: []string{"x"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, sendResp.StatusCode())
	var msgs []sim.SentMessage
	require.Equal(t, http.StatusOK, b.admin(t, "GET", "/messages", nil, &msgs))
	require.Len(t, msgs, 1)
	require.Equal(t, sendResp.JSON202.MessageId, msgs[0].ID)

	var state map[string]json.RawMessage
	require.Equal(t, http.StatusOK, b.admin(t, "GET", "/state", nil, &state))
	for _, k := range []string{"conversations", "numbers", "templates", "faults", "requests", "messages", "config", "webhooks"} {
		require.Contains(t, state, k)
	}
	require.JSONEq(t, `{"getActiveConversation":1,"getWhatsAppNumber":0,"sendTemplate":1}`, string(state["requests"]))

	require.Equal(t, http.StatusNoContent, b.admin(t, "POST", "/reset", nil, nil))
	require.Empty(t, b.sim.SentMessages())
	require.Equal(t, sim.FailNone, b.sim.Fault(sim.OpSendTemplate).Mode)
	require.Zero(t, b.sim.Fault(sim.OpSendTemplate).Latency)
	require.True(t, b.sim.Number(phone).IsWhatsApp)
	require.Len(t, b.sim.Templates(), len(sim.DefaultTemplates))
	require.Zero(t, b.sim.Requests(sim.OpSendTemplate))

	require.Equal(t, http.StatusNotFound, b.admin(t, "GET", "/nothing", nil, nil))
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	require.Equal(t, http.StatusConflict, b.admin(t, "POST", "/webhooks", map[string]any{"type": "conversation.started", "phone": phone}, nil),
		"no target configured")

	var cfg map[string]any
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/config", map[string]any{"webhook_url": b.hookURL}, &cfg))
	secret, _ := cfg["webhook_secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"), "a target without a secret gets one")
	require.Equal(t, secret, b.sim.Webhook().Secret)

	// conversation.started
	var f struct {
		WebhookID  string `json:"webhook_id"`
		Type       string `json:"type"`
		StatusCode int    `json:"status_code"`
	}
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/webhooks", map[string]any{"type": "conversation.started", "phone": phone, "agent": "maria"}, &f))
	require.Equal(t, http.StatusOK, f.StatusCode)
	h := b.nextHook(t)
	require.Equal(t, f.WebhookID, h.header.Get("webhook-id"))
	ev := b.verifyHook(t, h)
	require.Equal(t, plinxapi.PlinxEventTypeConversationStarted, ev.Type)
	require.True(t, b.now.Equal(ev.OccurredAt))
	conv, ok := b.sim.Conversation(phone)
	require.True(t, ok, "started marks the phone active")
	require.Equal(t, conv.ID, ev.Conversation.Id)
	require.Equal(t, phone, ev.Conversation.Phone)
	require.Equal(t, "maria", *ev.Conversation.Agent)
	require.NotNil(t, ev.Conversation.StartedAt)
	require.Nil(t, ev.Message)

	// message.created
	d, err := b.sim.Fire(ctx, sim.Shortcut{Type: "message.created", Phone: phone, Text: "Bom dia"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, d.StatusCode)
	ev = b.verifyHook(t, b.nextHook(t))
	require.Equal(t, plinxapi.PlinxEventTypeMessageCreated, ev.Type)
	require.Equal(t, plinxapi.PlinxEventConversation{Id: conv.ID, Phone: phone}, *ev.Conversation)
	require.Equal(t, "Bom dia", *ev.Message.Text)
	require.Equal(t, plinxapi.PlinxEventMessageDirectionInbound, *ev.Message.Direction)
	require.NotEmpty(t, ev.Message.Id)
	require.NotNil(t, ev.Message.SentAt)
	require.Nil(t, ev.Message.Status)

	// message.status for a sent template, through the admin route
	send, err := b.api.SendTemplateWithResponse(ctx, plinxapi.TemplateMessage{To: phone, Template: "encerramento_chamado",
		Language: "pt_BR", Variables: []string{"Ana", "https://s.example/1"}})
	require.NoError(t, err)
	id := send.JSON202.MessageId
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/messages/"+url.PathEscape(id)+"/status",
		map[string]any{"status": "failed", "error_code": "131026", "error_message": "undeliverable"}, &f))
	ev = b.verifyHook(t, b.nextHook(t))
	require.Equal(t, plinxapi.PlinxEventTypeMessageStatus, ev.Type)
	require.Nil(t, ev.Conversation)
	require.Equal(t, id, ev.Message.Id)
	require.Equal(t, plinxapi.PlinxEventMessageStatusFailed, *ev.Message.Status)
	require.Equal(t, "131026", *ev.Message.ErrorCode)
	require.Equal(t, "undeliverable", *ev.Message.ErrorMessage)
	require.Equal(t, "failed", b.sim.SentMessages()[0].Status)
	require.Equal(t, http.StatusBadRequest, b.admin(t, "POST", "/messages/"+id+"/status", map[string]any{"status": "lost"}, nil))

	// conversation.closed
	_, err = b.sim.Fire(ctx, sim.Shortcut{Type: "conversation.closed", Phone: phone})
	require.NoError(t, err)
	ev = b.verifyHook(t, b.nextHook(t))
	require.Equal(t, plinxapi.PlinxEventTypeConversationClosed, ev.Type)
	require.Equal(t, conv.ID, ev.Conversation.Id)
	require.True(t, b.now.Equal(*ev.Conversation.ClosedAt))
	_, ok = b.sim.Conversation(phone)
	require.False(t, ok, "closed marks the phone inactive")
	_, err = b.sim.Fire(ctx, sim.Shortcut{Type: "message.created", Phone: phone, Text: "oi"})
	require.ErrorIs(t, err, sim.ErrNoConversation)
	require.Equal(t, http.StatusNotFound, b.admin(t, "POST", "/webhooks", map[string]any{"type": "conversation.closed", "phone": phone}, nil))
	require.Equal(t, http.StatusBadRequest, b.admin(t, "POST", "/webhooks", map[string]any{"type": "conversation.paused", "phone": phone}, nil))

	// A full event is sent as given; the Go API sends a PlinxEvent.
	raw := `{"type":"message.status","occurred_at":"2026-11-20T12:59:00Z","message":{"id":"wamid.unknown","status":"read"}}`
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/webhooks", raw, &f))
	h = b.nextHook(t)
	require.JSONEq(t, raw, string(h.body))
	b.verifyHook(t, h)
	status, err := b.sim.FireWebhook(ctx, plinxapi.PlinxEvent{Type: plinxapi.PlinxEventTypeConversationStarted, OccurredAt: b.now,
		Conversation: &plinxapi.PlinxEventConversation{Id: "conv_x", Phone: phone}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	b.verifyHook(t, b.nextHook(t))

	// The target's status code is reported; a redelivery keeps the webhook-id and body.
	b.setCode(http.StatusServiceUnavailable)
	d, err = b.sim.Fire(ctx, sim.Shortcut{Type: "conversation.started", Phone: phone})
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, d.StatusCode)
	first := b.nextHook(t)
	b.setCode(http.StatusOK)
	b.now = b.now.Add(time.Minute) // not concurrent: no request is in flight
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/webhooks/"+d.WebhookID+"/redeliver", nil, &f))
	again := b.nextHook(t)
	require.Equal(t, first.header.Get("webhook-id"), again.header.Get("webhook-id"))
	require.Equal(t, first.body, again.body)
	require.NotEqual(t, first.header.Get("webhook-timestamp"), again.header.Get("webhook-timestamp"))
	b.verifyHook(t, again)
	require.Equal(t, http.StatusNotFound, b.admin(t, "POST", "/webhooks/msg_nope/redeliver", nil, nil))

	var deliveries []sim.Delivery
	require.Equal(t, http.StatusOK, b.admin(t, "GET", "/webhooks", nil, &deliveries))
	require.Len(t, deliveries, 8)
	require.Equal(t, "conversation.started", deliveries[0].Type)
	var listed []map[string]any
	require.Equal(t, http.StatusOK, b.admin(t, "GET", "/webhooks", nil, &listed))
	require.Equal(t, "conversation.started", listed[0]["body"].(map[string]any)["type"], "bodies are listed as JSON")

	// An unreachable target is a 502 from the admin API.
	require.Equal(t, http.StatusOK, b.admin(t, "POST", "/config", map[string]any{"webhook_url": "http://127.0.0.1:1/hook"}, nil))
	require.Equal(t, http.StatusBadGateway, b.admin(t, "POST", "/webhooks", map[string]any{"type": "conversation.started", "phone": phone}, nil))
	require.NotEqual(t, secret, b.sim.Webhook().Secret, "a new target without a secret gets a new one")
}

func TestAutomaticStatuses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.sim.SetWebhook(sim.WebhookConfig{URL: b.hookURL, AutoStatus: []string{"sent", "delivered", "read"}})
	require.NoError(t, err)

	send, err := b.api.SendTemplateWithResponse(ctx, plinxapi.TemplateMessage{To: phone, Template: "abertura_chamado",
		Language: "pt_BR", Variables: []string{"Ana", "1", "https://t.example/1"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, send.StatusCode())

	ids := map[string]bool{}
	for _, want := range []plinxapi.PlinxEventMessageStatus{"sent", "delivered", "read"} {
		h := b.nextHook(t)
		ev := b.verifyHook(t, h)
		require.Equal(t, plinxapi.PlinxEventTypeMessageStatus, ev.Type)
		require.Equal(t, send.JSON202.MessageId, ev.Message.Id)
		require.Equal(t, want, *ev.Message.Status, "in order")
		ids[h.header.Get("webhook-id")] = true
	}
	require.Len(t, ids, 3, "each status is its own webhook")
	require.Eventually(t, func() bool {
		m := b.sim.SentMessages()
		return len(m) == 1 && m[0].Status == "read" && len(m[0].Statuses) == 3
	}, 2*time.Second, 5*time.Millisecond)

	_, err = b.sim.SetWebhook(sim.WebhookConfig{URL: b.hookURL, AutoStatus: []string{"bounced"}})
	require.ErrorIs(t, err, sim.ErrInvalid)
	_, err = b.sim.SetWebhook(sim.WebhookConfig{URL: b.hookURL, Secret: "whsec_%%%"})
	require.ErrorIs(t, err, sim.ErrInvalid)

	// Off (the default): a send triggers nothing.
	_, err = b.sim.SetWebhook(sim.WebhookConfig{URL: b.hookURL})
	require.NoError(t, err)
	send, err = b.api.SendTemplateWithResponse(ctx, plinxapi.TemplateMessage{To: phone, Template: "abertura_chamado",
		Language: "pt_BR", Variables: []string{"Ana", "2", "https://t.example/2"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, send.StatusCode())
	_, err = b.sim.PushStatus(ctx, send.JSON202.MessageId, "delivered", "", "")
	require.NoError(t, err)
	ev := b.verifyHook(t, b.nextHook(t))
	require.Equal(t, plinxapi.PlinxEventMessageStatusDelivered, *ev.Message.Status, "the first webhook is the explicit push")
}
