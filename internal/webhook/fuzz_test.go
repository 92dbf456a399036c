package webhook_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende/internal/webhook"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must never panic, must fail with one of the
// sentinel errors, and must accept only deliveries that carry the real signature for that id, time and body.
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, "1614265330", vectorSignature, []byte(vectorBody))
	f.Add(vectorID, "1614265330", "v1,"+strings.Repeat("A", 44)+" v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(vectorBody))
	f.Add("", "", "", []byte(nil))
	f.Add("msg_x", "99999999999999999999", "v1,", []byte("{}"))
	f.Add("msg_x", "1614265330", ",,, v1 v1,, ,v1,=", []byte("{}"))

	now := vectorTime.Add(time.Minute)
	sentinels := []error{webhook.ErrMissingHeaders, webhook.ErrBadTimestamp, webhook.ErrStale, webhook.ErrBadSignature}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		got, err := webhook.Verify(vectorSecret, h, body, now)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("Verify returned a non-sentinel error: %v", err)
		}
		if got != h.Get("webhook-id") {
			t.Fatalf("Verify returned id %q, header has %q", got, h.Get("webhook-id"))
		}
		// Accepted: the timestamp parsed, and the true signature must be among those offered.
		var unix int64
		for _, c := range h.Get("webhook-timestamp") {
			unix = unix*10 + int64(c-'0')
		}
		want, err := webhook.Sign(vectorSecret, got, time.Unix(unix, 0), body)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range strings.Split(h.Get("webhook-signature"), " ") {
			if s == want {
				return
			}
		}
		t.Fatalf("accepted a delivery without its signature: %q", h.Get("webhook-signature"))
	})
}
