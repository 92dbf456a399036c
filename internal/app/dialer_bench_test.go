package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/dialer/dialertest"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/telephony"
)

// BenchmarkDialerDrain drains a campaign on PostgreSQL end to end — claim, Plinx check over loopback HTTP,
// skip or call, the simulated telephony reporting no answer, the entry closed — and, in the same run, the
// same number of rows through plain SQL claims, one row per commit. See docs/BENCHMARKS.md.
//
// ATENDE_BENCH_DIALER_ENTRIES (default 20000) sets the campaign's size, ATENDE_BENCH_DIALER_AGENTS
// (default 200) how many agents are logged in, ATENDE_BENCH_DIALER_WORKERS (default 2) how many workers
// drain it.
func BenchmarkDialerDrain(b *testing.B) {
	if !slices.Contains(storetest.Dialects(b), store.Postgres) {
		b.Skip("the dialer benchmark runs on PostgreSQL: set ATENDE_TEST_POSTGRES_URL")
	}
	entries := envInt(b, "ATENDE_BENCH_DIALER_ENTRIES", 20000)
	agents := envInt(b, "ATENDE_BENCH_DIALER_AGENTS", 200)
	workers := envInt(b, "ATENDE_BENCH_DIALER_WORKERS", 2)
	b.Run("plain_sql", func(b *testing.B) {
		for range b.N {
			plainSQLDrain(b, entries)
		}
	})
	for _, latency := range []time.Duration{0, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("check_%dms", latency.Milliseconds()), func(b *testing.B) {
			for range b.N {
				dialerDrain(b, entries, agents, workers, latency)
			}
		})
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s must be a positive integer", name)
	}
	return n
}

// plainSQLClients is how many connections the plain-SQL baseline claims with.
const plainSQLClients = 8

// plainSQLDrain claims the queue one row per transaction — SELECT … FOR UPDATE SKIP LOCKED, UPDATE,
// COMMIT — from plainSQLClients connections, as a pgbench script would.
func plainSQLDrain(b *testing.B, n int) {
	b.StopTimer()
	ctx := context.Background()
	url := storetest.NewURL(b, store.Postgres)
	a, tenantID, campaignID := benchApp(b, url, "", 0)
	seedEntries(b, a.DB, tenantID, campaignID, n)
	_ = a.Close()
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	pcfg.MaxConns = plainSQLClients
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	// Every run starts from a clean checkpoint, so that none pays for another's dirty pages.
	if _, err := pool.Exec(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}

	var done atomic.Int64
	start := time.Now()
	b.StartTimer()
	var wg sync.WaitGroup
	for range plainSQLClients {
		wg.Go(func() {
			for {
				var claimed bool
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var tid, id uuid.UUID
					err := tx.QueryRow(ctx, `SELECT tenant_id, id FROM dial_entries
						WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'queued' AND due_at <= now()
						ORDER BY priority DESC, due_at LIMIT 1 FOR UPDATE SKIP LOCKED`, tenantID, campaignID).Scan(&tid, &id)
					if err == pgx.ErrNoRows {
						return nil
					}
					if err != nil {
						return err
					}
					claimed = true
					_, err = tx.Exec(ctx, `UPDATE dial_entries SET status = 'closed', close_reason = 'max_attempts',
						attempts = attempts + 1, updated_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2`, tid, id)
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
				if !claimed {
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	if int(done.Load()) != n {
		b.Fatalf("plain SQL closed %d of %d rows", done.Load(), n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "entries/s")
}

// dialerDrain runs the dialer's workers over n queued entries until every one is closed.
func dialerDrain(b *testing.B, n, agents, workers int, latency time.Duration) {
	b.StopTimer()
	ctx := context.Background()
	url := storetest.NewURL(b, store.Postgres)
	plinx := sim.New(sim.Options{})
	plinxSrv := httptest.NewServer(plinx)
	defer func() { plinx.Close(); plinxSrv.Close() }()
	plinx.SetLatency(sim.OpGetActiveConversation, latency)

	a, tenantID, campaignID := benchApp(b, url, plinxSrv.URL, agents)
	defer a.Close()
	seedEntries(b, a.DB, tenantID, campaignID, n)
	// One customer in twenty is talking on WhatsApp: skipped, and logged on the record.
	for i := 1; i <= n; i += 20 {
		plinx.SetActive(dialertest.Number(i), true)
	}
	runtime.GC()
	if _, err := a.DB.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}

	peak := watchMemory()
	start := time.Now()
	b.StartTimer()
	running := make([]*dialer.Worker, workers)
	for i := range running {
		running[i] = a.Dialer.NewWorker(dialer.WorkerOptions{Batch: 500, Checks: 64})
		running[i].Start(ctx)
	}
	waitDrained(b, a.DB, n)
	b.StopTimer()
	elapsed := time.Since(start)
	for _, w := range running {
		w.Stop(ctx)
	}
	heap, rss := peak()

	var calls, checks int
	if err := a.DB.NewRaw("SELECT count(*) FROM calls").Scan(ctx, &calls); err != nil {
		b.Fatal(err)
	}
	checks = plinx.Requests(sim.OpGetActiveConversation)
	if placed := a.Telephony.PlacedTotal(); placed != calls || calls > checks {
		b.Fatalf("%d calls in the database, %d placed, %d checks", calls, placed, checks)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(calls), "calls")
}

// benchApp wires atende on url with the simulated telephony reporting no answer for every call, a campaign
// of one attempt per entry, and agents logged in to it.
func benchApp(b *testing.B, url, plinxURL string, agents int) (*app.App, uuid.UUID, uuid.UUID) {
	ctx := context.Background()
	cfg := config.Config{DatabaseURL: url, DatabaseMaxConns: 16, PlinxURL: plinxURL, PlinxToken: config.Secret(sim.DefaultToken),
		PlinxTimeout: 2 * time.Second, TelephonySimulator: "auto", TelephonyScript: []string{telephony.NoAnswer},
		ShutdownTimeout: 5 * time.Second, WorkerLease: 30 * time.Second, WorkerBatch: 100}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := a.Bootstrap(ctx); err != nil {
		b.Fatal(err)
	}
	tenantID, campaignID, err := dialertest.Campaign(ctx, a, agents)
	if err != nil {
		b.Fatal(err)
	}
	return a, tenantID, campaignID
}

// seedEntries queues n entries (dialertest.Seed).
func seedEntries(b *testing.B, db *store.DB, tenantID, campaignID uuid.UUID, n int) {
	if err := dialertest.Seed(context.Background(), db, tenantID, campaignID, n); err != nil {
		b.Fatal(err)
	}
}

// waitDrained returns once every entry is closed.
func waitDrained(b *testing.B, db *store.DB, n int) {
	deadline := time.Now().Add(time.Duration(n)*10*time.Millisecond + time.Minute)
	if err := dialertest.WaitDrained(context.Background(), db, deadline); err != nil {
		b.Fatal(err)
	}
}

// watchMemory samples the Go heap in use and the process's peak resident set until the returned function
// is called, which reports both peaks in bytes.
func watchMemory() func() (heap, rss uint64) {
	stop := make(chan struct{})
	var peakHeap atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(stop)
		wg.Wait()
		return peakHeap.Load(), peakRSS()
	}
}

// peakRSS reads the process's high-water resident set (VmHWM) from /proc; 0 where there is none.
func peakRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
