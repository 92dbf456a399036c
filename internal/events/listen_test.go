package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// openDB opens its own pool on url, as another process would.
func openDB(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url, store.Options{MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func startHub(t *testing.T, db *store.DB, opts ...events.Option) *events.Hub {
	t.Helper()
	hub := events.NewHub(db, testLogger(t), append([]events.Option{events.WithPollInterval(time.Minute)}, opts...)...)
	require.NoError(t, hub.Start(context.Background()))
	t.Cleanup(hub.Stop)
	return hub
}

// listeners returns the backends of this test's database that are listening (their last query was
// LISTEN). Every test has its own database, so parallel tests never see each other's listeners.
func listeners(t *testing.T, db *store.DB) []int32 {
	t.Helper()
	var pids []int32
	require.NoError(t, db.NewRaw(`SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' ORDER BY pid`).Scan(t.Context(), &pids))
	return pids
}

func waitListeners(t *testing.T, db *store.DB, n int) []int32 {
	t.Helper()
	var pids []int32
	require.Eventually(t, func() bool {
		pids = listeners(t, db)
		return len(pids) == n
	}, wait, 10*time.Millisecond, "want %d listeners", n)
	return pids
}

// publishOnly publishes without Poke: only NOTIFY can wake subscribers in time.
func publishOnly(t *testing.T, db *store.DB, tenant, session uuid.UUID, kind string) events.Event {
	t.Helper()
	ev := events.Event{TenantID: tenant, SessionID: session, Kind: kind, CreatedAt: now}
	require.NoError(t, events.Publish(t.Context(), db, db.Kind, &ev))
	return ev
}

// Two processes share one PostgreSQL: an event published through one is delivered by the other's hub,
// woken by NOTIFY (the safety timer is a minute away, and nobody pokes).
func TestNotifyCrossesProcesses(t *testing.T) {
	t.Parallel()
	url := storetest.NewURL(t, store.Postgres)
	writerDB, readerDB := openDB(t, url), openDB(t, url)
	writerHub, readerHub := startHub(t, writerDB), startHub(t, readerDB)
	tenant, session := uuid.New(), uuid.New()
	reader, err := readerHub.Subscribe(t.Context(), tenant, session, uuid.Nil)
	require.NoError(t, err)
	local, err := writerHub.Subscribe(t.Context(), tenant, session, uuid.Nil)
	require.NoError(t, err)
	waitListeners(t, readerDB, 2)

	for i := range 3 {
		start := time.Now()
		ev := publishOnly(t, writerDB, tenant, session, "call")
		requireEvent(t, ev, reader)
		requireEvent(t, ev, local)
		t.Logf("event %d delivered across processes in %s", i, time.Since(start))
	}
}

// When the listener's backend is killed, the hub reconnects, catches up on what committed while it was
// away, and is woken by NOTIFY again.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	db := storetest.New(t, store.Postgres)
	hub := startHub(t, db, events.WithReconnectBackoff(time.Second, time.Second))
	tenant, session := uuid.New(), uuid.New()
	ch, err := hub.Subscribe(t.Context(), tenant, session, uuid.Nil)
	require.NoError(t, err)
	first := waitListeners(t, db, 1)[0]
	requireEvent(t, publishOnly(t, db, tenant, session, "before"), ch)

	_, err = db.NewRaw(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Exec(t.Context())
	require.NoError(t, err)
	waitListeners(t, db, 0)
	// Written while nobody listens (the reconnect is at least half a second away) and without NOTIFY:
	// only the wake-up that follows the reconnect can deliver it before the one-minute safety timer.
	requireEvent(t, insertQuietly(t, db, tenant, session, "while away"), ch)

	second := waitListeners(t, db, 1)[0]
	require.NotEqual(t, first, second)
	requireEvent(t, publishOnly(t, db, tenant, session, "after"), ch)
}
