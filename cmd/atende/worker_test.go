package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/gen/client"
	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/app"
	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/dialer"
	"github.com/atende/atende/internal/dialer/dialertest"
	"github.com/atende/atende/internal/plinx/sim"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
	"github.com/atende/atende/internal/telephony"
	"github.com/atende/atende/internal/webhook"
)

// fleetAdminKey is the bootstrap admin key of the fleet's tenant.
const fleetAdminKey = "atd_fleet_admin_key_0123456789abcdef"

// fleet is atende as it runs in production, in processes of its own over one PostgreSQL database: the
// `atende serve` API, `atende worker` processes, a Plinx simulator and a telephony far end that takes
// calls by signed webhook and reports every call unanswered through the API.
type fleet struct {
	t       *testing.T
	bin     string
	dbURL   string
	db      *store.DB
	plinx   *sim.Server
	plinxAt string
	phones  *farEnd
	api     *proc
}

// buildAtende compiles this command once per test binary.
var buildAtende = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "atende-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "atende")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// newFleet seeds a campaign of n entries, one attempt each, with agents logged in, one customer in twenty
// talking on WhatsApp, and starts the API; workers are started by the test.
func newFleet(t *testing.T, n, agents int) *fleet {
	t.Helper()
	f := newProcesses(t)
	for i := 1; i <= n; i += 20 {
		f.plinx.SetActive(dialertest.Number(i), true)
	}

	ctx := context.Background()
	a, err := app.New(ctx, config.Config{DatabaseURL: f.dbURL, DatabaseMaxConns: 4, PlinxURL: f.plinxAt,
		BootstrapAdminKey: fleetAdminKey, TelephonySimulator: "manual", WorkerLease: 30 * time.Second, WorkerBatch: 50},
		slog.New(slog.DiscardHandler), clock.System{})
	require.NoError(t, err)
	_, _, err = a.Bootstrap(ctx)
	require.NoError(t, err)
	tenantID, campaignID, err := dialertest.Campaign(ctx, a, agents)
	require.NoError(t, err)
	require.NoError(t, dialertest.Seed(ctx, a.DB, tenantID, campaignID, n))

	f.phones = newFarEnd(t)
	adapter, url, secret := telephony.AdapterWebhook, f.phones.url, f.phones.secret
	_, err = a.Dialer.UpdateSettings(ctx, tenantID, dialer.SettingsPatch{TelephonyAdapter: &adapter, TelephonyURL: &url,
		TelephonySecret: &secret}, nil)
	require.NoError(t, err)
	require.NoError(t, a.Close())

	f.db, err = store.Open(ctx, f.dbURL, store.Options{MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { f.db.Close() })

	f.api = f.start("serve", "ATENDE_ADDR=127.0.0.1:0", "ATENDE_WORKERS=0", "ATENDE_RATE_LIMIT=100000", "ATENDE_RATE_BURST=100000")
	addr := regexp.MustCompile(`"addr":"(127\.0\.0\.1:\d+)"`)
	var base string
	require.Eventually(t, func() bool {
		m := addr.FindStringSubmatch(f.api.logs.String())
		if m != nil {
			base = "http://" + m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "serve never logged its address: %s", f.api.logs)
	f.phones.report(t, base)
	return f
}

// newProcesses is a fresh PostgreSQL database, the atende binary to run processes on it, and a Plinx
// simulator; it skips the test without PostgreSQL.
func newProcesses(t *testing.T) *fleet {
	t.Helper()
	if !slices.Contains(storetest.Dialects(t), store.Postgres) {
		t.Skip("several processes share one PostgreSQL: set ATENDE_TEST_POSTGRES_URL")
	}
	bin, err := buildAtende()
	require.NoError(t, err)
	f := &fleet{t: t, bin: bin, dbURL: storetest.NewURL(t, store.Postgres)}
	f.plinx = sim.New(sim.Options{})
	plinxSrv := httptest.NewServer(f.plinx)
	t.Cleanup(func() { f.plinx.Close(); plinxSrv.Close() })
	f.plinxAt = plinxSrv.URL
	return f
}

// proc is one atende process.
type proc struct {
	cmd  *exec.Cmd
	logs *apitest.SyncBuffer
	done chan error
}

// start runs `atende <command>` on the fleet's database with extra environment.
func (f *fleet) start(command string, env ...string) *proc {
	f.t.Helper()
	p := &proc{cmd: exec.Command(f.bin, command), logs: &apitest.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "ATENDE_DATABASE_URL="+f.dbURL, "ATENDE_DATABASE_MAX_CONNS=8",
		"ATENDE_PLINX_URL="+f.plinxAt, "ATENDE_PLINX_TOKEN="+sim.DefaultToken, "ATENDE_LOG_LEVEL=info",
		"ATENDE_LOG_FORMAT=json", "ATENDE_BOOTSTRAP_ADMIN_KEY="+fleetAdminKey, "ATENDE_OPERATOR_KEY=")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(f.t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	f.t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if f.t.Failed() {
			f.t.Logf("atende %s:\n%s", command, p.logs)
		}
	})
	return p
}

// stop asks the process to stop, as a service manager does, and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err)
		p.done <- err
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not stop on SIGTERM")
	}
}

// settled reads how many entries a stopped worker process settled, from its last words.
func (p *proc) settled(t *testing.T) int {
	t.Helper()
	m := regexp.MustCompile(`"msg":"dial queue worker stopped".*"settled":(\d+)`).FindAllStringSubmatch(p.logs.String(), -1)
	require.NotEmpty(t, m, "the worker did not report what it settled")
	total := 0
	for _, x := range m {
		n, _ := strconv.Atoi(x[1])
		total += n
	}
	return total
}

// waitDrained waits until every entry is closed.
func (f *fleet) waitDrained(timeout time.Duration) {
	f.t.Helper()
	require.NoError(f.t, dialertest.WaitDrained(context.Background(), f.db, time.Now().Add(timeout)))
}

// count runs a counting query on the fleet's database.
func (f *fleet) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	require.NoError(f.t, f.db.NewRaw(query, args...).Scan(context.Background(), &n))
	return n
}

// checkOutcomes checks the database after a drain of n entries: each entry closed after its one attempt
// with exactly one outcome, each call of the database taken by the far end, no attempt called twice.
func (f *fleet) checkOutcomes(n int) {
	t := f.t
	t.Helper()
	require.Zero(t, f.count(`SELECT count(*) FROM dial_entries WHERE status <> 'closed' OR attempts <> 1 OR close_reason <> 'max_attempts'`),
		"every entry closed after its one attempt")
	require.Zero(t, f.count(`SELECT count(*) FROM dial_entries AS e WHERE
		(SELECT count(*) FROM dial_events AS v WHERE v.tenant_id = e.tenant_id AND v.entry_id = e.id
		 AND v.kind IN ('skipped_whatsapp', 'call_outcome')) <> 1`), "exactly one outcome per entry and attempt")
	require.Zero(t, f.count(`SELECT count(*) FROM dial_entries AS e WHERE
		(SELECT count(*) FROM dial_events AS v WHERE v.tenant_id = e.tenant_id AND v.entry_id = e.id AND v.kind = 'closed') <> 1`),
		"closed once")
	skipped := (n + 19) / 20
	calls := f.count(`SELECT count(*) FROM calls`)
	require.Equal(t, n-skipped, calls, "a call for each customer not on WhatsApp")
	require.Equal(t, skipped, f.count(`SELECT count(*) FROM dial_entries WHERE last_outcome = 'skipped_whatsapp'`))
	require.Zero(t, f.count(`SELECT count(*) FROM calls WHERE status <> 'ended'`))

	taken, twice := f.phones.summary()
	require.Equal(t, calls, taken, "the far end took every call of the database, and no other")
	require.Zero(t, twice, "no attempt of an entry was called twice")
	require.LessOrEqual(t, calls, f.plinx.Requests(sim.OpGetActiveConversation), "no call without a check")
}

// Two worker processes drain 20,000 entries from one PostgreSQL: every entry reaches exactly one outcome
// for its attempt, none is called twice, none is left claimed, and both processes did part of the work.
func TestTwoWorkerProcessesDrainOneQueue(t *testing.T) {
	const n = 20000
	f := newFleet(t, n, 200)
	workerEnv := []string{"ATENDE_WORKERS=1", "ATENDE_WORKER_BATCH=200"}
	a := f.start("worker", workerEnv...)
	b := f.start("worker", workerEnv...)
	f.waitDrained(5 * time.Minute)
	a.stop(t)
	b.stop(t)

	f.checkOutcomes(n)
	require.Zero(t, f.count(`SELECT count(*) FROM dial_entries WHERE status = 'claimed' OR lease_owner IS NOT NULL`), "none left claimed")
	settledA, settledB := a.settled(t), b.settled(t)
	require.Positive(t, settledA, "the first process drained part of the queue")
	require.Positive(t, settledB, "the second process drained part of the queue")
	// Settling includes sending an entry back when its agent was taken meanwhile, so it may count one twice.
	require.GreaterOrEqual(t, settledA+settledB, n, "every entry settled by one of them")
}

// A worker killed mid-batch leaves entries claimed; once their lease expires another worker takes them
// back to the queue and drains it: every entry finishes, and none is called twice.
func TestKilledWorkerLosesNoEntryAndCallsNoneTwice(t *testing.T) {
	const n = 3000
	f := newFleet(t, n, 100)
	// Slow checks keep the worker's batches claimed for a while.
	f.plinx.SetLatency(sim.OpGetActiveConversation, 100*time.Millisecond)
	env := []string{"ATENDE_WORKERS=1", "ATENDE_WORKER_BATCH=300", "ATENDE_WORKER_LEASE=3s"}
	victim := f.start("worker", env...)
	require.Eventually(t, func() bool {
		taken, _ := f.phones.summary()
		return taken >= 200 && f.count(`SELECT count(*) FROM dial_entries WHERE status = 'claimed'`) > 0
	}, time.Minute, 5*time.Millisecond, "the worker never had calls out and a batch claimed")
	require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	<-victim.done
	victim.done <- nil
	claimed := f.count(`SELECT count(*) FROM dial_entries WHERE status = 'claimed'`)
	t.Logf("killed with %d entries claimed and %d calls taken", claimed, f.phones.taken())
	require.Positive(t, claimed, "the kill caught a batch claimed")
	require.NotContains(t, victim.logs.String(), "dial queue worker stopped", "killed, not stopped")

	f.plinx.SetLatency(sim.OpGetActiveConversation, 0)
	heir := f.start("worker", env...)
	f.waitDrained(3 * time.Minute)
	heir.stop(t)

	f.checkOutcomes(n)
	require.GreaterOrEqual(t, f.count(`SELECT count(*) FROM dial_events WHERE kind = 'lease_rescued'`), claimed,
		"every entry the killed worker held went back to the queue")
}

// farEnd is a telephony system behind the webhook adapter: it checks each signed placement, takes each call
// once whatever the redeliveries, and reports it unanswered on POST /v1/calls/{id}/events.
type farEnd struct {
	url, secret string
	queue       chan uuid.UUID

	mu         sync.Mutex
	calls      map[uuid.UUID]telephony.PlaceRequest
	perAttempt map[string]map[uuid.UUID]bool
	redelivery atomic.Int64
}

func newFarEnd(t *testing.T) *farEnd {
	f := &farEnd{secret: webhook.NewSecret(), queue: make(chan uuid.UUID, 100000), calls: map[uuid.UUID]telephony.PlaceRequest{},
		perAttempt: map[string]map[uuid.UUID]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/calls"
	return f
}

func (f *farEnd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := webhook.Verify(f.secret, r.Header, body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var c telephony.PlaceRequest
	if err := json.Unmarshal(body, &c); err != nil || r.Header.Get("webhook-id") != telephony.DeliveryID(c.CallID) {
		http.Error(w, "bad placement", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	_, seen := f.calls[c.CallID]
	if !seen {
		f.calls[c.CallID] = c
		key := c.EntryID.String() + "/" + strconv.Itoa(c.Attempt)
		if f.perAttempt[key] == nil {
			f.perAttempt[key] = map[uuid.UUID]bool{}
		}
		f.perAttempt[key][c.CallID] = true
	}
	f.mu.Unlock()
	if seen {
		f.redelivery.Add(1) // the same call again (its webhook-id says so): ring nobody twice
	} else {
		f.queue <- c.CallID
	}
	w.WriteHeader(http.StatusNoContent)
}

// report starts the far end's reporters, which tell atende's API that each taken call was not answered.
func (f *farEnd) report(t *testing.T, base string) {
	api, err := client.NewClientWithResponses(base, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+fleetAdminKey)
		return nil
	}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-f.queue:
					for ctx.Err() == nil {
						r, err := api.ReportCallEventWithResponse(ctx, id, client.CallEventCreate{Event: client.CallEventCreateEventNoAnswer})
						if err == nil && r.StatusCode() == http.StatusOK {
							break
						}
						time.Sleep(50 * time.Millisecond)
					}
				}
			}
		})
	}
}

// summary returns how many calls were taken and how many entry attempts got more than one call.
func (f *farEnd) summary() (taken, twice int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, calls := range f.perAttempt {
		if len(calls) > 1 {
			twice++
		}
	}
	return len(f.calls), twice
}

func (f *farEnd) taken() int {
	n, _ := f.summary()
	return n
}

// A worker process SIGKILLed again and again while it drains — three times here, ten with
// ATENDE_FAULT_LONG=1 — loses no entry and calls none twice: each heir rescues what the dead one held.
func TestWorkerKilledRepeatedlyDuringADrain(t *testing.T) {
	n, kills := 2000, 3
	if os.Getenv("ATENDE_FAULT_LONG") == "1" {
		n, kills = 20000, 10
	}
	f := newFleet(t, n, 100)
	f.plinx.SetLatency(sim.OpGetActiveConversation, 50*time.Millisecond)
	env := []string{"ATENDE_WORKERS=1", "ATENDE_WORKER_BATCH=200", "ATENDE_WORKER_LEASE=3s"}
	rescuedBefore := 0 // at least what the last kill left claimed goes back to the queue
	for i := range kills {
		taken, _ := f.phones.summary()
		victim := f.start("worker", env...)
		require.Eventually(t, func() bool {
			now, _ := f.phones.summary()
			return now >= taken+100 && f.count(`SELECT count(*) FROM dial_entries WHERE status = 'claimed'`) > 0
		}, time.Minute, 5*time.Millisecond, "worker %d made no progress with a batch claimed", i+1)
		require.NoError(t, victim.cmd.Process.Signal(syscall.SIGKILL))
		<-victim.done
		victim.done <- nil
		claimed := f.count(`SELECT count(*) FROM dial_entries WHERE status = 'claimed'`)
		t.Logf("kill %d: %d entries claimed, %d calls taken so far", i+1, claimed, f.phones.taken())
		require.Positive(t, claimed, "kill %d caught a batch claimed", i+1)
		rescuedBefore = max(rescuedBefore, claimed)
	}
	f.plinx.SetLatency(sim.OpGetActiveConversation, 0)
	heir := f.start("worker", env...)
	f.waitDrained(3 * time.Minute)
	heir.stop(t)

	f.checkOutcomes(n)
	require.GreaterOrEqual(t, f.count(`SELECT count(*) FROM dial_events WHERE kind = 'lease_rescued'`), rescuedBefore,
		"every entry a killed worker held went back to the queue")
}
