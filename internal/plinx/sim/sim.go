// Package sim is the Plinx simulator: a real HTTP server implementing api/plinx.yaml, with switches for
// active conversations, WhatsApp numbers, templates, latency and failures, and a way to make it send the
// signed webhooks Plinx sends. `atende plinx-sim` serves it for development; tests start it in process:
//
//	s := sim.New(sim.Options{Token: "test-token"})
//	srv := httptest.NewServer(s)
//	t.Cleanup(srv.Close)
//	t.Cleanup(s.Close) // runs first: releases hung requests and stops webhook deliveries
//	s.SetActive("+5547991234567", true, sim.WithAgent("maria"))
//
// Requests to /v1 need `Authorization: Bearer <token>` and are validated against the contract (400 with
// code invalid_request). Every number in E.164 is a WhatsApp account with wa_id = its digits unless told
// otherwise; the templates abertura_chamado (pt_BR, 3 variables: name, process number, tracking link),
// encerramento_chamado (pt_BR, 2: name, survey link) and lembrete_agendamento (pt_BR, 2: name, date) exist.
//
// # Admin API
//
// JSON in and out, under /_admin/, without authentication (the simulator listens on loopback) and not part
// of api/plinx.yaml. Errors are {"code", "message"} with 400, 404 or 409; a failed webhook delivery is 502.
//
//	GET  /_admin/state                     everything below at once, and request counts per operation
//	POST /_admin/reset                     back to the state New made (the token stays)
//	GET  /_admin/config                    the webhook target: {webhook_url, webhook_secret, auto_status, auto_status_delay_ms}
//	POST /_admin/config                    set any of those fields; a webhook_url without a secret gets a new
//	                                       whsec_ secret, returned here. auto_status: statuses pushed after each
//	                                       template send, in order, e.g. ["sent","delivered","read"] ([] = off, the default)
//	GET  /_admin/conversations             the active conversations
//	POST /_admin/conversations             {phone, active, conversation_id?, agent?, started_at?}: mark a phone
//	                                       active (a new or the given conversation id) or inactive; sends no webhook
//	POST /_admin/numbers                   {phone, is_whatsapp, wa_id?}: what GET /v1/whatsapp/numbers/{phone} answers
//	POST /_admin/numbers/default           {is_whatsapp}: the answer for numbers not set one by one
//	POST /_admin/templates                 {name, language, variables}: add or replace a template (variables = count)
//	POST /_admin/faults                    {operation, mode?, times?, latency_ms?, hang_ms?}: per operation
//	                                       (getActiveConversation, getWhatsAppNumber, sendTemplate, or "*" for all);
//	                                       mode none|error500|error429|timeout; times > 0 fails only the next N
//	                                       requests; timeout hangs until the client gives up or hang_ms passes (default 30s)
//	GET  /_admin/messages                  the template messages sent, with their statuses
//	POST /_admin/messages/{id}/status      {status, error_code?, error_message?}: set a message's status and send
//	                                       its message.status webhook; answers {webhook_id, status_code}
//	POST /_admin/webhooks                  send one signed webhook to the configured target; answers {webhook_id,
//	                                       type, status_code}. The body is either a full event (a JSON object with
//	                                       "occurred_at", "conversation" or "message", sent as is) or a shortcut:
//	                                         {"type":"conversation.started","phone":"+55...","agent"?,"team"?,"conversation_id"?}
//	                                         {"type":"conversation.closed","phone":"+55..."}
//	                                         {"type":"message.created","phone":"+55...","text":"Oi","direction"?:"inbound"}
//	                                         {"type":"message.status","message_id":"wamid...","status":"read","error_code"?,"error_message"?}
//	                                       Shortcuts keep the simulator's state in step (started marks the phone
//	                                       active, closed inactive; message.created needs an active conversation).
//	GET  /_admin/webhooks                  the deliveries made: {webhook_id, type, status_code, error, at, body}
//	POST /_admin/webhooks/{id}/redeliver   send a delivery again with the same webhook-id and a fresh timestamp
//
// Webhooks are signed with Standard Webhooks (package webhook) using the configured secret and the
// simulator's clock (Options.Now), so a receiver on a fake clock can verify them.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	plinxapi "github.com/atende/atende/gen/plinx"
	"github.com/atende/atende/internal/webhook"
)

// DefaultToken is the bearer token when Options.Token is empty.
const DefaultToken = "dev-plinx-token"

// DefaultHangFor is how long the timeout failure mode hangs at most when the client does not give up.
const DefaultHangFor = 30 * time.Second

// Errors of the Go API (and, as 404/409, of the admin API).
var (
	// ErrNoWebhookTarget means no webhook URL is configured.
	ErrNoWebhookTarget = errors.New("sim: no webhook target configured")
	// ErrNoConversation means the phone has no active conversation.
	ErrNoConversation = errors.New("sim: no active conversation for that phone")
	// ErrUnknownDelivery means no delivery has that webhook id.
	ErrUnknownDelivery = errors.New("sim: no delivery with that webhook id")
	// ErrInvalid means an argument is invalid (a phone not in E.164, an unknown event type or status, ...).
	ErrInvalid = errors.New("sim: invalid argument")
)

// Operation names a Plinx API operation by its operationId.
type Operation string

// The operations of api/plinx.yaml.
const (
	// OpGetActiveConversation is GET /v1/conversations/active.
	OpGetActiveConversation Operation = "getActiveConversation"
	// OpGetWhatsAppNumber is GET /v1/whatsapp/numbers/{phone}.
	OpGetWhatsAppNumber Operation = "getWhatsAppNumber"
	// OpSendTemplate is POST /v1/messages/templates.
	OpSendTemplate Operation = "sendTemplate"
)

// Operations lists every operation.
var Operations = []Operation{OpGetActiveConversation, OpGetWhatsAppNumber, OpSendTemplate}

// FailureMode is how an operation fails on purpose.
type FailureMode string

// The failure modes.
const (
	// FailNone answers normally.
	FailNone FailureMode = "none"
	// FailError500 answers 500 internal_error.
	FailError500 FailureMode = "error500"
	// FailError429 answers 429 rate_limited with Retry-After: 1.
	FailError429 FailureMode = "error429"
	// FailTimeout does not answer until the client gives up (or the hang limit passes: then 503).
	FailTimeout FailureMode = "timeout"
)

func (m FailureMode) valid() bool {
	return m == FailNone || m == FailError500 || m == FailError429 || m == FailTimeout
}

// Fault is the latency and failure injected into one operation.
type Fault struct {
	// Mode is how the operation fails; "" or FailNone: it does not.
	Mode FailureMode `json:"mode"`
	// Times > 0 fails only that many more requests, then the mode goes back to none; 0 fails all.
	Times int `json:"times"`
	// Latency delays every answer of the operation, failed or not.
	Latency time.Duration `json:"latency"`
	// HangFor caps FailTimeout's hang; zero uses Options.HangFor.
	HangFor time.Duration `json:"hang_for"`
}

// Conversation is an active conversation in the simulator.
type Conversation struct {
	// ID is Plinx's conversation id.
	ID string `json:"conversation_id"`
	// Phone is the customer's number, E.164.
	Phone string `json:"phone"`
	// Agent is the Plinx agent handling it; may be empty.
	Agent string `json:"agent,omitempty"`
	// StartedAt is when it started.
	StartedAt time.Time `json:"started_at"`
	// LastMessageAt is its last message (StartedAt until a message.created shortcut).
	LastMessageAt time.Time `json:"last_message_at"`
}

// ConversationOption sets a detail of a conversation SetActive starts.
type ConversationOption func(*Conversation)

// WithConversationID gives the conversation this id instead of a new one.
func WithConversationID(id string) ConversationOption { return func(c *Conversation) { c.ID = id } }

// WithAgent names the Plinx agent handling the conversation.
func WithAgent(agent string) ConversationOption { return func(c *Conversation) { c.Agent = agent } }

// WithStartedAt sets when the conversation started (and its last message), instead of now.
func WithStartedAt(t time.Time) ConversationOption {
	return func(c *Conversation) { c.StartedAt, c.LastMessageAt = t.UTC(), t.UTC() }
}

// Number is what the simulator answers about a phone number.
type Number struct {
	// IsWhatsApp is whether the number is a WhatsApp account.
	IsWhatsApp bool `json:"is_whatsapp"`
	// WaID is its WhatsApp id; empty when not WhatsApp.
	WaID string `json:"wa_id,omitempty"`
}

// Template is an approved template the simulator knows.
type Template struct {
	// Name is the template's name.
	Name string `json:"name"`
	// Language is its language, e.g. pt_BR.
	Language string `json:"language"`
	// Variables is how many positional variables it takes.
	Variables int `json:"variables"`
}

// DefaultTemplates are the templates a new simulator knows.
var DefaultTemplates = []Template{
	{Name: "abertura_chamado", Language: "pt_BR", Variables: 3},
	{Name: "encerramento_chamado", Language: "pt_BR", Variables: 2},
	{Name: "lembrete_agendamento", Language: "pt_BR", Variables: 2},
}

// SentMessage is a template message the simulator accepted.
type SentMessage struct {
	// ID is the message id returned to the sender.
	ID string `json:"id"`
	// To is the number it was sent to.
	To string `json:"to"`
	// Template and Language name the template.
	Template string `json:"template"`
	// Language is the template's language.
	Language string `json:"language"`
	// Variables are the variables sent.
	Variables []string `json:"variables"`
	// Reference is the sender's reference; may be empty.
	Reference string `json:"reference,omitempty"`
	// Status is the latest status: queued, sent, delivered, read or failed.
	Status string `json:"status"`
	// SentAt is when the send was accepted.
	SentAt time.Time `json:"sent_at"`
	// Statuses are the status changes pushed since, oldest first.
	Statuses []StatusChange `json:"statuses"`
}

// StatusChange is one status a message went through.
type StatusChange struct {
	// Status is sent, delivered, read or failed.
	Status string `json:"status"`
	// At is when.
	At time.Time `json:"at"`
	// ErrorCode and ErrorMessage explain a failed status.
	ErrorCode string `json:"error_code,omitempty"`
	// ErrorMessage explains a failed status.
	ErrorMessage string `json:"error_message,omitempty"`
}

// WebhookConfig is where and how the simulator sends webhooks.
type WebhookConfig struct {
	// URL receives the webhooks; empty: none are sent.
	URL string `json:"webhook_url"`
	// Secret signs them ("whsec_..."); empty with a URL: SetWebhook makes one.
	Secret string `json:"webhook_secret"`
	// AutoStatus are the statuses pushed, in order, after every template send (e.g. sent, delivered, read);
	// empty (the default): none.
	AutoStatus []string `json:"auto_status"`
	// AutoStatusDelay waits between automatic statuses; zero: none.
	AutoStatusDelay time.Duration `json:"auto_status_delay"`
}

// Delivery is one webhook the simulator sent.
type Delivery struct {
	// WebhookID is the webhook-id header (kept by redeliveries).
	WebhookID string `json:"webhook_id"`
	// Type is the event type, when the body had one.
	Type string `json:"type"`
	// StatusCode is the target's answer; 0 when it did not answer.
	StatusCode int `json:"status_code"`
	// Error is why the target did not answer.
	Error string `json:"error,omitempty"`
	// At is the signing time (webhook-timestamp).
	At time.Time `json:"at"`
	// Body is the body sent.
	Body []byte `json:"-"`
}

// MarshalJSON shows the body as JSON when it is JSON, else as a string.
func (d Delivery) MarshalJSON() ([]byte, error) {
	type plain Delivery
	out := struct {
		plain
		Body any `json:"body"`
	}{plain: plain(d), Body: string(d.Body)}
	if json.Valid(d.Body) {
		out.Body = json.RawMessage(d.Body)
	}
	return json.Marshal(out)
}

// Options configure a simulator. The zero value works.
type Options struct {
	// Token is the bearer token /v1 requires (default DefaultToken).
	Token string
	// Now is the simulator's clock, for event times and webhook timestamps (default time.Now).
	Now func() time.Time
	// Logger logs webhook deliveries and failures; nil discards.
	Logger *slog.Logger
	// HTTPClient sends webhooks; nil uses a client of its own with a 10s timeout.
	HTTPClient *http.Client
	// Webhook is the initial webhook configuration (and the one Reset returns to).
	Webhook WebhookConfig
	// HangFor caps the timeout failure mode (default DefaultHangFor).
	HangFor time.Duration
}

// Server is the Plinx simulator, an http.Handler. It is safe for concurrent use.
type Server struct {
	opts    Options
	e       *echo.Echo
	router  routers.Router
	httpc   *http.Client
	ownHTTP bool

	baseCtx   context.Context // cancelled by Close: stops hangs and deliveries
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup // the automatic-status sender

	mu       sync.Mutex
	st       state
	queue    []queuedStatus
	draining bool
	closed   bool
}

type state struct {
	conversations   map[string]Conversation // by phone
	defaultWhatsApp bool
	numbers         map[string]Number // by phone
	templates       map[string]Template
	sent            []SentMessage
	faults          map[Operation]Fault
	requests        map[Operation]int
	webhook         WebhookConfig
	deliveries      []Delivery
}

type queuedStatus struct {
	messageID string
	status    string
	delay     time.Duration
}

// New returns a simulator in its initial state.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HangFor <= 0 {
		opts.HangFor = DefaultHangFor
	}
	s := &Server{opts: opts, httpc: opts.HTTPClient}
	if s.httpc == nil {
		s.httpc = &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
		s.ownHTTP = true
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.st = s.initialState()
	s.router = contractRouter()
	s.e = s.routes()
	return s
}

func (s *Server) initialState() state {
	st := state{
		conversations:   map[string]Conversation{},
		defaultWhatsApp: true,
		numbers:         map[string]Number{},
		templates:       map[string]Template{},
		faults:          map[Operation]Fault{},
		requests:        map[Operation]int{},
		webhook:         s.opts.Webhook,
	}
	st.webhook.AutoStatus = slices.Clone(st.webhook.AutoStatus)
	if st.webhook.URL != "" && st.webhook.Secret == "" {
		st.webhook.Secret = webhook.NewSecret()
		s.opts.Webhook.Secret = st.webhook.Secret // Reset keeps the same secret
	}
	for _, t := range DefaultTemplates {
		st.templates[templateKey(t.Name, t.Language)] = t
	}
	return st
}

func templateKey(name, language string) string { return name + "\x00" + language }

// ServeHTTP serves the Plinx API and the admin API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Close releases requests hanging in the timeout mode, stops automatic status webhooks and waits for
// them. Call it before closing the HTTP server (t.Cleanup runs cleanups last-registered first).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.queue = nil
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if s.ownHTTP {
			s.httpc.CloseIdleConnections()
		}
	})
}

// Token is the bearer token the simulator requires.
func (s *Server) Token() string { return s.opts.Token }

// Reset returns the simulator to the state New made: no conversations, every number WhatsApp, the default
// templates, no faults, no messages, no deliveries, the initial webhook configuration.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = s.initialState()
	s.queue = nil
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// validPhone reports whether phone is in E.164, as the contract's Phone schema wants.
func validPhone(phone string) bool { return e164.MatchString(phone) }

func newID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// now is the simulator's clock in UTC, to the millisecond, as Plinx's timestamps are.
func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// SetActive marks phone as in an active conversation (a new one, or its current one kept, unless an
// option says otherwise) or as not. It sends no webhook (Fire does). It returns the conversation.
func (s *Server) SetActive(phone string, active bool, opts ...ConversationOption) Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !active {
		delete(s.st.conversations, phone)
		return Conversation{}
	}
	c, ok := s.st.conversations[phone]
	if !ok || len(opts) > 0 {
		now := s.now()
		if !ok {
			c = Conversation{Phone: phone, StartedAt: now, LastMessageAt: now}
		}
		for _, o := range opts {
			o(&c)
		}
		if c.ID == "" {
			c.ID = newID("conv_", 8)
		}
		s.st.conversations[phone] = c
	}
	return c
}

// Conversation returns phone's active conversation, if it has one.
func (s *Server) Conversation(phone string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.conversations[phone]
	return c, ok
}

// Conversations returns the active conversations, ordered by phone.
func (s *Server) Conversations() []Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conversation, 0, len(s.st.conversations))
	for _, c := range s.st.conversations {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Conversation) int { return strings.Compare(a.Phone, b.Phone) })
	return out
}

// SetWhatsApp says whether phone is a WhatsApp account (with wa_id = its digits).
func (s *Server) SetWhatsApp(phone string, isWhatsApp bool) {
	n := Number{IsWhatsApp: isWhatsApp}
	if isWhatsApp {
		n.WaID = strings.TrimPrefix(phone, "+")
	}
	s.setNumber(phone, n)
}

// SetWhatsAppID makes phone a WhatsApp account with this wa_id (a Brazilian mobile's may lack the ninth digit).
func (s *Server) SetWhatsAppID(phone, waID string) {
	s.setNumber(phone, Number{IsWhatsApp: true, WaID: waID})
}

func (s *Server) setNumber(phone string, n Number) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.numbers[phone] = n
}

// SetDefaultWhatsApp says whether numbers not set one by one are WhatsApp accounts (initially true).
func (s *Server) SetDefaultWhatsApp(isWhatsApp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.defaultWhatsApp = isWhatsApp
}

// Number is what the simulator answers about phone.
func (s *Server) Number(phone string) Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.numberLocked(phone)
}

func (s *Server) numberLocked(phone string) Number {
	if n, ok := s.st.numbers[phone]; ok {
		return n
	}
	if s.st.defaultWhatsApp && validPhone(phone) {
		return Number{IsWhatsApp: true, WaID: strings.TrimPrefix(phone, "+")}
	}
	return Number{}
}

// AddTemplate adds a template, or replaces the one with its name and language.
func (s *Server) AddTemplate(t Template) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.templates[templateKey(t.Name, t.Language)] = t
}

// Templates returns the known templates, ordered by name and language.
func (s *Server) Templates() []Template {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Template, 0, len(s.st.templates))
	for _, t := range s.st.templates {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Template) int {
		return strings.Compare(templateKey(a.Name, a.Language), templateKey(b.Name, b.Language))
	})
	return out
}

// SetFault replaces the operation's fault.
func (s *Server) SetFault(op Operation, f Fault) {
	if f.Mode == "" {
		f.Mode = FailNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults[op] = f
}

// Fault returns the operation's current fault.
func (s *Server) Fault(op Operation) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.faults[op]
	if f.Mode == "" {
		f.Mode = FailNone
	}
	return f
}

// SetFailure makes every request of the operation fail with mode (FailNone: stop failing); latency stays.
func (s *Server) SetFailure(op Operation, mode FailureMode) { s.FailNext(op, mode, 0) }

// FailNext makes the next n requests of the operation fail with mode, then answer normally (n = 0: all).
func (s *Server) FailNext(op Operation, mode FailureMode, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.faults[op]
	f.Mode, f.Times = mode, n
	s.st.faults[op] = f
}

// SetLatency delays every answer of the operation by d; the failure mode stays.
func (s *Server) SetLatency(op Operation, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.faults[op]
	if f.Mode == "" {
		f.Mode = FailNone
	}
	f.Latency = d
	s.st.faults[op] = f
}

// Requests is how many requests of the operation arrived (failed ones too) since New or Reset.
func (s *Server) Requests(op Operation) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.requests[op]
}

// SentMessages returns the template messages accepted, oldest first.
func (s *Server) SentMessages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.st.sent))
	for i, m := range s.st.sent {
		m.Variables = slices.Clone(m.Variables)
		m.Statuses = slices.Clone(m.Statuses)
		out[i] = m
	}
	return out
}

// SetWebhook replaces the webhook configuration and returns it; a URL without a secret gets a new one.
// Automatic statuses must be sent, delivered, read or failed.
func (s *Server) SetWebhook(cfg WebhookConfig) (WebhookConfig, error) {
	for _, st := range cfg.AutoStatus {
		if !plinxapi.PlinxEventMessageStatus(st).Valid() {
			return WebhookConfig{}, errors.Join(ErrInvalid, errors.New("auto_status: unknown status "+st))
		}
	}
	if cfg.Secret != "" {
		if _, err := webhook.Sign(cfg.Secret, "check", time.Unix(0, 0), nil); err != nil {
			return WebhookConfig{}, errors.Join(ErrInvalid, err)
		}
	}
	if cfg.URL != "" && cfg.Secret == "" {
		cfg.Secret = webhook.NewSecret()
	}
	cfg.AutoStatus = slices.Clone(cfg.AutoStatus)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.webhook = cfg
	return cfg, nil
}

// Webhook returns the webhook configuration.
func (s *Server) Webhook() WebhookConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.webhook
	c.AutoStatus = slices.Clone(c.AutoStatus)
	return c
}

// Deliveries returns the webhooks sent, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.deliveries)
}
