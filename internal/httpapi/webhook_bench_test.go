package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

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
			b.ResetTimer()
			latencies, elapsed := sendSigned(b, url, secret, b.N, 8, func(n int64) []byte {
				return fmt.Appendf(nil, `{"type":"message.created","occurred_at":"2026-01-05T11:00:00Z",`+
					`"conversation":{"id":"bench-%d","phone":"+55479%08d"},`+
					`"message":{"id":"bench-msg-%d","direction":"inbound","text":"Olá, preciso de ajuda com o pedido %d"}}`,
					n%200, 91000000+n%200, n, n)
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(percentile(latencies, 0.50), "p50-ms")
			b.ReportMetric(percentile(latencies, 0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
