package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/store/storetest"
)

func TestMigrationVersionsMatchAcrossDialects(t *testing.T) {
	t.Parallel()
	pg, err := store.Versions(store.Postgres)
	require.NoError(t, err)
	lite, err := store.Versions(store.SQLite)
	require.NoError(t, err)
	require.NotEmpty(t, pg)
	require.Equal(t, pg, lite, "migrations/postgres and migrations/sqlite must carry the same versions")
}

func TestMigrateUpDownUp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect store.Dialect) {
		url := storetest.NewURL(t, dialect)
		latest, err := store.LatestVersion(dialect)
		require.NoError(t, err)

		mg, err := store.NewMigrator(url)
		require.NoError(t, err)
		defer mg.Close()
		v, dirty, err := mg.Version()
		require.NoError(t, err)
		require.False(t, dirty)
		require.Equal(t, latest, v)

		vs, err := store.Versions(dialect)
		require.NoError(t, err)
		require.NoError(t, mg.Down(len(vs)), "every down migration must apply")
		v, _, err = mg.Version()
		require.NoError(t, err)
		require.Zero(t, v)
		require.NoError(t, mg.Up(), "up must apply again after a full down")

		db, err := store.Open(context.Background(), url, store.Options{})
		require.NoError(t, err)
		defer db.Close()
		got, dirty, err := store.SchemaVersion(context.Background(), db)
		require.NoError(t, err)
		require.False(t, dirty)
		require.Equal(t, latest, got)
	})
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]store.Dialect{
		"postgres://u@h/db":    store.Postgres,
		"postgresql://u@h/db":  store.Postgres,
		"sqlite://./var/a.db":  store.SQLite,
		"sqlite:///tmp/x/a.db": store.SQLite,
	} {
		got, err := store.ParseURL(url)
		require.NoError(t, err, url)
		require.Equal(t, want, got, url)
	}
	for _, bad := range []string{"", "mysql://x", "sqlite://", "file:a.db"} {
		_, err := store.ParseURL(bad)
		require.Error(t, err, bad)
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	_, err := store.ParsePage(nil, ptr("not-a-cursor"))
	require.ErrorIs(t, err, store.ErrBadCursor)
	p, err := store.ParsePage(nil, nil)
	require.NoError(t, err)
	require.Equal(t, 50, p.Limit)
}

func ptr[T any](v T) *T { return &v }
