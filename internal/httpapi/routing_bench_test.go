package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/webhook"
)

// Scale of the routing benchmark: agents, each owning one portfolio, and the contacts spread over them.
const (
	routingAgents   = 200
	routingContacts = 100_000
)

// BenchmarkRouting measures portfolio routing on a tenant with 200 agents in one team that distributes by
// portfolio, each owning a portfolio, and 100,000 contacts imported into them. Eight concurrent senders
// deliver signed conversation.started webhooks for b.N new conversations — four in five of a known contact,
// offered to its owner, one in five of a new number, assigned by the team's round robin. It reports
// conversations routed per second with latency percentiles, the latency of reading every agent's waiting
// list, and how fast the sweep moves the offered conversations to the team once their overflow time passed.
func BenchmarkRouting(b *testing.B) {
	for _, dialect := range storetest.Dialects(b) {
		b.Run(string(dialect), func(b *testing.B) {
			env := apitest.New(b, dialect, apitest.Options{})
			ctx := context.Background()
			admin := env.Client(env.AdminKey)
			secret := webhook.NewSecret()
			resp, body := env.Do(http.MethodPut, "/v1/settings/plinx", env.AdminKey, []byte(`{"webhook_secret": "`+secret+`"}`), nil)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("configure: %s", body)
			}
			on, yes, byPortfolio := true, true, client.TeamDistributionPortfolio
			if st, err := admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{Features: &client.FeaturesUpdate{PortfolioRouting: &on}}); err != nil || st.JSON200 == nil {
				b.Fatalf("turn routing on: %v", err)
			}
			agents := make([]uuid.UUID, routingAgents)
			single := client.PortfolioTypeSingle
			for i := range agents {
				u, err := admin.CreateUserWithResponse(ctx, nil, client.UserCreate{Name: fmt.Sprintf("Agente %03d", i),
					Email: client.Email(fmt.Sprintf("agente%03d@atende.example", i)), Role: client.RoleAgent})
				if err != nil || u.JSON201 == nil {
					b.Fatalf("create agent: %v", err)
				}
				agents[i] = u.JSON201.Id
				pf, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: fmt.Sprintf("Carteira %03d", i),
					Type: &single, OwnerIds: &[]uuid.UUID{agents[i]}})
				if err != nil || pf.JSON201 == nil {
					b.Fatalf("create portfolio: %v", err)
				}
			}
			team, err := admin.CreateTeamWithResponse(ctx, nil, client.TeamCreate{Name: "Comercial", Distribution: &byPortfolio,
				Default: &yes, MemberIds: &agents})
			if err != nil || team.JSON201 == nil {
				b.Fatalf("create team: %v", err)
			}
			var csv strings.Builder
			csv.WriteString("nome;telefone;carteira\n")
			for i := range routingContacts {
				fmt.Fprintf(&csv, "Cliente %d;+55479%08d;Carteira %03d\n", i, 80000000+i, i%routingAgents)
			}
			imp, err := admin.ImportContactsWithBodyWithResponse(ctx, nil, "text/csv", strings.NewReader(csv.String()))
			if err != nil || imp.JSON201 == nil || imp.JSON201.Created != routingContacts {
				b.Fatalf("import contacts: %v %s", err, imp.Body)
			}

			tenantID := mustMe(b, admin).Tenant.Id
			url := env.URL + "/v1/webhooks/plinx/" + tenantID.String()
			var known atomic.Int64
			b.ResetTimer()
			latencies, elapsed := sendSigned(b, url, secret, b.N, 8, func(n int64) []byte {
				number := 80000000 + (n*7919)%routingContacts // a known contact, spread over the portfolios
				if n%5 == 0 {
					number = 90000000 + n // a new number
				} else {
					known.Add(1)
				}
				return fmt.Appendf(nil, `{"type":"conversation.started","occurred_at":"2026-01-05T11:00:00Z",`+
					`"conversation":{"id":"route-%d","phone":"+55479%08d"}}`, n, number)
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "routed/s")
			b.ReportMetric(percentile(latencies, 0.50), "p50-ms")
			b.ReportMetric(percentile(latencies, 0.99), "p99-ms")

			// Every agent's waiting list, first page, as a supervisor's screen reads them.
			offered, limit := 0, 100
			reads := make([]time.Duration, 0, len(agents))
			for _, id := range agents {
				t0 := time.Now()
				res, err := admin.ListAgentWaitingWithResponse(ctx, id, &client.ListAgentWaitingParams{Limit: &limit})
				reads = append(reads, time.Since(t0))
				if err != nil || res.JSON200 == nil {
					b.Fatalf("waiting list: %v", err)
				}
				offered += len(res.JSON200.Data)
			}
			if int64(offered) != known.Load() {
				b.Fatalf("the waiting lists hold %d conversations, want %d", offered, known.Load())
			}
			b.ReportMetric(percentile(reads, 0.50), "waiting-p50-ms")
			b.ReportMetric(percentile(reads, 0.99), "waiting-p99-ms")

			// The overflow time passes: the sweep gives every offered conversation to the team.
			env.Clock.Advance(time.Duration(team.JSON201.OverflowSeconds+1) * time.Second)
			t0 := time.Now()
			moved := 0
			for {
				n, err := env.App.Router.RunOnce(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
				moved += n
			}
			sweep := time.Since(t0)
			if int64(moved) != known.Load() {
				b.Fatalf("the sweep moved %d conversations, want %d", moved, known.Load())
			}
			b.ReportMetric(float64(moved)/sweep.Seconds(), "overflowed/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
