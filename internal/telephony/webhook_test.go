package telephony_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/telephony"
	"github.com/atende/atende/internal/webhook"
)

// delivery is one POST the telephony receiver got, with the outcome of verifying its signature.
type delivery struct {
	header    http.Header
	body      []byte
	verifyErr error
}

// receiver is a tenant's telephony system on loopback: it verifies every delivery with webhook.Verify against
// the tenant's secret and the shared fake clock, records it, and answers as the test says.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	clk    *clock.Fake
	secret string
	// answer writes the answer to the n-th delivery (1-based); nil answers 202.
	answer func(n int, w http.ResponseWriter, r *http.Request)

	mu  sync.Mutex
	got []delivery
}

// token stands for a credential some telephony systems put in the URL; it must never be shown.
const token = "tok-9f8e7d6c5b4a"

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	r := &receiver{t: t, clk: clock.NewFake(simNow), secret: webhook.NewSecret(), answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the client went away mid-body
	}
	_, verr := webhook.Verify(r.secret, req.Header, body, r.clk.Now())
	r.mu.Lock()
	r.got = append(r.got, delivery{header: req.Header.Clone(), body: body, verifyErr: verr})
	n := len(r.got)
	r.mu.Unlock()
	if req.Method != http.MethodPost || req.URL.Path != "/calls" || req.URL.Query().Get("token") != token {
		http.Error(w, "wrong request", http.StatusTeapot)
		return
	}
	if r.answer == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	r.answer(n, w, req)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// url is the tenant's telephony URL, token included.
func (r *receiver) url() string { return r.srv.URL + "/calls?token=" + token }

// adapter returns a Webhook adapter sending to this receiver, with test-sized backoff.
func (r *receiver) adapter(opts telephony.WebhookOptions) *telephony.Webhook {
	if opts.Target == nil {
		opts.Target = func(context.Context, uuid.UUID) (string, string, error) { return r.url(), r.secret, nil }
	}
	opts.Clock = r.clk
	opts.HTTPClient = r.srv.Client() // its connections close with the server
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	return telephony.NewWebhook(opts)
}

func TestWebhookPlacesSignedCall(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	w := rcv.adapter(telephony.WebhookOptions{})
	c := newCall(uuid.New(), "+5511987654321")
	c.Attempt = 2
	require.NoError(t, w.Place(bounded(t), c))

	got := rcv.deliveries()
	require.Len(t, got, 1)
	require.NoError(t, got[0].verifyErr, "the signature verifies with the tenant's secret")
	require.Equal(t, "call_"+c.ID.String(), got[0].header.Get(webhook.HeaderID))
	require.Equal(t, telephony.DeliveryID(c.ID), got[0].header.Get(webhook.HeaderID))
	require.Equal(t, "application/json", got[0].header.Get("Content-Type"))
	require.JSONEq(t, `{
		"call_id": "`+c.ID.String()+`",
		"tenant_id": "`+c.TenantID.String()+`",
		"entry_id": "`+c.EntryID.String()+`",
		"campaign_id": "`+c.CampaignID.String()+`",
		"agent_id": "`+c.AgentID.String()+`",
		"attempt": 2,
		"number": "+5511987654321",
		"events_url": "/v1/calls/`+c.ID.String()+`/events"
	}`, string(got[0].body))

	// A call with no agent sends agent_id null.
	c = newCall(c.TenantID, "+5511987654321")
	c.AgentID = uuid.Nil
	require.NoError(t, w.Place(bounded(t), c))
	var req telephony.PlaceRequest
	require.NoError(t, json.Unmarshal(rcv.deliveries()[1].body, &req))
	require.Nil(t, req.AgentID)
	require.Equal(t, c.ID, req.CallID)
	require.Equal(t, telephony.EventsPath(c.ID), req.EventsURL)
}

func TestWebhookSignatureFailsWithAnotherSecret(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	w := rcv.adapter(telephony.WebhookOptions{Target: func(context.Context, uuid.UUID) (string, string, error) {
		return rcv.url(), webhook.NewSecret(), nil // the tenant's secret changed on one side only
	}})
	require.NoError(t, w.Place(bounded(t), newCall(uuid.New(), "+5511987654321")))
	require.ErrorIs(t, rcv.deliveries()[0].verifyErr, webhook.ErrBadSignature)
}

func TestWebhookRetriesServerErrorsUnderTheSameID(t *testing.T) {
	t.Parallel()
	var rcv *receiver
	rcv = newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			rcv.clk.Advance(4 * time.Minute) // a retry signed with the first timestamp would now be stale
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	w := rcv.adapter(telephony.WebhookOptions{})
	c := newCall(uuid.New(), "+5511987654321")
	require.NoError(t, w.Place(bounded(t), c))

	got := rcv.deliveries()
	require.Len(t, got, 3)
	for i, d := range got {
		require.NoError(t, d.verifyErr, "delivery %d", i+1)
		require.Equal(t, "call_"+c.ID.String(), d.header.Get(webhook.HeaderID), "delivery %d", i+1)
		require.Equal(t, got[0].body, d.body, "delivery %d", i+1)
	}
	require.NotEqual(t, got[0].header.Get(webhook.HeaderTimestamp), got[2].header.Get(webhook.HeaderTimestamp),
		"each try is signed when it is sent")

	// Placing the same call again sends the same id, so the far end can drop it.
	require.NoError(t, w.Place(bounded(t), c))
	require.Equal(t, "call_"+c.ID.String(), rcv.deliveries()[3].header.Get(webhook.HeaderID))
}

func TestWebhookRetriesAreBounded(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	err := rcv.adapter(telephony.WebhookOptions{}).Place(bounded(t), newCall(uuid.New(), "+5511987654321"))
	require.ErrorIs(t, err, telephony.ErrUnavailable)
	require.NotErrorIs(t, err, telephony.ErrRejected)
	var se *telephony.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusServiceUnavailable, se.Status)
	require.Len(t, rcv.deliveries(), 1+telephony.DefaultWebhookRetries)

	err = rcv.adapter(telephony.WebhookOptions{Retries: -1}).Place(bounded(t), newCall(uuid.New(), "+5511987654321"))
	require.ErrorIs(t, err, telephony.ErrUnavailable)
	require.Len(t, rcv.deliveries(), 1+telephony.DefaultWebhookRetries+1, "Retries < 0: one try only")
}

func TestWebhookRetriesConnectionErrors(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close() // the connection drops without an answer
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := newCall(uuid.New(), "+5511987654321")
	require.NoError(t, rcv.adapter(telephony.WebhookOptions{}).Place(bounded(t), c))
	got := rcv.deliveries()
	require.Len(t, got, 3)
	for _, d := range got {
		require.Equal(t, "call_"+c.ID.String(), d.header.Get(webhook.HeaderID))
	}
}

func TestWebhookDoesNotRetryRejections(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict,
		http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusTemporaryRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if status == http.StatusTemporaryRedirect {
					http.Redirect(w, r, "/calls?token="+token, status) // followed, it would be a second delivery
					return
				}
				w.WriteHeader(status)
			})
			err := rcv.adapter(telephony.WebhookOptions{}).Place(bounded(t), newCall(uuid.New(), "+5511987654321"))
			require.ErrorIs(t, err, telephony.ErrRejected)
			require.NotErrorIs(t, err, telephony.ErrUnavailable)
			var se *telephony.StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, status, se.Status)
			require.Len(t, rcv.deliveries(), 1, "not retried, not redirected")
		})
	}
}

// hang answers no delivery until the client goes away or the test ends.
func hang(release <-chan struct{}, started chan<- struct{}) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, _ http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

func TestWebhookTimeoutIsBounded(t *testing.T) {
	t.Parallel()
	release, started := make(chan struct{}), make(chan struct{}, 10)
	rcv := newReceiver(t, hang(release, started))
	t.Cleanup(func() { close(release) }) // runs before the server closes

	const timeout = 200 * time.Millisecond
	w := rcv.adapter(telephony.WebhookOptions{Timeout: timeout})
	start := time.Now()
	err := w.Place(bounded(t), newCall(uuid.New(), "+5511987654321"))
	elapsed := time.Since(start)
	require.ErrorIs(t, err, telephony.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, 5*time.Second, "Place is bounded by its timeout")
	require.Len(t, rcv.deliveries(), 1, "the timeout covers the retries: none is left")
}

func TestWebhookCallerCancellation(t *testing.T) {
	t.Parallel()
	release, started := make(chan struct{}), make(chan struct{}, 10)
	rcv := newReceiver(t, hang(release, started))
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithCancel(bounded(t))
	done := make(chan error, 1)
	go func() {
		done <- rcv.adapter(telephony.WebhookOptions{}).Place(ctx, newCall(uuid.New(), "+5511987654321"))
	}()
	select {
	case <-started:
	case <-bounded(t).Done():
		t.Fatal("no delivery")
	}
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, telephony.ErrUnavailable, "the caller gave up; the far end did not fail")
	require.Len(t, rcv.deliveries(), 1)
}

func TestWebhookNotConfigured(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	lookupFailed := errors.New("settings unavailable")
	tests := []struct {
		name        string
		url, secret string
		lookupErr   error
		want        error
	}{
		{name: "no url", secret: rcv.secret, want: telephony.ErrNotConfigured},
		{name: "relative url", url: "/calls", secret: rcv.secret, want: telephony.ErrNotConfigured},
		{name: "not http", url: "ftp://" + rcv.srv.Listener.Addr().String() + "/calls", secret: rcv.secret, want: telephony.ErrNotConfigured},
		{name: "no secret", url: rcv.url(), want: telephony.ErrNotConfigured},
		{name: "not a secret", url: rcv.url(), secret: "whsec_not base64!", want: telephony.ErrNotConfigured},
		{name: "lookup fails", lookupErr: lookupFailed, want: lookupFailed},
	}
	for _, tt := range tests {
		w := rcv.adapter(telephony.WebhookOptions{Target: func(context.Context, uuid.UUID) (string, string, error) {
			return tt.url, tt.secret, tt.lookupErr
		}})
		err := w.Place(bounded(t), newCall(uuid.New(), "+5511987654321"))
		require.ErrorIs(t, err, tt.want, tt.name)
		require.NotContains(t, err.Error(), "not base64!", tt.name)
	}
	require.Empty(t, rcv.deliveries())

	// An invalid call never reaches the lookup.
	w := rcv.adapter(telephony.WebhookOptions{Target: func(context.Context, uuid.UUID) (string, string, error) {
		t.Error("Target called for an invalid call")
		return "", "", nil
	}})
	require.ErrorIs(t, w.Place(bounded(t), telephony.Call{TenantID: uuid.New(), Number: "+5511987654321"}), telephony.ErrInvalidCall)
}

func TestWebhookNeverShowsTheSecret(t *testing.T) {
	t.Parallel()
	failing := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL + "/calls?token=" + token
	gone.Close() // nothing listens there any more: connection refused

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newCall(uuid.New(), "+5511987654321")
	var errs []string
	for _, url := range []string{failing.url(), goneURL} {
		w := failing.adapter(telephony.WebhookOptions{Logger: logger, Target: func(context.Context, uuid.UUID) (string, string, error) {
			return url, failing.secret, nil
		}})
		err := w.Place(bounded(t), c)
		require.ErrorIs(t, err, telephony.ErrUnavailable, url)
		errs = append(errs, err.Error())
	}
	// A secret that fails to decode must not be echoed either.
	badSecret := "whsec_" + token + "!!"
	w := failing.adapter(telephony.WebhookOptions{Logger: logger, Target: func(context.Context, uuid.UUID) (string, string, error) {
		return failing.url(), badSecret, nil
	}})
	err := w.Place(bounded(t), c)
	require.ErrorIs(t, err, telephony.ErrNotConfigured)
	errs = append(errs, err.Error())

	shown := logs.String() + strings.Join(errs, "\n")
	require.Contains(t, logs.String(), c.ID.String(), "failed tries are logged")
	for _, hidden := range []string{failing.secret, strings.TrimPrefix(failing.secret, "whsec_"), token, c.Number} {
		require.NotContains(t, shown, hidden)
	}
}
