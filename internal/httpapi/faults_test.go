package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/config"
	"github.com/atende/atende/internal/idempotency"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// dbProxy stands between atende and PostgreSQL on loopback, so a test can take the database away — every
// open connection reset, new ones refused — and bring it back, as a restart or a network cut does.
type dbProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &dbProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	go p.serve()
	return p
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

// cut resets every connection and refuses new ones until restore.
func (p *dbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *dbProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// through rewrites a database URL to reach the database through the proxy.
func (p *dbProxy) through(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.Host = p.ln.Addr().String()
	return u.String()
}

// outcome is one answer the writers saw.
type outcome struct {
	key    string
	status int
	at     time.Time
}

// PostgreSQL goes away under load and comes back: while it is away every request answers a 503 problem
// with Retry-After, never a 500; atende reconnects by itself; every contact answered 201 is there, every one
// answered 503 is created by a retry with its Idempotency-Key, and none twice — not even one whose write
// committed as the connection died.
func TestDatabaseOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	if !slicesContains(storetest.Dialects(t), store.Postgres) {
		t.Skip("the outage is a cut between atende and PostgreSQL: set ATENDE_TEST_POSTGRES_URL")
	}
	var proxy *dbProxy
	env := apitest.New(t, store.Postgres, apitest.Options{Quiet: true, Configure: func(c *config.Config) {
		pgURL, err := url.Parse(c.DatabaseURL)
		require.NoError(t, err)
		proxy = newDBProxy(t, pgURL.Host)
		c.DatabaseURL = proxy.through(t, c.DatabaseURL)
		c.RequestTimeout = 2 * time.Second
	}})
	outage := 3 * time.Second
	if longFaults() {
		outage = 20 * time.Second
	}
	// With ATENDE_FAULT_RESTART_POSTGRES=1 (make test-postgres-restart, run alone) the cluster itself is
	// stopped and started instead of cut away.
	down, up := proxy.cut, proxy.restore
	if os.Getenv("ATENDE_FAULT_RESTART_POSTGRES") == "1" {
		down, up = restartablePostgres(t)
	}

	var (
		mu       sync.Mutex
		outcomes []outcome
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	body := func(key string) []byte { return fmt.Appendf(nil, `{"name": "Cliente %s"}`, key) }
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("w%d-%04d", w, i)
				resp, b := env.Do(http.MethodPost, "/v1/contacts", env.AdminKey, body(key), map[string]string{"Idempotency-Key": key})
				if resp.StatusCode == http.StatusServiceUnavailable {
					p := env.Problem(resp, b, http.StatusServiceUnavailable)
					if p.Type != "urn:atende:problem:unavailable" || resp.Header.Get("Retry-After") == "" {
						t.Errorf("a 503 without its problem type or Retry-After: %s %v", b, resp.Header)
					}
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{key: key, status: resp.StatusCode, at: time.Now()})
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	time.Sleep(time.Second)
	cutAt := time.Now()
	down()
	time.Sleep(outage / 2)
	resp, _ := env.Do(http.MethodGet, "/readyz", "", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "not ready while the database is away")
	time.Sleep(outage / 2)
	up()
	backAt := time.Now()
	require.Eventually(t, func() bool {
		resp, _ := env.Do(http.MethodGet, "/readyz", "", nil, nil)
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "atende did not reconnect by itself")
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	var unavailable, createdAfter int
	for _, o := range outcomes {
		switch {
		case o.status == http.StatusServiceUnavailable:
			unavailable++
			require.True(t, o.at.After(cutAt), "503 before the database went away: %s", o.key)
		case o.status == http.StatusCreated:
			if o.at.After(backAt) {
				createdAfter++
			}
		default:
			t.Fatalf("%s answered %d: only 201 or 503 are right", o.key, o.status)
		}
	}
	t.Logf("%d requests: %d answered 503 while the database was away, %d created after it came back", len(outcomes), unavailable, createdAfter)
	require.Positive(t, unavailable, "the outage was seen")
	require.Positive(t, createdAfter, "writes resumed by themselves")
	require.NotContains(t, env.Logs(), `"status":500`, "no request answered 500")

	// Clients retry what answered 503 with the same key; a key whose first attempt died holding it is free
	// again after the idempotency lock.
	env.Clock.Advance(idempotency.DefaultLock + time.Second)
	applied := 0
	for _, o := range outcomes {
		if o.status != http.StatusServiceUnavailable {
			continue
		}
		resp, b := env.Do(http.MethodPost, "/v1/contacts", env.AdminKey, body(o.key), map[string]string{"Idempotency-Key": o.key})
		if resp.StatusCode == http.StatusConflict {
			// Its write had committed as the connection died: applied once, and not again.
			require.Equal(t, "urn:atende:problem:idempotency-key-applied", env.Problem(resp, b, http.StatusConflict).Type)
			applied++
			continue
		}
		require.Equal(t, http.StatusCreated, resp.StatusCode, "retry of %s: %s", o.key, b)
	}
	t.Logf("%d retries found their write already applied", applied)

	// Nothing lost: every request has its contact.
	var names []string
	require.NoError(t, env.App.DB.NewSelect().Table("contacts").Column("name").Scan(context.Background(), &names))
	count := map[string]int{}
	for _, n := range names {
		count[n]++
	}
	for _, o := range outcomes {
		require.Equal(t, 1, count["Cliente "+o.key], "the contact of %s (answered %d) must exist exactly once", o.key, o.status)
	}
	require.Len(t, names, len(outcomes))
}

// With every connection of the pool held, requests wait up to the request timeout and then answer a 503
// problem, writing nothing; once connections are free again, requests are served.
func TestFullPoolAnswers503InTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		const conns = 2
		env := apitest.New(t, dialect, apitest.Options{Configure: func(c *config.Config) {
			c.DatabaseMaxConns = conns
			c.RequestTimeout = time.Second
		}})
		ctx := context.Background()
		// Authenticate once, so the key's use is recorded before the pool fills.
		resp, b := env.Do(http.MethodGet, "/v1/me", env.AdminKey, nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))

		held := conns
		if dialect == store.SQLite {
			held = 1 // SQLite's pool is one connection
		}
		var txs []interface{ Rollback() error }
		for range held {
			tx, err := env.App.DB.BeginTx(ctx, nil)
			require.NoError(t, err)
			txs = append(txs, tx)
		}
		start := time.Now()
		resp, b = env.Do(http.MethodPost, "/v1/contacts", env.AdminKey, []byte(`{"name": "Esperando"}`), map[string]string{"Idempotency-Key": uuid.NewString()})
		took := time.Since(start)
		p := env.Problem(resp, b, http.StatusServiceUnavailable)
		require.Equal(t, "urn:atende:problem:unavailable", p.Type)
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		require.Less(t, took, 10*time.Second, "answered within the request timeout, not hung")
		resp, _ = env.Do(http.MethodGet, "/v1/contacts", env.AdminKey, nil, nil)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

		for _, tx := range txs {
			require.NoError(t, tx.Rollback())
		}
		resp, b = env.Do(http.MethodPost, "/v1/contacts", env.AdminKey, []byte(`{"name": "Atendido"}`), nil)
		require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
		var names []string
		require.NoError(t, env.App.DB.NewSelect().Table("contacts").Column("name").Scan(ctx, &names))
		require.Equal(t, []string{"Atendido"}, names, "the request that timed out wrote nothing")
		require.NotContains(t, env.Logs(), `"status":500`)
	})
}

// restartablePostgres returns functions stopping and starting the local PostgreSQL cluster, and makes sure
// it runs again when the test ends.
func restartablePostgres(t *testing.T) (stop, start func()) {
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		t.Skip("no local PostgreSQL cluster to restart")
	}
	ctl := func(action string) {
		out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", action, "-m", "fast").CombinedOutput()
		if action == "start" {
			out, err = exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "start").CombinedOutput()
		}
		if err != nil && !strings.Contains(string(out), "already running") {
			t.Errorf("pg_ctlcluster %s: %v: %s", action, err, out)
		}
	}
	t.Cleanup(func() { ctl("start") })
	return func() { ctl("stop") }, func() { ctl("start") }
}

// longFaults reports whether the fault tests run their long versions (ATENDE_FAULT_LONG=1).
func longFaults() bool { return os.Getenv("ATENDE_FAULT_LONG") == "1" }

func slicesContains(ds []store.Dialect, d store.Dialect) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}
