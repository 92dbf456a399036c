package idempotency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/idempotency"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

func TestKeyLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
		s := idempotency.NewStore(storetest.New(t, dialect).DB, clk)
		hash := idempotency.Fingerprint("POST", "/v1/users", []byte(`{"a":1}`))
		other := idempotency.Fingerprint("POST", "/v1/users", []byte(`{"a":2}`))

		d, _, err := s.Begin(ctx, "key:1", "k", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.Proceed, d)

		d, _, err = s.Begin(ctx, "key:1", "k", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.InFlight, d, "the first request still holds the key")
		d, _, err = s.Begin(ctx, "key:1", "k", other)
		require.NoError(t, err)
		require.Equal(t, idempotency.Mismatch, d)
		d, _, err = s.Begin(ctx, "key:2", "k", other)
		require.NoError(t, err)
		require.Equal(t, idempotency.Proceed, d, "scopes do not share keys")

		require.NoError(t, s.Complete(ctx, "key:1", "k", 201, map[string]string{"Location": "/v1/users/x"}, []byte(`{"id":"x"}`)))
		d, rec, err := s.Begin(ctx, "key:1", "k", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.Replay, d)
		require.Equal(t, 201, rec.ResponseStatus)
		require.Equal(t, "/v1/users/x", rec.ResponseHeaders["Location"])
		require.Equal(t, `{"id":"x"}`, string(rec.ResponseBody))

		// A holder that died: after the lock the same request may take the key over.
		d, _, err = s.Begin(ctx, "key:1", "crashed", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.Proceed, d)
		clk.Advance(idempotency.DefaultLock + time.Second)
		d, _, err = s.Begin(ctx, "key:1", "crashed", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.Proceed, d)

		// Released keys (server errors) can be retried at once.
		require.NoError(t, s.Release(ctx, "key:1", "crashed"))
		d, _, err = s.Begin(ctx, "key:1", "crashed", other)
		require.NoError(t, err)
		require.Equal(t, idempotency.Proceed, d)

		clk.Advance(idempotency.DefaultTTL)
		n, err := s.Sweep(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
	})
}

// A request that committed a write and then failed keeps its key: Release leaves it, and retries — after the
// lock too — are told the request was applied instead of running it again. A transaction that rolls back
// records nothing.
func TestAKeyWhoseWriteCommittedIsNeverRunAgain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
		db := storetest.New(t, dialect)
		s := idempotency.NewStore(db.DB, clk)
		hash := idempotency.Fingerprint("POST", "/v1/contacts", []byte(`{"name":"Ana"}`))

		for _, key := range []string{"rolled-back", "applied"} {
			d, _, err := s.Begin(ctx, "key:1", key, hash)
			require.NoError(t, err)
			require.Equal(t, idempotency.Proceed, d)
		}
		failed := store.RunInTx(s.Applying(ctx, "key:1", "rolled-back"), db, func(ctx context.Context, tx bun.Tx) error {
			return errors.New("the write failed")
		})
		require.Error(t, failed)
		require.NoError(t, store.RunInTx(s.Applying(ctx, "key:1", "applied"), db, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, "SELECT 1")
			return err
		}))

		d, _, err := s.Begin(ctx, "key:1", "applied", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.InFlight, d, "while its request may still answer, the key is in flight")

		// The server failed before answering both: the rolled-back key is free, the applied one is not.
		require.NoError(t, s.Release(ctx, "key:1", "rolled-back"))
		require.NoError(t, s.Release(ctx, "key:1", "applied"))
		d, _, err = s.Begin(ctx, "key:1", "rolled-back", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.Proceed, d)
		d, _, err = s.Begin(ctx, "key:1", "applied", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.Applied, d, "released: applied at once")
		clk.Advance(idempotency.DefaultLock + time.Second)
		d, _, err = s.Begin(ctx, "key:1", "applied", hash)
		require.NoError(t, err)
		require.Equal(t, idempotency.Applied, d, "and never taken over")
	})
}
