package webhook_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/webhook"
)

// The Standard Webhooks test vector, as published in the reference libraries' tests
// (standard-webhooks/libraries go/webhook_test.go TestWebhookSign; the same vector is in every language).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var vectorTime = time.Unix(vectorTimestamp, 0)

func TestSignPublishedVector(t *testing.T) {
	t.Parallel()
	sig, err := webhook.Sign(vectorSecret, vectorID, vectorTime, []byte(vectorBody))
	require.NoError(t, err)
	require.Equal(t, vectorSignature, sig)

	// The bare base64 key (no prefix) is the same key.
	sig, err = webhook.Sign(strings.TrimPrefix(vectorSecret, webhook.SecretPrefix), vectorID, vectorTime, []byte(vectorBody))
	require.NoError(t, err)
	require.Equal(t, vectorSignature, sig)
}

func vectorHeaders() http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp))
	h.Set("webhook-signature", vectorSignature)
	return h
}

func TestVerify(t *testing.T) {
	t.Parallel()
	otherSecret := webhook.NewSecret()
	otherSig, err := webhook.Sign(otherSecret, vectorID, vectorTime, []byte(vectorBody))
	require.NoError(t, err)

	tests := []struct {
		name   string
		secret string
		edit   func(h http.Header)
		body   string
		now    time.Time
		err    error
	}{
		{name: "published vector", now: vectorTime},
		{name: "bare base64 secret", secret: strings.TrimPrefix(vectorSecret, "whsec_"), now: vectorTime},
		{name: "exactly 5 minutes late", now: vectorTime.Add(webhook.Tolerance)},
		{name: "exactly 5 minutes early", now: vectorTime.Add(-webhook.Tolerance)},
		{name: "one of several signatures matches", now: vectorTime, edit: func(h http.Header) {
			h.Set("webhook-signature", strings.Join([]string{otherSig, "v2,abc", vectorSignature, "v1,"}, " "))
		}},
		{name: "lowercase header map from another stack", now: vectorTime, edit: func(h http.Header) {
			for k, v := range h {
				delete(h, k)
				h.Set(strings.ToLower(k), v[0]) // Set canonicalises again: header names are case-insensitive
			}
		}},

		{name: "missing id", now: vectorTime, edit: func(h http.Header) { h.Del("webhook-id") }, err: webhook.ErrMissingHeaders},
		{name: "missing timestamp", now: vectorTime, edit: func(h http.Header) { h.Del("webhook-timestamp") }, err: webhook.ErrMissingHeaders},
		{name: "missing signature", now: vectorTime, edit: func(h http.Header) { h.Del("webhook-signature") }, err: webhook.ErrMissingHeaders},
		{name: "empty signature", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-signature", "") }, err: webhook.ErrMissingHeaders},

		{name: "timestamp not a number", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-timestamp", "yesterday") }, err: webhook.ErrBadTimestamp},
		{name: "timestamp with sign", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-timestamp", "+1614265330") }, err: webhook.ErrBadTimestamp},
		{name: "negative timestamp", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-timestamp", "-1") }, err: webhook.ErrBadTimestamp},
		{name: "fractional timestamp", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-timestamp", "1614265330.0") }, err: webhook.ErrBadTimestamp},
		{name: "timestamp in milliseconds", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-timestamp", "1614265330000000") }, err: webhook.ErrBadTimestamp},

		{name: "too old", now: vectorTime.Add(webhook.Tolerance + time.Second), err: webhook.ErrStale},
		{name: "from the future", now: vectorTime.Add(-webhook.Tolerance - time.Second), err: webhook.ErrStale},

		{name: "body changed", body: `{"test": 2432232315}`, now: vectorTime, err: webhook.ErrBadSignature},
		{name: "id changed", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-id", "msg_other") }, err: webhook.ErrBadSignature},
		{name: "timestamp changed within tolerance", now: vectorTime, edit: func(h http.Header) {
			h.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp+1))
		}, err: webhook.ErrBadSignature},
		{name: "signed with another secret", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-signature", otherSig) }, err: webhook.ErrBadSignature},
		{name: "right signature under another version", now: vectorTime, edit: func(h http.Header) {
			h.Set("webhook-signature", "v1a,"+strings.TrimPrefix(vectorSignature, "v1,"))
		}, err: webhook.ErrBadSignature},
		{name: "signature without version", now: vectorTime, edit: func(h http.Header) {
			h.Set("webhook-signature", strings.TrimPrefix(vectorSignature, "v1,"))
		}, err: webhook.ErrBadSignature},
		{name: "empty v1 signature", now: vectorTime, edit: func(h http.Header) { h.Set("webhook-signature", "v1,") }, err: webhook.ErrBadSignature},

		{name: "secret not base64", secret: "whsec_not base64!", now: vectorTime, err: webhook.ErrBadSecret},
		{name: "empty secret", secret: "whsec_", now: vectorTime, err: webhook.ErrBadSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret, body, h := vectorSecret, vectorBody, vectorHeaders()
			if tc.secret != "" {
				secret = tc.secret
			}
			if tc.body != "" {
				body = tc.body
			}
			if tc.edit != nil {
				tc.edit(h)
			}
			id, err := webhook.Verify(secret, h, []byte(body), tc.now)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Empty(t, id)
				if key := strings.TrimPrefix(secret, "whsec_"); key != "" {
					require.NotContains(t, err.Error(), key, "errors never show the secret")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, vectorID, id)
		})
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"", "whsec_", "whsec_%%%", "whsec_ZZZ"} {
		_, err := webhook.Sign(secret, vectorID, vectorTime, nil)
		require.ErrorIs(t, err, webhook.ErrBadSecret, secret)
		_, err = webhook.Headers(secret, vectorID, vectorTime, nil)
		require.ErrorIs(t, err, webhook.ErrBadSecret, secret)
	}
	_, err := webhook.Sign(vectorSecret, "", vectorTime, nil)
	require.ErrorIs(t, err, webhook.ErrMissingHeaders, "an event needs an id")
}

func TestNewSecretAndID(t *testing.T) {
	t.Parallel()
	a, b := webhook.NewSecret(), webhook.NewSecret()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"))
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 32)

	require.NotEqual(t, webhook.NewID(), webhook.NewID())
	require.Regexp(t, `^msg_[0-9a-f]{32}$`, webhook.NewID())
}

// TestHeadersOverHTTP signs a delivery, sends it over loopback HTTP and verifies what the receiver got, as a
// webhook handler would: the headers and body survive the trip, and a tampered body does not verify.
func TestHeadersOverHTTP(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSecret()
	now := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	type result struct {
		id  string
		err error
	}
	got := make(chan result, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		id, err := webhook.Verify(secret, r.Header, body, now.Add(90*time.Second))
		got <- result{id, err}
	}))
	t.Cleanup(srv.Close)

	post := func(h http.Header, body []byte) {
		req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		require.NoError(t, err)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}

	body := []byte(`{"type":"message.status","occurred_at":"2026-11-20T13:00:00Z","message":{"id":"wamid.1","status":"read"}}`)
	h, err := webhook.Headers(secret, "msg_1", now, body)
	require.NoError(t, err)
	require.Equal(t, strconv.FormatInt(now.Unix(), 10), h.Get("webhook-timestamp"))
	require.Regexp(t, `^v1,[A-Za-z0-9+/]{43}=$`, h.Get("webhook-signature"))

	post(h, body)
	r := <-got
	require.NoError(t, r.err)
	require.Equal(t, "msg_1", r.id)

	post(h, bytes.Replace(body, []byte("read"), []byte("sent"), 1))
	r = <-got
	require.ErrorIs(t, r.err, webhook.ErrBadSignature)
}
