package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// BenchmarkPortfolios times, on PostgreSQL through the API over loopback HTTP, adding 100,000 contacts to
// one portfolio (100 requests of 1,000 contact ids, the most one request takes) and deleting 1,000
// portfolios with one bulk delete. The contacts and the portfolios to delete are seeded in SQL first.
func BenchmarkPortfolios(b *testing.B) {
	if !hasPostgres(b) {
		b.Skip("set ATENDE_TEST_POSTGRES_URL")
	}
	b.Run("add_100k_contacts", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			env, admin, tenantID := portfolioBenchEnv(b)
			ctx := context.Background()
			const n = 100_000
			var ids []uuid.UUID
			err := env.App.DB.NewRaw(`INSERT INTO contacts (tenant_id, id, name, search_text, created_at, updated_at)
				SELECT ?, gen_random_uuid(), 'Contato ' || i, 'contato ' || i, now(), now() FROM generate_series(1, ?) AS i
				RETURNING id`, tenantID, n).Scan(ctx, &ids)
			if err != nil {
				b.Fatal(err)
			}
			pf, err := admin.CreatePortfolioWithResponse(ctx, nil, client.PortfolioCreate{Name: "Carteira grande"})
			if err != nil || pf.JSON201 == nil {
				b.Fatalf("portfolio: %v", err)
			}
			b.StartTimer()
			start := time.Now()
			for i := 0; i < n; i += 1000 {
				res, err := admin.AddPortfolioContactsWithResponse(ctx, pf.JSON201.Id, client.PortfolioContactsAdd{ContactIds: ids[i:min(i+1000, n)]})
				if err != nil || res.StatusCode() != http.StatusOK {
					b.Fatalf("add: %v %s", err, res.Body)
				}
			}
			took := time.Since(start)
			b.StopTimer()
			got, err := admin.GetPortfolioWithResponse(ctx, pf.JSON201.Id)
			if err != nil || got.JSON200.MemberCount != n {
				b.Fatalf("member count: %v %v", err, got.JSON200)
			}
			b.ReportMetric(took.Seconds(), "s")
			b.ReportMetric(float64(n)/took.Seconds(), "contacts/s")
			b.ReportMetric(0, "ns/op")
		}
	})
	b.Run("bulk_delete_1000", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			env, admin, tenantID := portfolioBenchEnv(b)
			ctx := context.Background()
			var ids []uuid.UUID
			err := env.App.DB.NewRaw(`INSERT INTO portfolios (tenant_id, id, name, type, created_at, updated_at)
				SELECT ?, gen_random_uuid(), 'Carteira ' || i, 'shared', now(), now() FROM generate_series(1, 1000) AS i
				RETURNING id`, tenantID).Scan(ctx, &ids)
			if err != nil {
				b.Fatal(err)
			}
			// Each with ten members, as carteiras have.
			if _, err := env.App.DB.ExecContext(ctx, fmt.Sprintf(`INSERT INTO contacts (tenant_id, id, name, search_text, created_at, updated_at)
				SELECT '%s', gen_random_uuid(), 'Contato ' || i, 'contato ' || i, now(), now() FROM generate_series(1, 10) AS i`, tenantID)); err != nil {
				b.Fatal(err)
			}
			if _, err := env.App.DB.ExecContext(ctx, fmt.Sprintf(`INSERT INTO portfolio_contacts (tenant_id, portfolio_id, contact_id, added_at)
				SELECT p.tenant_id, p.id, c.id, now() FROM portfolios p JOIN contacts c ON c.tenant_id = p.tenant_id
				WHERE p.tenant_id = '%s'`, tenantID)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			res, err := admin.BulkDeletePortfoliosWithResponse(ctx, client.PortfolioBulkDelete{Ids: ids})
			took := time.Since(start)
			b.StopTimer()
			if err != nil || res.JSON200 == nil || res.JSON200.Deleted != 1000 {
				b.Fatalf("bulk delete: %v %s", err, res.Body)
			}
			b.ReportMetric(float64(took.Microseconds())/1000, "ms")
			b.ReportMetric(0, "ns/op")
		}
	})
}

func hasPostgres(b *testing.B) bool {
	for _, d := range storetest.Dialects(b) {
		if d == store.Postgres {
			return true
		}
	}
	return false
}

// portfolioBenchEnv is atende on a fresh PostgreSQL database, its admin client and tenant.
func portfolioBenchEnv(b *testing.B) (*apitest.Env, *client.ClientWithResponses, uuid.UUID) {
	env := apitest.New(b, store.Postgres, apitest.Options{Configure: func(c *config.Config) {
		c.BodyLimit = 1 << 20 // the production default: 1,000 ids fit
		c.DatabaseMaxConns = 20
	}})
	admin := env.Client(env.AdminKey)
	me, err := admin.GetMeWithResponse(context.Background())
	if err != nil || me.JSON200 == nil {
		b.Fatalf("me: %v", err)
	}
	return env, admin, me.JSON200.Tenant.Id
}
