package telephony

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/webhook"
)

// Defaults for the zero values of WebhookOptions.
const (
	// DefaultWebhookTimeout bounds one Place, retries included.
	DefaultWebhookTimeout = 5 * time.Second
	// DefaultWebhookRetries is how many times a delivery is tried again after a connection error or a 5xx.
	DefaultWebhookRetries = 2
	// DefaultWebhookBackoff is the first wait before a retry.
	DefaultWebhookBackoff = 200 * time.Millisecond
)

// maxDrain bounds how much of an answer is read (and thrown away) so the connection can be reused.
const maxDrain = 64 << 10

// WebhookOptions configures a Webhook adapter. The zero value of each field but Target takes its default.
type WebhookOptions struct {
	// Target returns the tenant's telephony URL (absolute http or https) and Standard Webhooks signing secret
	// ("whsec_..."), looked up on every Place so a settings change applies to the next call. An empty URL or
	// secret means ErrNotConfigured. Required.
	Target func(ctx context.Context, tenantID uuid.UUID) (url, secret string, err error)
	// Clock gives the signing time (webhook-timestamp); nil is the system clock.
	Clock clock.Clock
	// Timeout bounds one Place, retries and backoff included (default DefaultWebhookTimeout), so the
	// dialer is never held longer than that by a slow far end.
	Timeout time.Duration
	// Retries is how many times a delivery is tried again after a connection error or a 5xx while Timeout
	// allows (default DefaultWebhookRetries; negative: none). A 4xx is never retried.
	Retries int
	// RetryBackoff is the first wait before a retry (default DefaultWebhookBackoff); it doubles each time and
	// is jittered down to half.
	RetryBackoff time.Duration
	// HTTPClient sends the deliveries; nil uses http.DefaultTransport. Redirects are never followed (a 3xx is
	// a rejection), whatever the client's CheckRedirect, so the signed call never goes anywhere unconfigured.
	HTTPClient *http.Client
	// Logger receives failed delivery attempts; nil discards them. Neither the secret nor the number nor
	// the URL's path and query is ever logged.
	Logger *slog.Logger
}

// Webhook places calls by a signed POST to the tenant's telephony URL; the far end reports the call's
// progress on POST /v1/calls/{call_id}/events. Every delivery of a call carries webhook-id "call_<call id>",
// retries and repeated Places included, so the far end rings the customer once. Safe for concurrent use.
type Webhook struct {
	target  func(ctx context.Context, tenantID uuid.UUID) (string, string, error)
	clk     clock.Clock
	timeout time.Duration
	retries int
	backoff time.Duration
	client  *http.Client
	logger  *slog.Logger
}

var _ Port = (*Webhook)(nil)

// PlaceRequest is the JSON body of the POST that places a call, for the far end (and simulators) to decode.
type PlaceRequest struct {
	// CallID is the call's ID; the webhook-id header is "call_" and this.
	CallID uuid.UUID `json:"call_id"`
	// TenantID is the tenant of the call.
	TenantID uuid.UUID `json:"tenant_id"`
	// EntryID is the dial entry the call is an attempt at.
	EntryID uuid.UUID `json:"entry_id"`
	// CampaignID is the entry's campaign.
	CampaignID uuid.UUID `json:"campaign_id"`
	// AgentID is the agent to connect when the customer answers; null when none.
	AgentID *uuid.UUID `json:"agent_id"`
	// Attempt is the entry's attempt number (1 for the first).
	Attempt int `json:"attempt"`
	// Number is the customer's number in E.164.
	Number string `json:"number"`
	// EventsURL is the path of atende's API where the far end reports the call's events.
	EventsURL string `json:"events_url"`
}

// DeliveryID is the webhook-id every delivery of the call carries: "call_" and the call's ID.
func DeliveryID(callID uuid.UUID) string { return "call_" + callID.String() }

// EventsPath is the path of atende's API where the call's events are reported.
func EventsPath(callID uuid.UUID) string { return "/v1/calls/" + callID.String() + "/events" }

// NewWebhook returns a webhook adapter. It panics without opts.Target, a programming error.
func NewWebhook(opts WebhookOptions) *Webhook {
	if opts.Target == nil {
		panic("telephony: NewWebhook needs WebhookOptions.Target")
	}
	w := &Webhook{
		target:  opts.Target,
		clk:     opts.Clock,
		timeout: opts.Timeout,
		retries: opts.Retries,
		backoff: opts.RetryBackoff,
		logger:  opts.Logger,
	}
	if w.clk == nil {
		w.clk = clock.System{}
	}
	if w.timeout <= 0 {
		w.timeout = DefaultWebhookTimeout
	}
	switch {
	case w.retries == 0:
		w.retries = DefaultWebhookRetries
	case w.retries < 0:
		w.retries = 0
	}
	if w.backoff <= 0 {
		w.backoff = DefaultWebhookBackoff
	}
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	// A copy, so the caller's client keeps its own redirect policy.
	client := http.Client{}
	if opts.HTTPClient != nil {
		client = *opts.HTTPClient
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	w.client = &client
	return w
}

// Place looks up the tenant's telephony URL and secret and POSTs the signed call there, within the timeout.
// Connection errors and 5xx answers are retried with jittered backoff under the same webhook-id. It fails
// with ErrInvalidCall, the Target's error, ErrNotConfigured, ErrRejected (with a *StatusError; not retried),
// ErrUnavailable (the far end may have taken the call: placing it again is safe), or the context's error
// when the caller gave up.
func (w *Webhook) Place(ctx context.Context, c Call) error {
	if err := c.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("place call %s: %w", c.ID, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()

	rawURL, secret, err := w.target(callCtx, c.TenantID)
	if err != nil {
		return fmt.Errorf("place call %s: telephony target of tenant %s: %w", c.ID, c.TenantID, err)
	}
	endpoint, err := checkURL(rawURL)
	if err != nil {
		return fmt.Errorf("place call %s: tenant %s: %w", c.ID, c.TenantID, err)
	}
	if secret == "" {
		return fmt.Errorf("place call %s: tenant %s: %w: no telephony secret", c.ID, c.TenantID, ErrNotConfigured)
	}
	body, err := json.Marshal(placeRequest(c))
	if err != nil {
		return fmt.Errorf("place call %s: encode: %w", c.ID, err)
	}

	id := DeliveryID(c.ID)
	for i := 0; ; i++ {
		err := w.deliver(ctx, callCtx, endpoint, secret, id, body)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrNotConfigured) {
			return fmt.Errorf("place call %s: tenant %s: %w", c.ID, c.TenantID, err)
		}
		if ctx.Err() != nil { // the caller gave up: not the far end's failure
			return fmt.Errorf("place call %s: %w", c.ID, ctx.Err())
		}
		retry := i < w.retries && retryable(err)
		w.logger.Warn("telephony webhook delivery failed",
			"tenant_id", c.TenantID, "call_id", c.ID, "entry_id", c.EntryID, "host", endpoint.Host,
			"try", i+1, "retrying", retry, "error", err)
		if !retry {
			return fmt.Errorf("place call %s: %w", c.ID, err)
		}
		wait := w.wait(i)
		if deadline, ok := callCtx.Deadline(); ok && time.Until(deadline) <= wait {
			return fmt.Errorf("place call %s: no time left to retry: %w", c.ID, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-callCtx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return fmt.Errorf("place call %s: %w", c.ID, ctx.Err())
			}
			return fmt.Errorf("place call %s: no time left to retry: %w", c.ID, err)
		}
	}
}

func placeRequest(c Call) PlaceRequest {
	r := PlaceRequest{
		CallID:     c.ID,
		TenantID:   c.TenantID,
		EntryID:    c.EntryID,
		CampaignID: c.CampaignID,
		Attempt:    c.Attempt,
		Number:     c.Number,
		EventsURL:  EventsPath(c.ID),
	}
	if c.AgentID != uuid.Nil {
		agent := c.AgentID
		r.AgentID = &agent
	}
	return r
}

// checkURL accepts only an absolute http or https URL.
func checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: no telephony URL", ErrNotConfigured)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Neither the URL nor the parser's error (which quotes it) is shown: it may hold a token.
		return nil, fmt.Errorf("%w: the telephony URL is not an absolute http or https URL", ErrNotConfigured)
	}
	return u, nil
}

// deliver makes one signed POST. Its errors are a *StatusError, ErrUnavailable with the cause, the caller's
// context error, or ErrNotConfigured for a secret that is not one.
func (w *Webhook) deliver(parent, callCtx context.Context, endpoint *url.URL, secret, id string, body []byte) error {
	h, err := webhook.Headers(secret, id, w.clk.Now(), body)
	if err != nil {
		return fmt.Errorf("%w: sign: %w", ErrNotConfigured, err) // webhook's errors never show the secret
	}
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: build request", ErrNotConfigured)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "atende-telephony")
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which may hold a token: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		switch {
		case parent.Err() != nil:
			return parent.Err()
		case callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("%w: timeout: %w", ErrUnavailable, context.DeadlineExceeded)
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &StatusError{Status: resp.StatusCode}
}

// retryable: a connection error or a 5xx, and the caller still waiting. A timeout is not retried: it used up
// the time.
func retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded)
}

// wait is the backoff before retry i+1: RetryBackoff doubled i times, jittered down to half of that.
func (w *Webhook) wait(i int) time.Duration {
	d := w.backoff << i
	return d/2 + rand.N(d/2+1)
}

// StatusError is an answer of the far end that is not a success: a 5xx matches ErrUnavailable, any other
// (4xx, 3xx) matches ErrRejected.
type StatusError struct {
	// Status is the HTTP status the far end answered.
	Status int
}

// Error describes the answer.
func (e *StatusError) Error() string {
	return fmt.Sprintf("telephony endpoint answered %d %s", e.Status, http.StatusText(e.Status))
}

// Is makes a 5xx match ErrUnavailable and any other status ErrRejected.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrUnavailable:
		return e.Status >= 500
	case ErrRejected:
		return e.Status < 500
	}
	return false
}
