package httpapi_test

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/webhook"
)

// Load test shape. ATENDE_BENCH_LOAD_CONTACTS and ATENDE_BENCH_LOAD_STEP change the scale and the length of
// each saturation step; ATENDE_BENCH_LOAD_HOLD the length of the run at half the saturation rate.
const (
	loadConversations = 100_000
	loadSeedBatch     = 50_000
)

// BenchmarkAPILoad puts the API under open-model load (vegeta attacks at a fixed arrival rate, whatever the
// answers take, so slow answers cannot hide latency) on a tenant with 1,000,000 contacts, each with a
// WhatsApp number, and 100,000 open conversations, seeded in bulk. For each dialect it finds the saturation
// point of two workloads by raising the rate 25% every step while the server keeps up (throughput at least
// 95% of the rate, under 0.1% errors, p99 under 250 ms):
//
//   - reads: contacts by id and their conversations, conversations by id and by phone;
//   - mixed: the reads (80%), Plinx message webhooks on the open conversations (10%) and signed ERP ticket
//     events (10%).
//
// It then runs the mixed workload at half its saturation rate and reports p50, p99, p99.9 and the error
// rate. Sub-benchmark "echo" measures a bare echo handler the same way (the framework's ceiling on this
// machine) and "pgbench" PostgreSQL's own select-only rate (pgbench -S), the references the report divides
// by.
func BenchmarkAPILoad(b *testing.B) {
	for _, dialect := range storetest.Dialects(b) {
		b.Run(string(dialect), func(b *testing.B) { apiLoad(b, dialect) })
	}
	b.Run("echo", benchEcho)
	if hasPostgres(b) {
		b.Run("pgbench", benchPgbench)
	}
}

// loadTarget is the server under load and what requests need to reach it.
type loadTarget struct {
	base         string
	key          string
	tenantID     uuid.UUID
	contacts     int
	plinxURL     string
	plinxSecret  string
	intakeURL    string
	intakeSecret string
	seq          atomic.Int64
}

func apiLoad(b *testing.B, dialect store.Dialect) {
	contacts := benchEnvInt(b, "ATENDE_BENCH_LOAD_CONTACTS", 1_000_000)
	env := apitest.New(b, dialect, apitest.Options{Quiet: true, Configure: func(c *config.Config) {
		c.DatabaseMaxConns = 20
		c.RateLimit, c.RateBurst = 1_000_000, 1_000_000
	}})
	admin := env.Client(env.AdminKey)
	lt := &loadTarget{base: env.URL, key: env.AdminKey, tenantID: mustMe(b, admin).Tenant.Id, contacts: contacts}
	lt.plinxSecret = webhook.NewSecret()
	resp, body := env.Do(http.MethodPut, "/v1/settings/plinx", env.AdminKey, []byte(`{"webhook_secret": "`+lt.plinxSecret+`"}`), nil)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("configure Plinx: %s", body)
	}
	lt.plinxURL = env.URL + "/v1/webhooks/plinx/" + lt.tenantID.String()
	var igID string
	igID, lt.intakeSecret = setUpIntake(b, env)
	lt.intakeURL = env.URL + "/v1/integrations/" + igID + "/events"

	start := time.Now()
	seedLoad(b, env.App.DB, lt.tenantID, contacts)
	progress(b, "%s: seeded %d contacts and %d conversations in %v", dialect, contacts, loadConversations, time.Since(start).Round(time.Second))

	search := probe(b, string(dialect), lt)
	step := time.Duration(benchEnvInt(b, "ATENDE_BENCH_LOAD_STEP", 3)) * time.Second
	hold := time.Duration(benchEnvInt(b, "ATENDE_BENCH_LOAD_HOLD", 20)) * time.Second
	b.ResetTimer()
	reads := saturate(b, string(dialect)+" reads", lt.reads, 400, step)
	mixed := saturate(b, string(dialect)+" mixed", lt.mixed, 300, step)
	half := attack(lt.mixed, mixed/2, hold)
	progress(b, "%s mixed at %.0f/s for %v: %s%s", dialect, mixed/2, hold, half, half.kinds())
	b.StopTimer()
	b.ReportMetric(reads, "reads-sat/s")
	b.ReportMetric(mixed, "mixed-sat/s")
	b.ReportMetric(mixed/2, "half/s")
	b.ReportMetric(half.ms(0.50), "p50-ms")
	b.ReportMetric(half.ms(0.99), "p99-ms")
	b.ReportMetric(half.ms(0.999), "p99.9-ms")
	b.ReportMetric(100*half.errorRate(), "errors-%")
	b.ReportMetric(search, "search-ms")
	b.ReportMetric(0, "ns/op")
}

// loadID is the seeded id of the i-th record of a kind: a well-formed UUID made from the two.
func loadID(kind byte, i int) uuid.UUID {
	var id uuid.UUID
	id[0], id[1] = 0x01, kind
	binary.BigEndian.PutUint64(id[8:], uint64(i))
	id[6] = 0x70              // version 7
	id[8] = 0x80 | id[8]&0x3f // RFC 4122 variant
	return id
}

func loadPhone(i int) string { return fmt.Sprintf("+55479%08d", 80000000+i) }

// seedLoad writes the contacts, their phones and links, and the open conversations, in bulk.
func seedLoad(b *testing.B, db *store.DB, tenantID uuid.UUID, contacts int) {
	ctx := context.Background()
	now := apitest.Epoch
	for from := 0; from < contacts; from += loadSeedBatch {
		to := min(from+loadSeedBatch, contacts)
		err := db.RunInTxBulk(ctx, func(ctx context.Context, tx bun.Tx, cp store.Copier) error {
			cs, ps, ls := make([][]any, 0, to-from), make([][]any, 0, to-from), make([][]any, 0, to-from)
			var cv [][]any
			for i := from; i < to; i++ {
				name := fmt.Sprintf("Cliente %d", i)
				cs = append(cs, []any{tenantID, loadID('c', i), name, strings.ToLower(name), int64(1), now, now})
				ps = append(ps, []any{tenantID, loadID('p', i), loadPhone(i), "mobile", int64(1), now, now})
				ls = append(ls, []any{tenantID, loadID('p', i), "contact", loadID('c', i), now})
				if i < loadConversations {
					cv = append(cv, []any{tenantID, loadID('v', i), fmt.Sprintf("load-%d", i), loadID('p', i), "open",
						now, now, loadID('c', i), int64(1), now, now})
				}
			}
			if err := cp.Copy(ctx, "contacts", []string{"tenant_id", "id", "name", "search_text", "version", "created_at", "updated_at"}, cs); err != nil {
				return err
			}
			if err := cp.Copy(ctx, "phones", []string{"tenant_id", "id", "e164", "type", "version", "created_at", "updated_at"}, ps); err != nil {
				return err
			}
			if err := cp.Copy(ctx, "phone_links", []string{"tenant_id", "phone_id", "record_type", "record_id", "created_at"}, ls); err != nil {
				return err
			}
			return cp.Copy(ctx, "conversations", []string{"tenant_id", "id", "plinx_id", "phone_id", "status", "started_at",
				"last_message_at", "contact_id", "version", "created_at", "updated_at"}, cv)
		})
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	if err := db.Analyze(ctx, "contacts", "phones", "phone_links", "conversations"); err != nil {
		b.Fatal(err)
	}
	if db.Kind == store.Postgres {
		// Steady state, as a database that grew over months is: rows marked visible (the first reads of
		// freshly loaded rows would otherwise write hint bits) and the load's pages flushed, so the run does
		// not pay for the seeding.
		for _, stmt := range []string{"VACUUM (ANALYZE) contacts, phones, phone_links, conversations", "CHECKPOINT"} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// reads is the read-only workload: contacts by id and their conversations, conversations by id and by phone.
func (lt *loadTarget) reads(t *vegeta.Target) error {
	n := int(lt.seq.Add(1))
	i := int(uint64(n)*2654435761) % lt.contacts // spread over every contact
	c := i % loadConversations
	t.Method, t.Body = http.MethodGet, nil
	switch n % 10 {
	case 0, 1, 2, 3:
		t.URL = lt.base + "/v1/contacts/" + loadID('c', i).String()
	case 4, 5:
		t.URL = lt.base + "/v1/contacts/" + loadID('c', c).String() + "/conversations"
	case 6, 7, 8:
		t.URL = lt.base + "/v1/conversations/" + loadID('v', c).String()
	default:
		t.URL = lt.base + "/v1/conversations?phone=" + url.QueryEscape(loadPhone(c))
	}
	t.Header = http.Header{"Authorization": {"Bearer " + lt.key}}
	return nil
}

// mixed is the reads, one request in ten a Plinx message webhook and one in ten an ERP ticket event.
func (lt *loadTarget) mixed(t *vegeta.Target) error {
	n := lt.seq.Add(1)
	var body []byte
	var secret string
	switch n % 10 {
	case 0:
		c := int(uint64(n)*2654435761) % loadConversations
		t.URL, secret = lt.plinxURL, lt.plinxSecret
		body = fmt.Appendf(nil, `{"type":"message.created","occurred_at":"2026-01-05T11:00:00Z","conversation":{"id":"load-%d","phone":%q},`+
			`"message":{"id":"load-msg-%d","direction":"inbound","text":"Bom dia, alguma novidade do meu pedido?"}}`, c, loadPhone(c), n)
	case 5:
		t.URL, secret = lt.intakeURL, lt.intakeSecret
		body = fmt.Appendf(nil, `{"external_code":"LOAD-%d","version":1,"status":"ABERTA","process_number":"2026/%d",`+
			`"product_description":"Notebook","problem":"Não liga.","customer":{"name":"Cliente %d","phone":%q}}`,
			n, n, n%int64(lt.contacts), loadPhone(int(n%int64(lt.contacts))))
	default:
		return lt.reads(t)
	}
	h, err := webhook.Headers(secret, webhook.NewID(), apitest.Epoch, body)
	if err != nil {
		return err
	}
	h.Set("Content-Type", "application/json")
	t.Method, t.Body, t.Header = http.MethodPost, body, h
	return nil
}

var idPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// probe times each kind of request alone, one at a time, and shows the median: what each costs unloaded. It
// returns the median of a contact search.
func probe(b *testing.B, name string, lt *loadTarget) float64 {
	hc := &http.Client{Timeout: 30 * time.Second}
	kinds := map[string][]time.Duration{}
	for range 200 {
		var t vegeta.Target
		if err := lt.mixed(&t); err != nil {
			b.Fatal(err)
		}
		req, err := t.Request()
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		resp, err := hc.Do(req)
		took := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s: %d", t.Method, t.URL, resp.StatusCode)
		}
		kind := requestKind(t.Method, t.URL)
		kinds[kind] = append(kinds[kind], took)
	}
	// Free-text search, here by phone as an agent types it: not in the workloads (see docs/BENCHMARKS.md).
	for i := range 20 {
		n := 80000000 + i*(lt.contacts/20)
		req, _ := http.NewRequest(http.MethodGet, lt.base+"/v1/contacts?q="+url.QueryEscape(fmt.Sprintf("(47) 9%04d-%04d", n/10000%10000, n%10000)), nil)
		req.Header.Set("Authorization", "Bearer "+lt.key)
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		kinds["GET /v1/contacts?q"] = append(kinds["GET /v1/contacts?q"], time.Since(t0))
	}
	names := slices.Sorted(maps.Keys(kinds))
	for _, kind := range names {
		ds := kinds[kind]
		progress(b, "%s %s alone: median %.2f ms over %d", name, kind, percentile(ds, 0.5), len(ds))
	}
	return percentile(kinds["GET /v1/contacts?q"], 0.5)
}

// loadRun is what one constant-rate attack measured.
type loadRun struct {
	rate       float64
	sent       int
	failed     int
	throughput float64
	latencies  []time.Duration
	// byKind holds the latencies per kind of request (method and path with ids elided).
	byKind map[string][]time.Duration
}

// kinds shows the p50 and p99 of each kind of request, slowest p99 first.
func (r loadRun) kinds() string {
	type k struct {
		name     string
		p50, p99 float64
	}
	var ks []k
	for name, ds := range r.byKind {
		ks = append(ks, k{name, percentile(ds, 0.5), percentile(ds, 0.99)})
	}
	slices.SortFunc(ks, func(a, b k) int { return cmp.Compare(b.p99, a.p99) })
	var b strings.Builder
	for _, x := range ks {
		fmt.Fprintf(&b, "\n      %-45s p50 %6.1f ms  p99 %6.1f ms", x.name, x.p50, x.p99)
	}
	return b.String()
}

// requestKind names a request by its method and path, ids elided.
func requestKind(method, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return method
	}
	kind := method + " " + idPattern.ReplaceAllString(u.Path, "{id}")
	if u.RawQuery != "" {
		kind += "?" + strings.SplitN(u.RawQuery, "=", 2)[0]
	}
	return kind
}

func (r loadRun) ms(p float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	return percentile(r.latencies, p)
}

func (r loadRun) errorRate() float64 {
	if r.sent == 0 {
		return 0
	}
	return float64(r.failed) / float64(r.sent)
}

// keptUp reports whether the server kept up with the rate: nearly all of it served, few errors, p99 bounded.
func (r loadRun) keptUp() bool {
	return r.throughput >= 0.95*r.rate && r.errorRate() < 0.001 && r.ms(0.99) < 250
}

func (r loadRun) String() string {
	return fmt.Sprintf("%.0f/s served, p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, %d of %d failed",
		r.throughput, r.ms(0.50), r.ms(0.99), r.ms(0.999), r.failed, r.sent)
}

// attack sends requests from targeter at rate per second for d, open model, and measures the answers.
func attack(targeter vegeta.Targeter, rate float64, d time.Duration) loadRun {
	a := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true), vegeta.Workers(64), vegeta.MaxWorkers(4096),
		vegeta.Connections(4096), vegeta.MaxConnections(4096))
	run := loadRun{rate: rate, latencies: make([]time.Duration, 0, int(rate*d.Seconds())+1), byKind: map[string][]time.Duration{}}
	var first, last time.Time
	ok := 0
	for res := range a.Attack(targeter, vegeta.Rate{Freq: max(1, int(rate)), Per: time.Second}, d, "load") {
		run.sent++
		if first.IsZero() || res.Timestamp.Before(first) {
			first = res.Timestamp
		}
		if end := res.Timestamp.Add(res.Latency); end.After(last) {
			last = end
		}
		run.latencies = append(run.latencies, res.Latency)
		kind := requestKind(res.Method, res.URL)
		run.byKind[kind] = append(run.byKind[kind], res.Latency)
		if res.Error != "" || res.Code < 200 || res.Code >= 300 {
			run.failed++
			continue
		}
		ok++
	}
	if span := last.Sub(first).Seconds(); span > 0 {
		run.throughput = float64(ok) / span
	}
	return run
}

// saturate raises the rate 25% per step from start while the server keeps up, and returns the last rate
// it kept up with. A first step at start warms the server up unjudged; when the server cannot keep up with
// start, the rate is halved until it does.
func saturate(b *testing.B, name string, targeter vegeta.Targeter, start float64, step time.Duration) float64 {
	progress(b, "%s warming up at %.0f/s: %s", name, start, attack(targeter, start, step))
	for start > 10 {
		r := attack(targeter, start, step)
		progress(b, "%s at %.0f/s: %s", name, start, r)
		if r.keptUp() {
			break
		}
		start /= 2
	}
	best := 0.0
	for rate := start * 1.25; rate < 100_000; rate *= 1.25 {
		r := attack(targeter, rate, step)
		progress(b, "%s at %.0f/s: %s", name, rate, r)
		if !r.keptUp() {
			break
		}
		best = rate
	}
	if best == 0 {
		best = start
	}
	return best
}

// benchEcho measures a bare echo handler answering a small JSON document: the framework's ceiling.
func benchEcho(b *testing.B) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/ping", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	ts := httptest.NewServer(e)
	b.Cleanup(ts.Close)
	srv := ts.URL
	step := time.Duration(benchEnvInt(b, "ATENDE_BENCH_LOAD_STEP", 3)) * time.Second
	b.ResetTimer()
	sat := saturate(b, "echo", func(t *vegeta.Target) error {
		t.Method, t.URL = http.MethodGet, srv+"/ping"
		return nil
	}, 2000, step)
	b.StopTimer()
	b.ReportMetric(sat, "sat/s")
	b.ReportMetric(0, "ns/op")
}

// benchPgbench runs PostgreSQL's select-only benchmark (8 clients, 10 s, scale 10) in a scratch database.
func benchPgbench(b *testing.B) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		b.Skip("pgbench is not installed")
	}
	u, err := url.Parse(os.Getenv("ATENDE_TEST_POSTGRES_URL"))
	if err != nil {
		b.Fatal(err)
	}
	db := storetest.New(b, store.Postgres)
	var name string
	if err := db.NewRaw("SELECT current_database()").Scan(context.Background(), &name); err != nil {
		b.Fatal(err)
	}
	args := []string{"-h", u.Hostname(), "-p", cmpOr(u.Port(), "5432"), "-U", u.User.Username()}
	if out, err := exec.Command(pgbench, append(args, "-i", "-q", "-s", "10", name)...).CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	b.ResetTimer()
	out, err := exec.Command(pgbench, append(args, "-S", "-n", "-c", "8", "-j", "2", "-T", "10", name)...).CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("pgbench -S: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	progress(b, "pgbench -S: %.0f tps", tps)
	b.ReportMetric(tps, "tps")
	b.ReportMetric(0, "ns/op")
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// progress shows how a long benchmark is going, as it goes.
func progress(b *testing.B, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  "+format+"\n", args...)
	b.Logf(format, args...)
}
