// Package webhook signs and verifies webhooks with Standard Webhooks (https://www.standardwebhooks.com): the
// headers webhook-id, webhook-timestamp (unix seconds) and webhook-signature ("v1,<base64 HMAC-SHA256 of
// "{id}.{timestamp}.{body}">", several space-separated during a secret rotation), keyed by a secret
// "whsec_<base64>".
//
// atende uses it for the webhooks Plinx and ERPs send in and for the webhooks it sends out. The HMAC and the
// constant-time comparison come from the Standard Webhooks reference library; this package adds an injected
// clock, sentinel errors a handler can map to responses, and stricter secret checks.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks headers.
const (
	// HeaderID is the header carrying the event's unique id; a redelivery keeps it, so receivers dedupe by it.
	HeaderID = "webhook-id"
	// HeaderTimestamp is the header carrying the signing time in unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature is the header carrying one or more space-separated "v1,<base64>" signatures.
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret NewSecret makes.
const SecretPrefix = "whsec_"

// Tolerance is how far a webhook's timestamp may be from the receiver's clock, either way.
const Tolerance = 5 * time.Minute

// maxTimestampDigits bounds the timestamp header: unix seconds fit in 12 digits for the next 30,000 years.
const maxTimestampDigits = 12

// Errors Verify and Sign return; compare with errors.Is. None of their messages contains the secret.
var (
	// ErrMissingHeaders means a webhook-id, webhook-timestamp or webhook-signature header is absent or empty.
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	// ErrBadTimestamp means webhook-timestamp is not a number of unix seconds.
	ErrBadTimestamp = errors.New("webhook: webhook-timestamp is not unix seconds")
	// ErrStale means the timestamp is more than Tolerance away from now (too old, or in the future).
	ErrStale = errors.New("webhook: timestamp outside the 5-minute tolerance")
	// ErrBadSignature means no v1 signature in webhook-signature matches the body.
	ErrBadSignature = errors.New("webhook: no matching signature")
	// ErrBadSecret means the signing secret is not "whsec_" (optional) followed by non-empty standard base64.
	ErrBadSecret = errors.New("webhook: the secret is not whsec_ followed by base64")
)

// NewSecret returns a new random signing secret: "whsec_" and the base64 of 32 random bytes.
func NewSecret() string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(randomBytes(32))
}

// NewID returns a new random webhook id ("msg_" and 32 hex digits) for a sender to put in webhook-id.
func NewID() string {
	return "msg_" + hex.EncodeToString(randomBytes(16))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return b
}

// signer decodes a secret into the reference library's signer. Without the "whsec_" prefix the whole string
// is taken as base64, as the Standard Webhooks libraries do, for senders that hand out bare keys.
func signer(secret string) (*standardwebhooks.Webhook, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return nil, ErrBadSecret
	}
	return wh, nil
}

// Sign returns the webhook-signature value ("v1,<base64>") for the event id, signing time and raw body.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	wh, err := signer(secret)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fmt.Errorf("sign: %w", ErrMissingHeaders)
	}
	sig, err := wh.Sign(id, ts, body)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}

// Headers returns the three Standard Webhooks headers for a delivery of body with this id and signing time.
func Headers(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return h, nil
}

// Verify checks a delivery's headers and raw body against the secret, with timestamps accepted up to
// Tolerance before or after now, and returns its webhook-id for deduplication. Errors wrap ErrBadSecret,
// ErrMissingHeaders, ErrBadTimestamp, ErrStale or ErrBadSignature, checked in that order.
func Verify(secret string, h http.Header, body []byte, now time.Time) (id string, err error) {
	wh, err := signer(secret)
	if err != nil {
		return "", err
	}
	id, tsText, sig := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sig == "" {
		return "", ErrMissingHeaders
	}
	ts, err := parseTimestamp(tsText)
	if err != nil {
		return "", err
	}
	if d := now.Sub(ts); d > Tolerance || d < -Tolerance {
		return "", ErrStale
	}
	// The tolerance is checked above against the injected clock; the library checks the rest.
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		switch {
		case errors.Is(err, standardwebhooks.ErrRequiredHeaders):
			return "", ErrMissingHeaders
		case errors.Is(err, standardwebhooks.ErrInvalidHeaders):
			return "", ErrBadTimestamp
		default:
			return "", ErrBadSignature
		}
	}
	return id, nil
}

// parseTimestamp accepts only decimal digits: no sign, no spaces, no fractions.
func parseTimestamp(s string) (time.Time, error) {
	if len(s) > maxTimestampDigits {
		return time.Time{}, ErrBadTimestamp
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, ErrBadTimestamp
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, ErrBadTimestamp
	}
	return time.Unix(n, 0), nil
}
