package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// delivery is one signed POST an ERP makes: redeliveries repeat the webhook id and the body.
type delivery struct {
	id   string
	body []byte
}

// serviceOrderEvents are an ERP's events for codes service orders, versions 1 to last each: opened, in
// repair, late (critical) and, at the last version, finished.
func serviceOrderEvents(t *testing.T, codes, last int) []delivery {
	t.Helper()
	out := make([]delivery, 0, codes*last)
	for c := range codes {
		for v := 1; v <= last; v++ {
			status := "EM REPARO"
			switch {
			case v == 1:
				status = "ABERTA"
			case v == last:
				status = "FINALIZADA"
			case v == last-1:
				status = "ATRASADA"
			}
			body, err := json.Marshal(map[string]any{
				"external_code": fmt.Sprintf("OS-%05d", c), "version": v, "status": status, "problem": fmt.Sprintf("v%d", v),
				"process_number": fmt.Sprintf("2026-%06d", c),
				"customer":       map[string]any{"name": fmt.Sprintf("Cliente %d", c), "phone": fmt.Sprintf("+55479%08d", 91000000+c)},
			})
			require.NoError(t, err)
			out = append(out, delivery{id: fmt.Sprintf("os-%d-v%d", c, v), body: body})
		}
	}
	return out
}

// post delivers all deliveries with n concurrent senders and returns how many came back as duplicates.
func (e *ticketEnv) post(t *testing.T, all []delivery, n int) (duplicates int64) {
	t.Helper()
	var next atomic.Int64
	var dups atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(all) {
					return
				}
				res := e.deliverRaw(t, e.integration.Secret, all[i].id, e.Clock.Now(), all[i].body)
				if res.StatusCode() != http.StatusOK {
					t.Errorf("delivery %s: %d %s", all[i].id, res.StatusCode(), res.Body)
					return
				}
				if res.JSON200.Outcome == "duplicate" {
					dups.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return dups.Load()
}

// 10,000 deliveries, 30% of them redeliveries, in shuffled order, plus 50 concurrent deliveries of one
// external code: one ticket per code, the newest version's state, one message per (ticket, task).
func TestShuffledDuplicatedDeliveriesKeepOneTicketPerCode(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		e := newTicketEnv(t, dialect)
		ctx := context.Background()
		const codes, versions = 1000, 7
		unique := serviceOrderEvents(t, codes, versions)
		rng := rand.New(rand.NewPCG(42, uint64(len(dialect))))
		all := append([]delivery{}, unique...)
		for range 3000 {
			all = append(all, unique[rng.IntN(len(unique))])
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		require.Len(t, all, 10_000)
		require.EqualValues(t, 3000, e.post(t, all, 8), "every redelivery, and only those, is a duplicate")
		for line := range strings.Lines(e.Logs()) {
			require.NotContains(t, line, "intake batch failed", "events arriving together are applied together")
		}

		// 50 versions of one code at once.
		burst := make([]delivery, 50)
		for v := range burst {
			status := "EM REPARO"
			if v == 49 {
				status = "FINALIZADA"
			}
			body, err := json.Marshal(map[string]any{"external_code": "OS-BURST", "version": v + 1, "status": status,
				"problem": fmt.Sprintf("v%d", v+1), "customer": map[string]any{"name": "Rajada", "phone": "+5547990000001"}})
			require.NoError(t, err)
			burst[v] = delivery{id: fmt.Sprintf("burst-%d", v), body: body}
		}
		rng.Shuffle(len(burst), func(i, j int) { burst[i], burst[j] = burst[j], burst[i] })
		require.Zero(t, e.post(t, burst, 50))

		type row struct {
			ExternalCode  string `bun:"external_code"`
			SourceVersion int64  `bun:"source_version"`
			Status        string `bun:"status"`
			Problem       string `bun:"problem"`
			Critical      bool   `bun:"critical"`
		}
		var rows []row
		require.NoError(t, e.App.DB.NewSelect().Table("tickets").Column("external_code", "source_version", "status", "problem", "critical").
			Scan(ctx, &rows))
		require.Len(t, rows, codes+1, "exactly one ticket per external code")
		for _, r := range rows {
			want := int64(versions)
			if r.ExternalCode == "OS-BURST" {
				want = 50
			}
			require.Equal(t, want, r.SourceVersion, r.ExternalCode)
			require.Equal(t, "closed", r.Status, r.ExternalCode)
			require.Equal(t, fmt.Sprintf("v%d", want), r.Problem, r.ExternalCode)
			require.False(t, r.Critical, r.ExternalCode)
		}

		var perTask []struct {
			N int `bun:"n"`
		}
		require.NoError(t, e.App.DB.NewSelect().Table("outbound_messages").ColumnExpr("count(*) AS n").
			Group("ticket_id", "task_id").Scan(ctx, &perTask))
		closing := e.procedure.Tasks[len(e.procedure.Tasks)-1].Id
		closings, err := e.App.DB.NewSelect().Table("outbound_messages").Where("task_id = ?", closing).Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, codes+1, closings, "every ticket closed, so every one has its closing message")
		for _, p := range perTask {
			require.Equal(t, 1, p.N, "one message per (ticket, task)")
		}
		created, err := e.App.DB.NewSelect().Table("ticket_timeline").Where("kind = 'created'").Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, codes+1, created)

		// The sender sends each message once.
		e.send(t)
		sent := e.sim.SentMessages()
		require.Len(t, sent, len(perTask))
		refs := map[string]bool{}
		for _, m := range sent {
			require.False(t, refs[m.Reference], "message %s sent twice", m.Reference)
			refs[m.Reference] = true
		}
	})
}
