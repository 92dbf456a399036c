package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"go.uber.org/goleak"

	"github.com/atende/atende/internal/events"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait for an event; the safety timer is set far beyond it in most tests, so an event
// that arrives in time was delivered by a wake-up (Poke or NOTIFY).
const wait = 2 * time.Second

var now = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

type bundle struct {
	db     *store.DB
	hub    *events.Hub
	tenant uuid.UUID
	sess   uuid.UUID
}

// setup opens a fresh database, starts a hub on it with a one-minute safety timer (unless opts change it)
// and picks a tenant and a session.
func setup(t *testing.T, dialect store.Dialect, opts ...events.Option) *bundle {
	t.Helper()
	db := storetest.New(t, dialect)
	hub := events.NewHub(db, testLogger(t), append([]events.Option{events.WithPollInterval(time.Minute)}, opts...)...)
	require.NoError(t, hub.Start(context.Background()))
	t.Cleanup(hub.Stop)
	return &bundle{db: db, hub: hub, tenant: uuid.New(), sess: uuid.New()}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// publish commits an event for (tenant, session) in its own transaction and pokes the hub, as a service
// does; it returns the event as stored.
func (b *bundle) publish(t *testing.T, tenant, session uuid.UUID, kind string, n int) events.Event {
	t.Helper()
	ev := events.Event{TenantID: tenant, SessionID: session, Kind: kind, CreatedAt: now,
		Payload: json.RawMessage(fmt.Sprintf(`{"n": %d}`, n))}
	require.NoError(t, store.RunInTx(context.Background(), b.db, func(ctx context.Context, tx bun.Tx) error {
		return events.Publish(ctx, tx, b.db.Kind, &ev)
	}))
	b.hub.Poke(tenant, session)
	return ev
}

func (b *bundle) subscribe(t *testing.T, after uuid.UUID) <-chan events.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := b.hub.Subscribe(ctx, b.tenant, b.sess, after)
	require.NoError(t, err)
	return ch
}

// receive returns the next event of ch, failing after wait.
func receive(t *testing.T, ch <-chan events.Event) events.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "subscription closed")
		return ev
	case <-time.After(wait):
		t.Fatalf("no event within %s", wait)
		return events.Event{}
	}
}

func requireEvent(t *testing.T, want events.Event, ch <-chan events.Event) {
	t.Helper()
	got := receive(t, ch)
	require.Equal(t, want.ID, got.ID, "want %s, got %s (%s)", want.Kind, got.Kind, got.Payload)
	require.Equal(t, want.TenantID, got.TenantID)
	require.Equal(t, want.SessionID, got.SessionID)
	require.Equal(t, want.Kind, got.Kind)
	require.JSONEq(t, string(want.Payload), string(got.Payload))
	require.True(t, want.CreatedAt.Equal(got.CreatedAt), "created_at %s, want %s", got.CreatedAt, want.CreatedAt)
}

func TestSubscribeReplaysAfter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		var stored []events.Event
		for i := range 3 {
			stored = append(stored, b.publish(t, b.tenant, b.sess, "prompt", i))
		}

		resumed := b.subscribe(t, stored[0].ID)
		requireEvent(t, stored[1], resumed)
		requireEvent(t, stored[2], resumed)

		// uuid.Nil replays nothing: the first event it sees is the next one to commit.
		fresh := b.subscribe(t, uuid.Nil)
		next := b.publish(t, b.tenant, b.sess, "call", 3)
		requireEvent(t, next, fresh)
		requireEvent(t, next, resumed)
	})
}

func TestSubscribeReplaysManyPagesInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		// More than one page (256 rows), written in one transaction as a bulk writer would.
		var stored []events.Event
		require.NoError(t, store.RunInTx(context.Background(), b.db, func(ctx context.Context, tx bun.Tx) error {
			for i := range 600 {
				ev := events.Event{TenantID: b.tenant, SessionID: b.sess, Kind: "prompt", CreatedAt: now,
					Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
				if err := events.Publish(ctx, tx, b.db.Kind, &ev); err != nil {
					return err
				}
				stored = append(stored, ev)
			}
			return nil
		}))
		ch := b.subscribe(t, stored[9].ID)
		for _, want := range stored[10:] {
			requireEvent(t, want, ch)
		}
	})
}

func TestSubscribeDeliversNewEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		ch := b.subscribe(t, uuid.Nil)
		for i := range 5 {
			requireEvent(t, b.publish(t, b.tenant, b.sess, "prompt", i), ch)
		}
	})
}

func TestSubscribeIsolatesTenantsAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		ch := b.subscribe(t, uuid.Nil)
		otherTenant, otherSession := uuid.New(), uuid.New()
		// Another tenant's session with the very same id, and another session of the same tenant.
		b.publish(t, otherTenant, b.sess, "prompt", 1)
		b.publish(t, b.tenant, otherSession, "prompt", 2)
		// Newer than both: had either leaked, it would have arrived first.
		mine := b.publish(t, b.tenant, b.sess, "prompt", 3)
		requireEvent(t, mine, ch)

		// The other tenant's subscriber to the same session id sees only its own event.
		theirs, err := b.hub.Subscribe(t.Context(), otherTenant, b.sess, uuid.Nil)
		require.NoError(t, err)
		b.publish(t, b.tenant, b.sess, "prompt", 4)
		own := b.publish(t, otherTenant, b.sess, "prompt", 5)
		requireEvent(t, own, theirs)
	})
}

func TestRolledBackEventIsNeverDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		ch := b.subscribe(t, uuid.Nil)
		errRollback := fmt.Errorf("roll back")
		err := store.RunInTx(t.Context(), b.db, func(ctx context.Context, tx bun.Tx) error {
			ev := events.Event{TenantID: b.tenant, SessionID: b.sess, Kind: "ghost", CreatedAt: now}
			if err := events.Publish(ctx, tx, b.db.Kind, &ev); err != nil {
				return err
			}
			return errRollback
		})
		require.ErrorIs(t, err, errRollback)
		b.hub.Poke(b.tenant, b.sess)
		requireEvent(t, b.publish(t, b.tenant, b.sess, "real", 1), ch)
	})
}

// An event whose transaction commits after a newer event was sent (its id is older) still arrives.
func TestLateCommitIsDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		ch := b.subscribe(t, uuid.Nil)
		olderID, err := uuid.NewV7()
		require.NoError(t, err)
		newer := b.publish(t, b.tenant, b.sess, "newer", 1)
		requireEvent(t, newer, ch)

		late := events.Event{ID: olderID, TenantID: b.tenant, SessionID: b.sess, Kind: "late", CreatedAt: now}
		require.NoError(t, events.Publish(t.Context(), b.db, b.db.Kind, &late))
		b.hub.Poke(b.tenant, b.sess)
		requireEvent(t, late, ch)
		// And it is sent once: the next event is the next one.
		requireEvent(t, b.publish(t, b.tenant, b.sess, "next", 2), ch)
	})
}

// A consumer that does not read holds up neither the hub nor other subscribers, and loses nothing.
func TestSlowConsumer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect, events.WithBuffer(1))
		slow := b.subscribe(t, uuid.Nil)
		fast := b.subscribe(t, uuid.Nil)
		var stored []events.Event
		for i := range 20 {
			ev := b.publish(t, b.tenant, b.sess, "prompt", i)
			stored = append(stored, ev)
			requireEvent(t, ev, fast)
		}
		for _, want := range stored {
			requireEvent(t, want, slow)
		}
	})
}

// With no wake-up at all (no Poke, and on SQLite no NOTIFY), the safety timer delivers.
func TestSafetyTimerDelivers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect, events.WithPollInterval(50*time.Millisecond))
		ch := b.subscribe(t, uuid.Nil)
		insertQuietly(t, b.db, b.tenant, b.sess, "quiet")
		require.Equal(t, "quiet", receive(t, ch).Kind)
	})
}

func TestSubscriptionEnds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		ctx, cancel := context.WithCancel(t.Context())
		byCtx, err := b.hub.Subscribe(ctx, b.tenant, b.sess, uuid.Nil)
		require.NoError(t, err)
		byStop := b.subscribe(t, uuid.Nil)

		cancel()
		requireClosed(t, byCtx)
		b.hub.Stop()
		requireClosed(t, byStop)
		_, err = b.hub.Subscribe(t.Context(), b.tenant, b.sess, uuid.Nil)
		require.ErrorIs(t, err, events.ErrStopped)
		require.ErrorIs(t, b.hub.Start(t.Context()), events.ErrStopped)
	})
}

func requireClosed(t *testing.T, ch <-chan events.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.False(t, ok, "got event %s, want a closed channel", ev.Kind)
	case <-time.After(wait):
		t.Fatalf("subscription still open after %s", wait)
	}
}

func TestPublishValidatesAndNormalises(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		valid := func() events.Event {
			return events.Event{TenantID: b.tenant, SessionID: b.sess, Kind: "prompt", CreatedAt: now}
		}
		for name, edit := range map[string]func(*events.Event){
			"no tenant":      func(e *events.Event) { e.TenantID = uuid.Nil },
			"no session":     func(e *events.Event) { e.SessionID = uuid.Nil },
			"no kind":        func(e *events.Event) { e.Kind = "" },
			"multiline kind": func(e *events.Event) { e.Kind = "a\nb" },
			"no time":        func(e *events.Event) { e.CreatedAt = time.Time{} },
			"not json":       func(e *events.Event) { e.Payload = json.RawMessage(`{"a":`) },
		} {
			ev := valid()
			edit(&ev)
			require.ErrorIs(t, events.Publish(t.Context(), b.db, b.db.Kind, &ev), events.ErrInvalidEvent, name)
		}

		ev := valid()
		ev.CreatedAt = time.Date(2026, 3, 2, 11, 30, 0, 123456789, time.FixedZone("BRT", -3*3600))
		ev.Payload = json.RawMessage("{\n  \"agent\": \"Ana\"\n}")
		require.NoError(t, events.Publish(t.Context(), b.db, b.db.Kind, &ev))
		require.Equal(t, uuid.Version(7), ev.ID.Version())
		require.Equal(t, `{"agent":"Ana"}`, string(ev.Payload))
		require.Equal(t, time.Date(2026, 3, 2, 14, 30, 0, 123456000, time.UTC), ev.CreatedAt)

		empty := valid()
		require.NoError(t, events.Publish(t.Context(), b.db, b.db.Kind, &empty))
		require.Equal(t, `{}`, string(empty.Payload))

		var stored []events.Event
		require.NoError(t, b.db.NewSelect().Model(&stored).Where("se.tenant_id = ?", b.tenant).OrderExpr("se.id").Scan(t.Context()))
		require.Len(t, stored, 2)
		require.Equal(t, ev.ID, stored[0].ID)
		require.True(t, ev.CreatedAt.Equal(stored[0].CreatedAt))
		require.JSONEq(t, string(ev.Payload), string(stored[0].Payload))
	})
}

// insertQuietly writes an event straight into the table: no NOTIFY, no Poke.
func insertQuietly(t *testing.T, db *store.DB, tenant, session uuid.UUID, kind string) events.Event {
	t.Helper()
	ev := events.Event{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, SessionID: session, Kind: kind,
		Payload: json.RawMessage(`{}`), CreatedAt: now}
	_, err := db.NewInsert().Model(&ev).Exec(t.Context())
	require.NoError(t, err)
	return ev
}
