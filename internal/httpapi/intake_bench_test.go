package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/webhook"
)

// Environment variables of BenchmarkIntakeEvents.
const (
	envIntakeEvents      = "ATENDE_BENCH_INTAKE_EVENTS"
	envIntakeConcurrency = "ATENDE_BENCH_INTAKE_CONCURRENCY"
)

// intakeLifecycle is what the ERP reports of each service order, version by version.
var intakeLifecycle = []string{"ABERTA", "EM REPARO", "ATRASADA", "EM REPARO", "FINALIZADA"}

// intakeDelivery is one signed POST the ERP makes: a first delivery or an exact redelivery of one.
type intakeDelivery struct {
	body    []byte
	headers http.Header
}

// BenchmarkIntakeEvents replays an ERP's signed ticket events (POST /v1/integrations/{id}/events) from
// concurrent senders, over loopback HTTP, to a server on each dialect. Every service order goes through five
// versions (opened, in repair, late and critical, in repair, finished) carrying its customer's name and
// phone, so the first event creates the ticket and its contact and queues the greeting, and the last closes
// it and queues the survey; a fifth of the deliveries are exact redeliveries. Orders are interleaved as an
// ERP would send them: 64 open at a time, so two events of one order are sometimes in flight together.
// Every delivery must answer 200. It reports events per second and latency percentiles.
//
// It runs with 16 and with 32 concurrent senders: ATENDE_BENCH_INTAKE_EVENTS sets the deliveries per
// iteration (10,000), ATENDE_BENCH_INTAKE_CONCURRENCY a single number of senders instead.
func BenchmarkIntakeEvents(b *testing.B) {
	total := benchEnvInt(b, envIntakeEvents, 10_000)
	concurrency := []int{16, 32}
	if os.Getenv(envIntakeConcurrency) != "" {
		concurrency = []int{benchEnvInt(b, envIntakeConcurrency, 16)}
	}
	for _, dialect := range storetest.Dialects(b) {
		for _, senders := range concurrency {
			b.Run(fmt.Sprintf("%s/senders=%d", dialect, senders), func(b *testing.B) { benchIntake(b, dialect, total, senders) })
		}
	}
}

// benchIntake runs the intake benchmark on one dialect with a number of senders.
func benchIntake(b *testing.B, dialect store.Dialect, total, senders int) {
	// Deliveries are rate limited per integration, and the test clock stands still: the burst must
	// cover every delivery of the run.
	// The pool is the production default (ATENDE_DATABASE_MAX_CONNS).
	env := apitest.New(b, dialect, apitest.Options{Configure: func(c *config.Config) {
		c.RateBurst = max(c.RateBurst, 2*total*b.N)
		c.DatabaseMaxConns = 20
	}})
	igID, secret := setUpIntake(b, env)
	url := env.URL + "/v1/integrations/" + igID + "/events"
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2 * senders, MaxIdleConnsPerHost: 2 * senders, IdleConnTimeout: time.Minute}}

	var (
		latencies []time.Duration
		elapsed   time.Duration
		codes     int
		outcomes  = map[string]int{}
	)
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		deliveries, n := intakeWorkload(b, secret, iter, total)
		codes += n
		b.StartTimer()
		lat, took, out := sendIntake(b, hc, url, deliveries, senders)
		b.StopTimer()
		latencies = append(latencies, lat...)
		elapsed += took
		for k, v := range out {
			outcomes[k] += v
		}
	}
	b.StopTimer()

	checkIntake(b, env, codes)
	b.Logf("%d deliveries of %d orders by %d senders in %v: outcomes %v", len(latencies), codes, senders,
		elapsed.Round(time.Millisecond), outcomes)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "events/s")
	b.ReportMetric(percentile(latencies, 0.50), "p50-ms")
	b.ReportMetric(percentile(latencies, 0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// setUpIntake creates what newTicketEnv does — the two templates, the procedure that greets on opening and
// sends the survey on closing, and the ERP integration with its status map — and returns the integration's
// id and secret.
func setUpIntake(b *testing.B, env *apitest.Env) (string, string) {
	b.Helper()
	ctx := context.Background()
	admin := env.Client(env.AdminKey)
	st, err := admin.UpdateSettingsWithResponse(ctx, nil, client.SettingsUpdate{
		SurveyUrlTemplate: nullable.NewNullableWithValue("https://pesquisa.example/s/{token}")})
	if err != nil || st.StatusCode() != http.StatusOK {
		b.Fatalf("settings: %v %s", err, st.Body)
	}
	template := func(name, body string) client.Template {
		res, err := admin.CreateTemplateWithResponse(ctx, nil, client.TemplateCreate{Name: name, Language: "pt_BR", Body: body,
			Variables: &[]string{"Nome do cliente", "Nº do protocolo", "Link"}})
		if err != nil || res.JSON201 == nil {
			b.Fatalf("template %s: %v %s", name, err, res.Body)
		}
		return *res.JSON201
	}
	greet := template("abertura_chamado", "Olá {{1}}! Seu chamado {{2}} foi aberto. Acompanhe em {{3}}")
	bye := template("encerramento_chamado", "Olá {{1}}, o chamado {{2}} foi concluído. Avalie em {{3}}")
	send := true
	proc, err := admin.CreateProcedureWithResponse(ctx, nil, client.ProcedureCreate{Name: "Ordem de serviço", Tasks: []client.TaskInput{
		{Name: "Abertura", SendWhatsapp: &send, TemplateId: nullable.NewNullableWithValue(greet.Id),
			Variables: &[]client.TicketField{client.TicketFieldCustomerName, client.TicketFieldProtocol, client.TicketFieldTrackingLink}},
		{Name: "Reparo"},
		{Name: "Encerramento", SendWhatsapp: &send, TemplateId: nullable.NewNullableWithValue(bye.Id),
			Variables: &[]client.TicketField{client.TicketFieldCustomerName, client.TicketFieldProtocol, client.TicketFieldSurveyLink}},
	}})
	if err != nil || proc.JSON201 == nil {
		b.Fatalf("procedure: %v %s", err, proc.Body)
	}
	critical := true
	ig, err := admin.CreateIntegrationWithResponse(ctx, nil, client.IntegrationCreate{Name: "ERP Oficina",
		DefaultProcedureId: nullable.NewNullableWithValue(proc.JSON201.Id),
		StatusMap: &[]client.StatusMapping{
			{External: "ABERTA", Status: client.TicketStatusOpen},
			{External: "EM REPARO", Status: client.TicketStatusInProgress},
			{External: "ATRASADA", Status: client.TicketStatusInProgress, Critical: &critical},
			{External: "FINALIZADA", Status: client.TicketStatusClosed},
		}})
	if err != nil || ig.JSON201 == nil {
		b.Fatalf("integration: %v %s", err, ig.Body)
	}
	return ig.JSON201.Id.String(), ig.JSON201.Secret
}

// intakeWorkload builds and signs one iteration's deliveries: total of them, a fifth exact redeliveries, the
// rest five versions of total*4/25 orders. It returns the deliveries in sending order and the number of
// orders.
func intakeWorkload(b *testing.B, secret string, iter, total int) ([]intakeDelivery, int) {
	b.Helper()
	codes := max(1, (total-total/5)/len(intakeLifecycle))
	unique := codes * len(intakeLifecycle)
	rng := rand.New(rand.NewPCG(1, uint64(iter)))

	// The first deliveries, interleaving up to 64 open orders, each in version order.
	type open struct{ code, version int }
	var (
		firsts []intakeDelivery
		active []open
		next   int
	)
	for len(firsts) < unique {
		for len(active) < 64 && next < codes {
			active = append(active, open{code: next})
			next++
		}
		i := rng.IntN(len(active))
		o := &active[i]
		firsts = append(firsts, intakeEvent(b, secret, iter, codes, o.code, o.version))
		if o.version++; o.version == len(intakeLifecycle) {
			active = slices.Delete(active, i, i+1)
		}
	}

	// Redeliveries repeat a random earlier delivery 32 to 512 places after it, as a sender retrying after a
	// lost answer would.
	type slot struct {
		at float64
		d  intakeDelivery
	}
	slots := make([]slot, 0, total)
	for i, d := range firsts {
		slots = append(slots, slot{at: float64(i), d: d})
	}
	for len(slots) < total {
		i := rng.IntN(unique)
		slots = append(slots, slot{at: float64(i+32+rng.IntN(481)) + 0.5, d: firsts[i]})
	}
	slices.SortStableFunc(slots, func(x, y slot) int {
		switch {
		case x.at < y.at:
			return -1
		case x.at > y.at:
			return 1
		}
		return 0
	})
	out := make([]intakeDelivery, len(slots))
	for i, s := range slots {
		out[i] = s.d
	}
	return out, codes
}

// intakeEvent is one version of one order, in full as the ERP sends it, signed at the test clock.
func intakeEvent(b *testing.B, secret string, iter, codes, code, version int) intakeDelivery {
	b.Helper()
	n := iter*codes + code
	body := fmt.Appendf(nil, `{"external_code":"OS-%d-%06d","version":%d,"status":%q,"process_number":"2026/%d%06d",`+
		`"issued_at":"2026-01-05","product_description":"Notebook Dell Latitude 5440","problem":"Não liga após queda de energia.",`+
		`"customer":{"name":"Cliente %d","phone":"(47) 9%04d-%04d"},"extra":{"loja":"Joinville Centro","garantia":true}}`,
		iter, code, version+1, intakeLifecycle[version], iter, code, n, n/10000%10000, n%10000)
	h, err := webhook.Headers(secret, webhook.NewID(), apitest.Epoch, body)
	if err != nil {
		b.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	return intakeDelivery{body: body, headers: h}
}

// sendIntake posts the deliveries in order from concurrent senders and returns each one's latency, the
// wall time of the whole run and how many deliveries had each outcome. Any answer but 200 fails.
func sendIntake(b *testing.B, c *http.Client, url string, deliveries []intakeDelivery, senders int) ([]time.Duration, time.Duration, map[string]int) {
	latencies := make([]time.Duration, len(deliveries))
	outcomes := make([][]byte, len(deliveries))
	var (
		next     atomic.Int64
		failures atomic.Int64
		firstErr sync.Once
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(deliveries) {
					return
				}
				d := deliveries[i]
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.body))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header = d.headers.Clone()
				t0 := time.Now()
				resp, err := c.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				latencies[i] = time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusOK {
					failures.Add(1)
					firstErr.Do(func() {
						if err != nil {
							b.Errorf("delivery %d: %v", i, err)
						} else {
							b.Errorf("delivery %d: %d %s", i, resp.StatusCode, body)
						}
					})
					continue
				}
				outcomes[i] = outcomeOf(body)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d deliveries failed", f, len(deliveries))
	}
	counts := map[string]int{}
	for _, o := range outcomes {
		counts[string(o)]++
	}
	return latencies, elapsed, counts
}

// outcomeOf picks the outcome out of a receipt without decoding the ticket.
func outcomeOf(body []byte) []byte {
	const key = `"outcome":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return []byte("?")
	}
	rest := body[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return []byte("?")
}

// checkIntake checks that the run did what an ERP expects: one ticket and one contact per order, every order
// closed, and its greeting and survey (at least one of them, should a later version have overtaken the
// first) in the outbox.
func checkIntake(b *testing.B, env *apitest.Env, codes int) {
	b.Helper()
	ctx := context.Background()
	count := func(query string) int {
		var n int
		if err := env.App.DB.NewRaw(query).Scan(ctx, &n); err != nil {
			b.Fatalf("%s: %v", query, err)
		}
		return n
	}
	if n := count("SELECT count(*) FROM tickets"); n != codes {
		b.Fatalf("%d tickets for %d orders", n, codes)
	}
	if n := count("SELECT count(*) FROM tickets WHERE status <> 'closed'"); n != 0 {
		b.Fatalf("%d of %d tickets are not closed", n, codes)
	}
	if n := count("SELECT count(*) FROM contacts"); n != codes {
		b.Fatalf("%d contacts for %d orders", n, codes)
	}
	if n := count("SELECT count(*) FROM outbound_messages WHERE status = 'queued'"); n < codes || n > 2*codes {
		b.Fatalf("%d queued messages for %d orders", n, codes)
	}
}
