// Package storetest gives each test its own freshly migrated database, on SQLite always and on PostgreSQL
// when ATENDE_TEST_POSTGRES_URL is set (required when ATENDE_TEST_REQUIRE_POSTGRES=1).
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/migrations"
)

// Environment variables read by this package.
const (
	EnvPostgresURL     = "ATENDE_TEST_POSTGRES_URL"
	EnvRequirePostgres = "ATENDE_TEST_REQUIRE_POSTGRES"
)

// Dialects lists the dialects tests run on here. It fails the test when PostgreSQL is required but not
// configured.
func Dialects(t testing.TB) []store.Dialect {
	t.Helper()
	if os.Getenv(EnvPostgresURL) != "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	if os.Getenv(EnvRequirePostgres) == "1" {
		t.Fatalf("%s=1 but %s is not set", EnvRequirePostgres, EnvPostgresURL)
	}
	return []store.Dialect{store.SQLite}
}

// Each runs fn as a subtest per dialect, in parallel.
func Each(t *testing.T, fn func(t *testing.T, dialect store.Dialect)) {
	t.Helper()
	for _, d := range Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// NewURL creates a fresh, migrated database for the test and returns its URL. It is dropped when the test
// ends.
func NewURL(t testing.TB, dialect store.Dialect) string {
	t.Helper()
	switch dialect {
	case store.SQLite:
		u := "sqlite://" + filepath.Join(t.TempDir(), "atende.db")
		if err := store.MigrateUp(u); err != nil {
			t.Fatalf("migrate sqlite: %v", err)
		}
		return u
	case store.Postgres:
		return newPostgres(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// New opens a fresh, migrated database for the test; it is closed and dropped when the test ends.
func New(t testing.TB, dialect store.Dialect) *store.DB {
	t.Helper()
	u := NewURL(t, dialect)
	db, err := store.Open(context.Background(), u, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// newPostgres copies a migrated template database, built once per migration set, into a new database.
func newPostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("%s=1 but %s is not set", EnvRequirePostgres, EnvPostgresURL)
		}
		t.Skipf("%s is not set", EnvPostgresURL)
	}
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, base) })
	if templateErr != nil {
		t.Fatalf("prepare postgres template: %v", templateErr)
	}
	name := "atende_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop test database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return withDatabase(base, name)
}

// ensureTemplate creates the template for the current migrations unless another test process already did.
func ensureTemplate(ctx context.Context, base string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "atende_tmpl_" + sum[:16]
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	// Serialise template creation across the test binaries `go test ./...` runs in parallel.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(727001)"); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(727001)") //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return "", err
	}
	if err := store.MigrateUp(withDatabase(base, building)); err != nil {
		return "", err
	}
	// Rename only once complete, so a crash never leaves a half-migrated template behind.
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	dropStaleTemplates(ctx, conn, name)
	return name, nil
}

// dropStaleTemplates removes templates built from older migration sets; one still in use stays.
func dropStaleTemplates(ctx context.Context, conn *pgx.Conn, keep string) {
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'atende_tmpl_%' AND datname <> $1", keep)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		_, _ = conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s", pgx.Identifier{n}.Sanitize()))
	}
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}
