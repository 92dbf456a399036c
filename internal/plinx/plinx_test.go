package plinx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/atende/atende/internal/plinx"
	"github.com/atende/atende/internal/plinx/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	token = "plx_test_3kQ9mB7xV2pL8nR4"
	phone = "+5547991234567"
)

type bundle struct {
	sim    *sim.Server
	url    string
	reg    *prometheus.Registry
	client *plinx.Client
}

// setup starts a simulator on loopback and a client for it; edit adjusts the client's configuration.
func setup(t *testing.T, edit func(*plinx.Config)) *bundle {
	t.Helper()
	s := sim.New(sim.Options{Token: token})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	cfg := plinx.Config{BaseURL: srv.URL, Token: token}
	if edit != nil {
		edit(&cfg)
	}
	reg := prometheus.NewRegistry()
	c, err := plinx.New(cfg, reg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return &bundle{sim: s, url: srv.URL, reg: reg, client: c}
}

// metric reads one series from the registry; 0 when it does not exist. Histograms give their count.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// pathRecorder records the escaped paths requested.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
	next  http.RoundTripper
}

func (p *pathRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, req.URL.EscapedPath()+"?"+req.URL.RawQuery)
	p.mu.Unlock()
	return p.next.RoundTrip(req)
}

func TestHappyPaths(t *testing.T) {
	t.Parallel()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	rec := &pathRecorder{next: tr}
	b := setup(t, func(c *plinx.Config) { c.HTTPClient = &http.Client{Transport: rec} })
	ctx := context.Background()

	a, err := b.client.ActiveConversation(ctx, phone)
	require.NoError(t, err)
	require.Equal(t, plinx.Active{}, a)

	started := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	conv := b.sim.SetActive(phone, true, sim.WithAgent("maria"), sim.WithStartedAt(started))
	a, err = b.client.ActiveConversation(ctx, phone)
	require.NoError(t, err)
	require.Equal(t, plinx.Active{Active: true, ConversationID: conv.ID, Agent: "maria", StartedAt: started, LastMessageAt: started}, a)

	n, err := b.client.WhatsAppNumber(ctx, phone)
	require.NoError(t, err)
	require.Equal(t, plinx.Number{IsWhatsApp: true, WaID: "5547991234567"}, n)
	b.sim.SetWhatsAppID(phone, "554791234567")
	n, err = b.client.WhatsAppNumber(ctx, phone)
	require.NoError(t, err)
	require.Equal(t, "554791234567", n.WaID)
	b.sim.SetWhatsApp(phone, false)
	n, err = b.client.WhatsAppNumber(ctx, phone)
	require.NoError(t, err)
	require.Equal(t, plinx.Number{}, n)
	b.sim.SetWhatsApp(phone, true)

	sent, err := b.client.SendTemplate(ctx, plinx.TemplateMessage{To: phone, Template: "abertura_chamado", Language: "pt_BR",
		Variables: []string{"Ana", "2026-000123", "https://atende.example/t/x"}, Reference: "outbound-1"})
	require.NoError(t, err)
	require.Equal(t, "queued", sent.Status)
	log := b.sim.SentMessages()
	require.Len(t, log, 1)
	require.Equal(t, sent.MessageID, log[0].ID)
	require.Equal(t, "outbound-1", log[0].Reference)
	require.Equal(t, []string{"Ana", "2026-000123", "https://atende.example/t/x"}, log[0].Variables)

	_, err = b.client.SendTemplate(ctx, plinx.TemplateMessage{To: phone, Template: "lembrete_agendamento", Language: "pt_BR",
		Variables: []string{"Ana", "amanhã"}})
	require.NoError(t, err, "no reference is fine")

	require.Contains(t, rec.paths, "/v1/conversations/active?phone=%2B5547991234567")
	require.Contains(t, rec.paths, "/v1/whatsapp/numbers/%2B5547991234567?", "the '+' is escaped in the path too")

	require.Equal(t, plinx.BreakerClosed, b.client.BreakerState())
	require.Equal(t, 2.0, metric(t, b.reg, "atende_plinx_requests_total", map[string]string{"operation": "active_conversation", "outcome": "ok"}))
	require.Equal(t, 2.0, metric(t, b.reg, "atende_plinx_request_duration_seconds", map[string]string{"operation": "send_template"}))
	require.Equal(t, 1.0, metric(t, b.reg, "atende_plinx_breaker_state", map[string]string{"target": b.url, "state": "closed"}))
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *plinx.Config) { c.Timeout = 500 * time.Millisecond })
	ctx := context.Background()
	apiError := func(t *testing.T, err error) *plinx.APIError {
		t.Helper()
		var api *plinx.APIError
		require.ErrorAs(t, err, &api)
		return api
	}

	_, err := b.client.ActiveConversation(ctx, "47 99123-4567")
	api := apiError(t, err)
	require.Equal(t, 400, api.Status)
	require.Equal(t, "invalid_request", api.Code)
	require.True(t, api.Permanent())
	require.NotErrorIs(t, err, plinx.ErrUnavailable)

	msg := plinx.TemplateMessage{To: phone, Template: "nao_existe", Language: "pt_BR", Variables: []string{}}
	_, err = b.client.SendTemplate(ctx, msg)
	api = apiError(t, err)
	require.Equal(t, 404, api.Status)
	require.Equal(t, "template_not_found", api.Code)
	require.True(t, api.Permanent())

	msg.Template = "abertura_chamado"
	_, err = b.client.SendTemplate(ctx, msg)
	api = apiError(t, err)
	require.Equal(t, 422, api.Status)
	require.Equal(t, "template_rejected", api.Code)
	require.True(t, api.Permanent())

	b.sim.SetWhatsApp(phone, false)
	msg.Variables = []string{"a", "b", "c"}
	_, err = b.client.SendTemplate(ctx, msg)
	api = apiError(t, err)
	require.Equal(t, "not_whatsapp", api.Code)
	require.True(t, api.Permanent())

	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailError429)
	before := b.sim.Requests(sim.OpGetActiveConversation)
	_, err = b.client.ActiveConversation(ctx, phone)
	api = apiError(t, err)
	require.Equal(t, 429, api.Status)
	require.False(t, api.Permanent())
	require.Equal(t, time.Second, api.RetryAfter)
	require.ErrorIs(t, err, plinx.ErrUnavailable, "rate limited: Plinx cannot answer now")
	require.Equal(t, before+1, b.sim.Requests(sim.OpGetActiveConversation), "Retry-After is longer than the call may take: no retry")

	other, err := plinx.New(plinx.Config{BaseURL: b.url, Token: "wrong-token"}, nil)
	require.NoError(t, err)
	t.Cleanup(other.Close)
	_, err = other.WhatsAppNumber(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrUnauthorized)
	require.NotErrorIs(t, err, plinx.ErrUnavailable)
	api = apiError(t, err)
	require.Equal(t, 401, api.Status)
	require.False(t, api.Permanent())
	require.NotContains(t, err.Error(), "wrong-token")

	// None of this opened the breaker: Plinx answered every time.
	require.Equal(t, plinx.BreakerClosed, b.client.BreakerState())
	require.Equal(t, 1.0, metric(t, b.reg, "atende_plinx_requests_total", map[string]string{"operation": "active_conversation", "outcome": "rate_limited"}))
	require.Equal(t, 3.0, metric(t, b.reg, "atende_plinx_requests_total", map[string]string{"operation": "send_template", "outcome": "client_error"}))
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 150 * time.Millisecond
	b := setup(t, func(c *plinx.Config) { c.Timeout = timeout })
	ctx := context.Background()

	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailTimeout)
	start := time.Now()
	_, err := b.client.ActiveConversation(ctx, phone)
	took := time.Since(start)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, took, timeout)
	require.Less(t, took, timeout+400*time.Millisecond, "the call gives up at its timeout, retries included")
	require.Equal(t, 1, b.sim.Requests(sim.OpGetActiveConversation))
	require.NotContains(t, err.Error(), phone, "errors do not show the number")

	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailNone)
	b.sim.SetLatency(sim.OpGetWhatsAppNumber, time.Second)
	start = time.Now()
	_, err = b.client.WhatsAppNumber(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.Less(t, time.Since(start), timeout+400*time.Millisecond)
	require.Equal(t, 1.0, metric(t, b.reg, "atende_plinx_requests_total", map[string]string{"operation": "whatsapp_number", "outcome": "timeout"}))

	// A caller that gives up is not Plinx's failure.
	cctx, cancel := context.WithCancel(ctx)
	b.sim.SetLatency(sim.OpGetActiveConversation, time.Second)
	errc := make(chan error, 1)
	go func() {
		_, err := b.client.ActiveConversation(cctx, phone)
		errc <- err
	}()
	require.Eventually(t, func() bool { return b.sim.Requests(sim.OpGetActiveConversation) == 2 }, time.Second, time.Millisecond)
	cancel()
	err = <-errc
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, plinx.ErrUnavailable)
	require.Equal(t, 1.0, metric(t, b.reg, "atende_plinx_requests_total", map[string]string{"operation": "active_conversation", "outcome": "canceled"}))

	// Already cancelled: nothing is sent.
	_, err = b.client.ActiveConversation(cctx, phone)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 2, b.sim.Requests(sim.OpGetActiveConversation))
	require.Equal(t, plinx.BreakerClosed, b.client.BreakerState())
}

func TestRetriesIdempotentGets(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()

	b.sim.FailNext(sim.OpGetActiveConversation, sim.FailError500, 2)
	b.sim.SetActive(phone, true)
	a, err := b.client.ActiveConversation(ctx, phone)
	require.NoError(t, err, "two 500s, then an answer within the default 2 retries")
	require.True(t, a.Active)
	require.Equal(t, 3, b.sim.Requests(sim.OpGetActiveConversation))
	require.Equal(t, 2.0, metric(t, b.reg, "atende_plinx_requests_total", map[string]string{"operation": "active_conversation", "outcome": "server_error"}))

	b.sim.FailNext(sim.OpGetWhatsAppNumber, sim.FailError500, 3)
	_, err = b.client.WhatsAppNumber(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.Equal(t, 3, b.sim.Requests(sim.OpGetWhatsAppNumber), "one try and two retries, no more")
	n, err := b.client.WhatsAppNumber(ctx, phone)
	require.NoError(t, err)
	require.True(t, n.IsWhatsApp)

	none := setup(t, func(c *plinx.Config) { c.Retries = -1 })
	none.sim.FailNext(sim.OpGetActiveConversation, sim.FailError500, 1)
	_, err = none.client.ActiveConversation(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.Equal(t, 1, none.sim.Requests(sim.OpGetActiveConversation), "Retries < 0: none")
}

func TestSendTemplateIsNotRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *plinx.Config) { c.Timeout = 200 * time.Millisecond })
	ctx := context.Background()
	msg := plinx.TemplateMessage{To: phone, Template: "encerramento_chamado", Language: "pt_BR", Variables: []string{"Ana", "https://s.example/1"}}

	b.sim.FailNext(sim.OpSendTemplate, sim.FailError500, 1)
	_, err := b.client.SendTemplate(ctx, msg)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.NotErrorIs(t, err, plinx.ErrBreakerOpen)
	require.Equal(t, 1, b.sim.Requests(sim.OpSendTemplate))

	b.sim.FailNext(sim.OpSendTemplate, sim.FailTimeout, 1)
	_, err = b.client.SendTemplate(ctx, msg)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.Equal(t, 2, b.sim.Requests(sim.OpSendTemplate))

	b.sim.FailNext(sim.OpSendTemplate, sim.FailError429, 1)
	_, err = b.client.SendTemplate(ctx, msg)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.Equal(t, 3, b.sim.Requests(sim.OpSendTemplate))

	_, err = b.client.SendTemplate(ctx, msg)
	require.NoError(t, err)
	require.Equal(t, 4, b.sim.Requests(sim.OpSendTemplate))
	require.Len(t, b.sim.SentMessages(), 1, "only the last send reached the log")
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	const coolDown = 150 * time.Millisecond
	var logs bytes.Buffer
	b := setup(t, func(c *plinx.Config) {
		c.Retries = -1
		c.Breaker = plinx.BreakerConfig{FailureThreshold: 3, CoolDown: coolDown}
		c.Logger = slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))
	})
	ctx := context.Background()
	state := func(s string) float64 {
		return metric(t, b.reg, "atende_plinx_breaker_state", map[string]string{"target": b.url, "state": s})
	}

	// 4xx answers never open it.
	for range 5 {
		_, err := b.client.ActiveConversation(ctx, "bad")
		require.Error(t, err)
	}
	require.Equal(t, plinx.BreakerClosed, b.client.BreakerState())

	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailError500)
	for range 3 {
		_, err := b.client.ActiveConversation(ctx, phone)
		require.ErrorIs(t, err, plinx.ErrUnavailable)
		require.NotErrorIs(t, err, plinx.ErrBreakerOpen)
	}
	require.Equal(t, plinx.BreakerOpen, b.client.BreakerState())
	require.Equal(t, 1.0, state("open"))
	require.Equal(t, 0.0, state("closed"))

	_, err := b.client.ActiveConversation(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrBreakerOpen)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	_, err = b.client.WhatsAppNumber(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrBreakerOpen, "one breaker for the whole Plinx")
	require.Equal(t, 3+5, b.sim.Requests(sim.OpGetActiveConversation), "an open breaker sends nothing")
	require.Zero(t, b.sim.Requests(sim.OpGetWhatsAppNumber))
	require.Equal(t, 1.0, metric(t, b.reg, "atende_plinx_requests_total", map[string]string{"operation": "whatsapp_number", "outcome": "breaker_open"}))

	// After the cool-down a trial call goes through; a failure opens it again.
	require.Eventually(t, func() bool { return b.client.BreakerState() == plinx.BreakerHalfOpen }, time.Second, 5*time.Millisecond)
	require.Equal(t, 1.0, state("half_open"))
	_, err = b.client.ActiveConversation(ctx, phone)
	require.NotErrorIs(t, err, plinx.ErrBreakerOpen)
	require.Equal(t, plinx.BreakerOpen, b.client.BreakerState())

	// Plinx recovers: the next trial call closes it.
	b.sim.SetFailure(sim.OpGetActiveConversation, sim.FailNone)
	require.Eventually(t, func() bool { return b.client.BreakerState() == plinx.BreakerHalfOpen }, time.Second, 5*time.Millisecond)
	_, err = b.client.ActiveConversation(ctx, phone)
	require.NoError(t, err)
	require.Equal(t, plinx.BreakerClosed, b.client.BreakerState())
	require.Equal(t, 1.0, state("closed"))
	require.Contains(t, logs.String(), `"msg":"plinx circuit breaker changed state"`)
	require.Contains(t, logs.String(), `"to":"open"`)
	require.NotContains(t, logs.String(), token)
}

func TestClients(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{Token: token})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	s2 := sim.New(sim.Options{Token: token})
	srv2 := httptest.NewServer(s2)
	t.Cleanup(srv2.Close)
	t.Cleanup(s2.Close)
	ctx := context.Background()

	reg := prometheus.NewRegistry()
	cs := plinx.NewClients(plinx.Config{BaseURL: srv.URL, Token: token, Retries: -1,
		Breaker: plinx.BreakerConfig{FailureThreshold: 1, CoolDown: time.Minute}}, reg)
	t.Cleanup(cs.Close)

	a := cs.For(srv.URL, token)
	require.Same(t, a, cs.For(srv.URL+"/", token), "one client per base URL and token")
	require.Same(t, a, cs.Default())
	other := cs.For(srv.URL, "another-token")
	require.NotSame(t, a, other)
	elsewhere := cs.For(srv2.URL, token)

	_, err := other.ActiveConversation(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrUnauthorized, "each client sends its own token")
	_, err = elsewhere.ActiveConversation(ctx, phone)
	require.NoError(t, err)

	s.SetFailure(sim.OpGetActiveConversation, sim.FailError500)
	_, err = a.ActiveConversation(ctx, phone)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.Equal(t, plinx.BreakerOpen, other.BreakerState(), "clients of one Plinx share its breaker")
	require.Equal(t, plinx.BreakerClosed, elsewhere.BreakerState(), "another Plinx has its own")
	_, err = elsewhere.WhatsAppNumber(ctx, phone)
	require.NoError(t, err)

	// Both breakers are on the one gauge, and the shared counters add up.
	require.Equal(t, 1.0, metric(t, reg, "atende_plinx_breaker_state", map[string]string{"target": srv.URL, "state": "open"}))
	require.Equal(t, 1.0, metric(t, reg, "atende_plinx_breaker_state", map[string]string{"target": srv2.URL, "state": "closed"}))
	require.Equal(t, 1.0, metric(t, reg, "atende_plinx_requests_total", map[string]string{"operation": "active_conversation", "outcome": "unauthorized"}))

	for _, bad := range []*plinx.Client{cs.For("", token), cs.For(srv.URL, ""), cs.For("ftp://plinx.example", token)} {
		_, err := bad.ActiveConversation(ctx, phone)
		require.ErrorIs(t, err, plinx.ErrNotConfigured)
		require.ErrorIs(t, err, plinx.ErrUnavailable, "fail closed")
	}
	require.Equal(t, 3.0, metric(t, reg, "atende_plinx_requests_total", map[string]string{"outcome": "not_configured"}))

	// A second Clients on the same registry shares the series instead of panicking.
	cs2 := plinx.NewClients(plinx.Config{}, reg)
	t.Cleanup(cs2.Close)
	_, err = cs2.For(srv2.URL, token).WhatsAppNumber(ctx, phone)
	require.NoError(t, err)
}

func TestTokenNeverShown(t *testing.T) {
	t.Parallel()
	cfg := plinx.Config{BaseURL: "https://api.plinx.example", Token: token}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "plinx", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logs.String()} {
		require.NotContains(t, s, token)
		require.Contains(t, s, "api.plinx.example")
	}
	require.NoError(t, cfg.Validate())
	err := plinx.Config{BaseURL: "api.plinx.example"}.Validate()
	require.Error(t, err)
	_, err = plinx.New(plinx.Config{BaseURL: "https://api.plinx.example"}, nil)
	require.Error(t, err, "a token is required")

	cs := plinx.NewClients(cfg, nil)
	t.Cleanup(cs.Close)
	for _, v := range []any{cs, cs.Default(), cs.For("http://127.0.0.1:1", "other-"+token), cs.For("bad", token)} {
		require.NotContains(t, fmt.Sprintf("%+v %#v", v, v), token)
	}

	// An unreachable Plinx: the connection error names neither the token nor the number.
	c, err := plinx.New(plinx.Config{BaseURL: "http://127.0.0.1:1", Token: token, Retries: -1}, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	_, err = c.WhatsAppNumber(context.Background(), phone)
	require.ErrorIs(t, err, plinx.ErrUnavailable)
	require.False(t, errors.Is(err, plinx.ErrBreakerOpen))
	require.NotContains(t, err.Error(), token)
	require.NotContains(t, err.Error(), "5547991234567")
}
