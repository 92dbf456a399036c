package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/webhook"
)

// BenchmarkPlinxWebhookIntake delivers signed message.created webhooks from 8 concurrent senders, over
// loopback HTTP, to a server on each dialect, across 200 conversations: every delivery is verified, deduplicated
// and applied as in production. It reports deliveries per second and latency percentiles.
func BenchmarkPlinxWebhookIntake(b *testing.B) {
	for _, dialect := range storetest.Dialects(b) {
		b.Run(string(dialect), func(b *testing.B) {
			env := apitest.New(b, dialect)
			secret := webhook.NewSecret()
			resp, body := env.Do(http.MethodPut, "/v1/settings/plinx", env.AdminKey, []byte(`{"webhook_secret": "`+secret+`"}`), nil)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("configure: %s", body)
			}
			tenantID := mustMe(b, env.Client(env.AdminKey)).Tenant.Id
			url := env.URL + "/v1/webhooks/plinx/" + tenantID.String()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

			var (
				seq       atomic.Int64
				mu        sync.Mutex
				latencies []time.Duration
				failures  atomic.Int64
			)
			const senders = 8
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			work := make(chan struct{}, b.N)
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			for range senders {
				wg.Go(func() {
					local := make([]time.Duration, 0, b.N/senders+1)
					for range work {
						n := seq.Add(1)
						payload := fmt.Appendf(nil, `{"type":"message.created","occurred_at":"2026-01-05T11:00:00Z",`+
							`"conversation":{"id":"bench-%d","phone":"+55479%08d"},`+
							`"message":{"id":"bench-msg-%d","direction":"inbound","text":"Olá, preciso de ajuda com o pedido %d"}}`,
							n%200, 91000000+n%200, n, n)
						h, err := webhook.Headers(secret, webhook.NewID(), apitest.Epoch, payload)
						if err != nil {
							b.Error(err)
							return
						}
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
						req.Header = h
						req.Header.Set("Content-Type", "application/json")
						t0 := time.Now()
						resp, err := client.Do(req)
						elapsed := time.Since(t0)
						if err != nil || resp.StatusCode != http.StatusOK {
							failures.Add(1)
						}
						if err == nil {
							resp.Body.Close()
						}
						local = append(local, elapsed)
					}
					mu.Lock()
					latencies = append(latencies, local...)
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failures.Load(); f > 0 {
				b.Fatalf("%d of %d deliveries failed", f, b.N)
			}
			slices.Sort(latencies)
			pct := func(p float64) float64 {
				return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
