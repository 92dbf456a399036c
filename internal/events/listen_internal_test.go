package events

import (
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

// The listener's health checks (a ping after each quiet interval) keep the same connection listening.
func TestListenerSurvivesHealthChecks(t *testing.T) {
	t.Parallel()
	db := storetest.New(t, store.Postgres)
	hub := NewHub(db, slog.New(slog.NewTextHandler(t.Output(), nil)), WithPollInterval(time.Minute))
	hub.cfg.healthInterval = 20 * time.Millisecond
	require.NoError(t, hub.Start(t.Context()))
	t.Cleanup(hub.Stop)
	tenant, session := uuid.New(), uuid.New()
	ch, err := hub.Subscribe(t.Context(), tenant, session, uuid.Nil)
	require.NoError(t, err)

	pingedBy := func() []int32 {
		var pids []int32
		require.NoError(t, db.NewRaw(`SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'atende events listener'
			AND query = '-- ping'`).Scan(t.Context(), &pids))
		return pids
	}
	var pinged []int32
	require.Eventually(t, func() bool { pinged = pingedBy(); return len(pinged) == 1 }, 2*time.Second, 10*time.Millisecond)

	for range 3 {
		ev := Event{TenantID: tenant, SessionID: session, Kind: "prompt", CreatedAt: time.Now()}
		require.NoError(t, Publish(t.Context(), db, db.Kind, &ev))
		select {
		case got := <-ch:
			require.Equal(t, ev.ID, got.ID)
		case <-time.After(2 * time.Second):
			t.Fatal("no event after health checks")
		}
	}
	require.Eventually(t, func() bool {
		now := pingedBy()
		return len(now) == 1 && now[0] == pinged[0]
	}, 2*time.Second, 10*time.Millisecond, "the listener reconnected")
}
