package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/atende/atende/migrations"
)

// Migrator applies the embedded migrations to one database. It holds its own connection, because
// golang-migrate's drivers close the *sql.DB they are given.
type Migrator struct {
	m *migrate.Migrate
}

// NewMigrator opens a migration session on the database at url.
func NewMigrator(url string) (*Migrator, error) {
	dialect, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	src, err := iofs.New(migrations.FS, string(dialect))
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	sqldb, err := openSQL(dialect, url)
	if err != nil {
		return nil, err
	}
	var drv database.Driver
	switch dialect {
	case Postgres:
		drv, err = migratepgx.WithInstance(sqldb, &migratepgx.Config{})
	case SQLite:
		drv, err = migratesqlite.WithInstance(sqldb, &migratesqlite.Config{})
	}
	if err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("open migration driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, string(dialect), drv)
	if err != nil {
		_ = drv.Close()
		return nil, fmt.Errorf("start migrations: %w", err)
	}
	return &Migrator{m: m}, nil
}

// Up applies every pending migration.
func (mg *Migrator) Up() error {
	if err := mg.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// Down reverts the last steps migrations.
func (mg *Migrator) Down(steps int) error {
	if steps < 1 {
		return fmt.Errorf("migrate down: steps must be at least 1")
	}
	if err := mg.m.Steps(-steps); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// Version returns the applied version (0 when none) and whether a failed migration left it dirty.
func (mg *Migrator) Version() (uint, bool, error) {
	v, dirty, err := mg.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, dirty, err
}

// Close releases the migration session's connection.
func (mg *Migrator) Close() error {
	srcErr, dbErr := mg.m.Close()
	return errors.Join(srcErr, dbErr)
}

// MigrateUp applies every pending migration to the database at url.
func MigrateUp(url string) error {
	mg, err := NewMigrator(url)
	if err != nil {
		return err
	}
	defer mg.Close()
	return mg.Up()
}

// Versions lists the migration versions embedded for a dialect, in order.
func Versions(d Dialect) ([]uint, error) {
	entries, err := fs.ReadDir(migrations.FS, string(d))
	if err != nil {
		return nil, err
	}
	seen := map[uint]bool{}
	for _, e := range entries {
		name := e.Name()
		i := strings.IndexByte(name, '_')
		if i < 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNNNN_name.up.sql or .down.sql", d, name)
		}
		v, err := strconv.ParseUint(name[:i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s/%s: %w", d, name, err)
		}
		seen[uint(v)] = true
	}
	out := make([]uint, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// LatestVersion is the newest migration version embedded for a dialect.
func LatestVersion(d Dialect) (uint, error) {
	vs, err := Versions(d)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	return vs[len(vs)-1], nil
}

// SchemaVersion reads the version and dirty flag golang-migrate recorded in the database.
func SchemaVersion(ctx context.Context, db *DB) (uint, bool, error) {
	var rows []struct {
		Version int64 `bun:"version"`
		Dirty   bool  `bun:"dirty"`
	}
	if err := db.NewRaw("SELECT version, dirty FROM schema_migrations").Scan(ctx, &rows); err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	if len(rows) == 0 {
		return 0, false, nil
	}
	return uint(rows[0].Version), rows[0].Dirty, nil
}
