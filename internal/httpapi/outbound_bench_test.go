package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/outbound"
	"github.com/atende/atende/internal/store/storetest"
)

// BenchmarkWebhookDelivery queues ticket.created events for two subscribed endpoints on each dialect and
// times one deliverer, with its production defaults (16 POSTs in flight, 8 at most per endpoint), draining them over
// loopback HTTP to receivers that answer 204: the rate at which one worker process sends signed webhooks
// and records every attempt. ATENDE_BENCH_WEBHOOK_EVENTS sets the number of events (default 5,000; two
// deliveries each).
func BenchmarkWebhookDelivery(b *testing.B) {
	events := 5000
	if v, err := strconv.Atoi(os.Getenv("ATENDE_BENCH_WEBHOOK_EVENTS")); err == nil && v > 0 {
		events = v
	}
	for _, dialect := range storetest.Dialects(b) {
		b.Run(string(dialect), func(b *testing.B) {
			env := apitest.New(b, dialect, apitest.Options{Quiet: true})
			ctx := context.Background()
			var received atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				received.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			b.Cleanup(srv.Close)
			tenantID := mustMe(b, env.Client(env.AdminKey)).Tenant.Id
			for i := range 2 {
				_, err := env.App.Outbound.CreateEndpoint(ctx, tenantID, outbound.NewEndpoint{URL: srv.URL + "/hooks/" + strconv.Itoa(i),
					Events: []string{outbound.TicketCreated}})
				if err != nil {
					b.Fatal(err)
				}
			}
			for start := 0; start < events; start += 500 {
				var evs []outbound.Event
				for i := start; i < min(start+500, events); i++ {
					evs = append(evs, outbound.Event{TenantID: tenantID, Type: outbound.TicketCreated, At: env.Clock.Now(),
						Data: outbound.TicketData{TicketID: uuid.Must(uuid.NewV7()), IntegrationID: tenantID,
							ExternalCode: "OS-" + strconv.Itoa(i), ExternalStatus: "ABERTA", Status: "open", Version: 1}})
				}
				if err := env.App.Outbound.Publish(ctx, env.App.DB, evs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				d := env.App.Outbound.NewDeliverer(outbound.DelivererOptions{})
				begin := time.Now()
				d.Start(ctx)
				for received.Load() < int64(2*events) && time.Since(begin) < 5*time.Minute {
					time.Sleep(time.Millisecond)
				}
				d.Stop(ctx)
				elapsed := time.Since(begin)
				if got := received.Load(); got != int64(2*events) {
					b.Fatalf("received %d deliveries, want %d", got, 2*events)
				}
				b.ReportMetric(float64(2*events)/elapsed.Seconds(), "deliveries/s")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
