// Package plinx is atende's client for Plinx, the WhatsApp messaging service: the active-conversation check
// the dialer makes before every call, the WhatsApp number check, and template sends.
//
// Every call is bounded by Config.Timeout (retries included). Idempotent GETs are retried on
// ErrUnavailable-type failures with jittered exponential backoff while the timeout allows; SendTemplate is
// never retried, because Plinx does not deduplicate sends and a repeated request could message a customer
// twice. A circuit breaker per Plinx base URL stops calling a Plinx that keeps failing, and every failure to
// get an answer is ErrUnavailable, so callers fail closed on one error.
//
// The contract is api/plinx.yaml; the simulator in package sim serves it for tests and development.
package plinx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	plinxapi "github.com/atende/atende/gen/plinx"
)

// Operation names, as the metrics label them.
const (
	opActiveConversation = "active_conversation"
	opWhatsAppNumber     = "whatsapp_number"
	opSendTemplate       = "send_template"
)

// maxAnswer bounds how much of an answer is read: Plinx's answers are a few hundred bytes.
const maxAnswer = 1 << 20

// Active is what Plinx says about a phone's WhatsApp conversation right now.
type Active struct {
	// Active is true when the customer is in a live conversation.
	Active bool
	// ConversationID is Plinx's id of the live conversation; empty when not active.
	ConversationID string
	// Agent is the Plinx agent handling it, if any.
	Agent string
	// StartedAt is when the live conversation started; zero when unknown.
	StartedAt time.Time
	// LastMessageAt is the live conversation's last message; zero when unknown.
	LastMessageAt time.Time
}

// Number is what Plinx says about a phone number's WhatsApp account.
type Number struct {
	// IsWhatsApp is true when the number is a WhatsApp account.
	IsWhatsApp bool
	// WaID is the WhatsApp id (digits; for Brazilian mobiles it may lack the ninth digit); empty when not.
	WaID string
}

// TemplateMessage is a template (HSM) send.
type TemplateMessage struct {
	// To is the number in E.164.
	To string
	// Template is the approved template's name.
	Template string
	// Language is the template's language, e.g. pt_BR.
	Language string
	// Variables are the positional variables, in order.
	Variables []string
	// Reference is atende's own reference (the outbound message id), for Plinx's logs; optional.
	Reference string
}

// Sent is Plinx's acceptance of a template send.
type Sent struct {
	// MessageID is Plinx's message id; message.status webhooks refer to it.
	MessageID string
	// Status is "queued" or "sent".
	Status string
}

// Client calls one Plinx with one token. It is safe for concurrent use.
type Client struct {
	cfg     Config
	target  string
	api     *plinxapi.ClientWithResponses
	breaker *breaker
	metrics *metrics
	http    *http.Client
	ownHTTP bool
	cfgErr  error // non-nil: every call fails with it
}

// New returns a client for one Plinx with a breaker of its own, its metrics registered on reg (nil: not
// registered). Prefer Clients when each tenant has its own Plinx token.
func New(cfg Config, reg prometheus.Registerer) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	t, _ := target(cfg.BaseURL)
	m := newMetrics(reg)
	b := newBreaker(t, cfg.Breaker, cfg.Logger)
	m.breakers.add(b)
	httpc, own := cfg.HTTPClient, false
	if httpc == nil {
		httpc, own = newHTTPClient(), true
	}
	return newClient(cfg, t, b, m, httpc, own), nil
}

func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128 // the dialer's workers check many numbers at once against one Plinx
	return &http.Client{Transport: tr}
}

// newClient builds a client for a validated, defaulted configuration.
func newClient(cfg Config, target string, b *breaker, m *metrics, httpc *http.Client, ownHTTP bool) *Client {
	token := cfg.Token
	api, err := plinxapi.NewClientWithResponses(cfg.BaseURL,
		plinxapi.WithHTTPClient(limitedDoer{httpc}),
		plinxapi.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("User-Agent", "atende")
			return nil
		}))
	cfg.Token = "" // kept only in the request editor: printing a Client with %+v must not show it
	c := &Client{cfg: cfg, target: target, api: api, breaker: b, metrics: m, http: httpc, ownHTTP: ownHTTP}
	if err != nil {
		c.cfgErr = notConfigured(err)
	}
	return c
}

// notConfigured is the error of every call on a client without a usable configuration.
func notConfigured(cause error) error {
	why := strings.ReplaceAll(strings.ReplaceAll(cause.Error(), "plinx: ", ""), "\n", "; ")
	return &unavailableError{outcome: "not_configured", cause: fmt.Errorf("%w: %s", ErrNotConfigured, why)}
}

// limitedDoer caps how much of an answer can be read.
type limitedDoer struct{ c *http.Client }

// Do sends the request and caps the answer's body.
func (d limitedDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, maxAnswer), resp.Body}
	return resp, nil
}

// Target is the Plinx this client calls (its base URL without user info): the breaker's name and the
// metrics' target label.
func (c *Client) Target() string { return c.target }

// BreakerState is the state of the breaker in front of this client's Plinx, for logs and health checks.
func (c *Client) BreakerState() BreakerState {
	if c.breaker == nil {
		return BreakerClosed
	}
	return c.breaker.State()
}

// Close releases idle connections when the client owns its HTTP client; calls after Close still work.
func (c *Client) Close() {
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
}

// ActiveConversation asks whether the customer at e164 is in a live WhatsApp conversation. Any failure to
// get an answer is ErrUnavailable: the dialer must then not dial.
func (c *Client) ActiveConversation(ctx context.Context, e164 string) (Active, error) {
	var out Active
	err := c.call(ctx, opActiveConversation, true, func(ctx context.Context) error {
		resp, err := c.api.GetActiveConversationWithResponse(ctx, &plinxapi.GetActiveConversationParams{Phone: e164})
		if err != nil {
			return err
		}
		if resp.JSON200 == nil {
			return answerError(resp.HTTPResponse, resp.Body)
		}
		a := resp.JSON200
		out = Active{Active: a.Active, ConversationID: deref(a.ConversationId), Agent: deref(a.Agent),
			StartedAt: derefTime(a.StartedAt), LastMessageAt: derefTime(a.LastMessageAt)}
		return nil
	})
	if err != nil {
		return Active{}, fmt.Errorf("plinx active conversation check: %w", err)
	}
	return out, nil
}

// WhatsAppNumber asks whether e164 is a WhatsApp account, and its WhatsApp id.
func (c *Client) WhatsAppNumber(ctx context.Context, e164 string) (Number, error) {
	var out Number
	err := c.call(ctx, opWhatsAppNumber, true, func(ctx context.Context) error {
		resp, err := c.api.GetWhatsAppNumberWithResponse(ctx, e164, escapePlus)
		if err != nil {
			return err
		}
		if resp.JSON200 == nil {
			return answerError(resp.HTTPResponse, resp.Body)
		}
		out = Number{IsWhatsApp: resp.JSON200.IsWhatsapp, WaID: deref(resp.JSON200.WaId)}
		return nil
	})
	if err != nil {
		return Number{}, fmt.Errorf("plinx WhatsApp number check: %w", err)
	}
	return out, nil
}

// SendTemplate sends a template message, once: it is never retried here, because Plinx does not
// deduplicate sends. ErrUnavailable then means the outcome is unknown unless it also matches
// ErrBreakerOpen or ErrNotConfigured (the request was not sent). A *APIError with Permanent() true
// (unknown template, not a WhatsApp number, rejected variables) will fail the same way again.
func (c *Client) SendTemplate(ctx context.Context, m TemplateMessage) (Sent, error) {
	body := plinxapi.TemplateMessage{To: m.To, Template: m.Template, Language: m.Language,
		Variables: append([]string{}, m.Variables...)} // never null: the contract wants an array
	if m.Reference != "" {
		body.Reference = &m.Reference
	}
	var out Sent
	err := c.call(ctx, opSendTemplate, false, func(ctx context.Context) error {
		resp, err := c.api.SendTemplateWithResponse(ctx, body)
		if err != nil {
			return err
		}
		if resp.JSON202 == nil {
			return answerError(resp.HTTPResponse, resp.Body)
		}
		out = Sent{MessageID: resp.JSON202.MessageId, Status: string(resp.JSON202.Status)}
		return nil
	})
	if err != nil {
		return Sent{}, fmt.Errorf("plinx template send: %w", err)
	}
	return out, nil
}

// escapePlus sends the path's '+' as %2B: both mean '+' in a path, but some servers read a bare '+' as a
// space, as in a query.
func escapePlus(_ context.Context, req *http.Request) error {
	if strings.Contains(req.URL.Path, "+") {
		req.URL.RawPath = strings.ReplaceAll(req.URL.EscapedPath(), "+", "%2B")
	}
	return nil
}

// call runs one operation within the call timeout: attempts through the breaker, retried with backoff
// when idempotent and the failure is transient.
func (c *Client) call(ctx context.Context, op string, idempotent bool, attempt func(context.Context) error) error {
	if c.cfgErr != nil {
		c.metrics.requests.WithLabelValues(op, "not_configured").Inc()
		return c.cfgErr
	}
	if err := ctx.Err(); err != nil { // the caller gave up before asking: not Plinx's failure
		c.metrics.requests.WithLabelValues(op, "canceled").Inc()
		return &canceledError{cause: err}
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	tries := 1
	if idempotent {
		tries += c.cfg.Retries
	}
	for i := 0; ; i++ {
		err := c.attempt(ctx, callCtx, op, attempt)
		if i+1 >= tries || !retryable(err) {
			return err
		}
		wait := c.backoff(i)
		var api *APIError
		if errors.As(err, &api) && api.RetryAfter > wait {
			wait = api.RetryAfter
		}
		if deadline, ok := callCtx.Deadline(); ok && time.Until(deadline) <= wait {
			return err // no time left for another try
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-callCtx.Done():
			t.Stop()
			return err
		}
	}
}

// retryable: a transient failure of an attempt that got through the breaker and did not use up the time.
func retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrBreakerOpen) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNotConfigured)
}

// backoff is the wait before retry i+1: RetryBackoff doubled i times, jittered down to half of that.
func (c *Client) backoff(i int) time.Duration {
	d := c.cfg.RetryBackoff << i
	return d/2 + rand.N(d/2+1)
}

// attempt makes one request through the breaker and records it.
func (c *Client) attempt(parent, callCtx context.Context, op string, do func(context.Context) error) error {
	done, err := c.breaker.cb.Allow()
	if err != nil {
		c.metrics.requests.WithLabelValues(op, "breaker_open").Inc()
		return &unavailableError{outcome: "breaker_open", reason: "circuit breaker open", cause: ErrBreakerOpen}
	}
	start := time.Now()
	err = classify(parent, callCtx, do(callCtx))
	done(err)
	c.metrics.observe(op, outcomeOf(err), time.Since(start))
	return err
}

// classify turns transport and decoding errors into the package's errors; typed errors pass through.
func classify(parent, callCtx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var api *APIError
	var un *unavailableError
	if errors.As(err, &api) || errors.As(err, &un) {
		return err
	}
	if errors.Is(parent.Err(), context.Canceled) {
		return &canceledError{cause: parent.Err()}
	}
	// *url.Error shows the URL, which holds the customer's number: keep only its cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return &unavailableError{outcome: "timeout", reason: "timeout", cause: context.DeadlineExceeded}
	}
	var jsonErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &jsonErr) || errors.As(err, &typeErr) {
		return &unavailableError{outcome: "bad_answer", reason: "answer not in the contract", cause: err}
	}
	return &unavailableError{outcome: "network_error", reason: "connection error", cause: err}
}

// canceledError is a call its caller cancelled; not a Plinx failure.
type canceledError struct{ cause error }

// Error says the caller cancelled.
func (e *canceledError) Error() string { return "cancelled by the caller: " + e.cause.Error() }

// Unwrap makes the error match context.Canceled.
func (e *canceledError) Unwrap() error { return e.cause }

// answerError turns an answer other than the expected success into the package's errors.
func answerError(resp *http.Response, body []byte) error {
	status := resp.StatusCode
	switch {
	case status >= 500:
		return &unavailableError{outcome: "server_error", reason: "HTTP " + strconv.Itoa(status)}
	case status >= 400:
		var e plinxapi.Error
		_ = json.Unmarshal(body, &e) // a 4xx without the contract's body still is that 4xx
		api := &APIError{Status: status, Code: truncate(e.Code, 100), Message: truncate(e.Message, 500)}
		if status == http.StatusTooManyRequests {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				api.RetryAfter = time.Duration(s) * time.Second
			}
		}
		return api
	default:
		return &unavailableError{outcome: "bad_answer", reason: "unexpected answer HTTP " + strconv.Itoa(status) +
			" " + resp.Header.Get("Content-Type")}
	}
}

// outcomeOf is the metrics' outcome label of an attempt's result.
func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	var api *APIError
	if errors.As(err, &api) {
		switch {
		case errors.Is(api, ErrUnauthorized):
			return "unauthorized"
		case api.Status == http.StatusTooManyRequests:
			return "rate_limited"
		}
		return "client_error"
	}
	var un *unavailableError
	if errors.As(err, &un) {
		return un.outcome
	}
	return "canceled"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
