package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/outbound"
)

// receiver is an outbound webhook endpoint that verifies every delivery with the Standard Webhooks reference
// library and counts them by webhook-id. While hang is set it holds requests without answering.
type receiver struct {
	t      *testing.T
	url    string
	secret string
	hang   atomic.Bool

	mu       sync.Mutex
	received map[string]int
	answered map[string]int
	inFlight atomic.Int32
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, received: map[string]int{}, answered: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hooks"
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if err == nil {
		err = wh.Verify(body, req.Header)
	}
	if err != nil {
		r.t.Errorf("a delivery failed Standard Webhooks verification: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.received[id]++
	r.mu.Unlock()
	if r.hang.Load() {
		r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		select { // the client goes away when its process is killed
		case <-req.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	}
	r.mu.Lock()
	r.answered[id]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) counts() (received, answered int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.received), len(r.answered)
}

// A worker process SIGKILLed while its deliveries are in flight loses none of them: its successor delivers
// every event after the lease, with the same webhook-id, and every delivery ends succeeded.
func TestWebhookDeliveriesSurviveAKilledWorker(t *testing.T) {
	const n = 60
	o := newOutbox(t)
	rcv := newReceiver(t)
	ctx := context.Background()
	a := o.app(ctx)
	ep, err := a.Outbound.CreateEndpoint(ctx, o.integration.TenantID, outbound.NewEndpoint{URL: rcv.url,
		Events: []string{outbound.TicketCreated}})
	require.NoError(t, err)
	require.NoError(t, a.Close())
	rcv.secret = ep.Secret
	o.open(0, n)
	require.Equal(t, n, o.count(`SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'`), "one delivery per ticket")

	env := []string{"ATENDE_WORKERS=1", "ATENDE_WORKER_LEASE=3s", "ATENDE_WEBHOOK_TIMEOUT=1s", "ATENDE_PLINX_SEND_RATE=1000"}
	rcv.hang.Store(true)
	victim := o.start("worker", env...)
	require.Eventually(t, func() bool { return rcv.inFlight.Load() >= 5 }, time.Minute, 5*time.Millisecond,
		"the worker never had deliveries in flight")
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	<-victim.done
	victim.done <- nil
	inFlight := o.count(`SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND leased_by IS NOT NULL`)
	t.Logf("killed with %d deliveries claimed", inFlight)
	require.Positive(t, inFlight, "the kill caught deliveries in flight")

	rcv.hang.Store(false)
	heir := o.start("worker", env...)
	require.Eventually(t, func() bool {
		return o.count(`SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'`) == n
	}, 2*time.Minute, 50*time.Millisecond, "deliveries still not succeeded: %d",
		o.count(`SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'`))
	heir.stop(t)

	received, answered := rcv.counts()
	require.Equal(t, n, received, "every event reached the receiver")
	require.Equal(t, n, answered, "every event was answered, after the kill")
	var distinct int
	require.NoError(t, o.db.NewRaw(`SELECT count(DISTINCT event_id) FROM webhook_deliveries`).Scan(ctx, &distinct))
	require.Equal(t, n, distinct)
	require.Equal(t, 0, o.count(`SELECT count(*) FROM webhook_deliveries d WHERE NOT EXISTS
		(SELECT 1 FROM webhook_attempts a WHERE a.tenant_id = d.tenant_id AND a.delivery_id = d.id AND a.status_code = 204)`),
		"every delivery's log holds its successful attempt")
}
