// Package store opens atende's database — PostgreSQL or SQLite behind one bun.DB — runs its embedded
// migrations, and holds the few helpers every repository shares (transactions, pagination, error kinds).
package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Dialect names the database behind a DB.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is an open atende database.
type DB struct {
	*bun.DB
	// Kind is the database's dialect, for the few places (migrations, bulk writes, claims) that differ.
	Kind Dialect
	url  string
}

// Options tunes Open.
type Options struct {
	// MaxConns caps the PostgreSQL pool; SQLite always has a single connection (one writer).
	MaxConns int
}

// ParseURL tells the dialect of a database URL: postgres://, postgresql:// or sqlite://path.
func ParseURL(url string) (Dialect, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return Postgres, nil
	case strings.HasPrefix(url, "sqlite://"):
		if strings.TrimPrefix(url, "sqlite://") == "" {
			return "", fmt.Errorf("database URL %q has no file path", url)
		}
		return SQLite, nil
	default:
		return "", fmt.Errorf("database URL must start with postgres://, postgresql:// or sqlite://")
	}
}

// Open connects to the database at url and checks that it answers. It does not migrate.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	dialect, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	sqldb, err := openSQL(dialect, url)
	if err != nil {
		return nil, err
	}
	switch dialect {
	case Postgres:
		maxConns := opts.MaxConns
		if maxConns < 1 {
			maxConns = 10
		}
		sqldb.SetMaxOpenConns(maxConns)
		sqldb.SetMaxIdleConns(maxConns)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
	case SQLite:
		// One connection: SQLite has one writer, and a single connection makes every transaction a
		// writer transaction without "database is locked" races.
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxIdleTime(0)
		sqldb.SetConnMaxLifetime(0)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pingCtx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	db := &DB{DB: bun.NewDB(sqldb, bunDialect(dialect)), Kind: dialect, url: url}
	if dialect == SQLite {
		// Statistics for tables that have none or changed much since (0x10000: check every table).
		if _, err := db.ExecContext(pingCtx, "PRAGMA optimize=0x10002"); err != nil {
			_ = sqldb.Close()
			return nil, fmt.Errorf("optimize sqlite database: %w", err)
		}
	}
	return db, nil
}

// Optimize refreshes the planner statistics that went stale. SQLite has no autovacuum to do it, and without
// statistics its planner can scan a whole table where an index would do; PostgreSQL's autovacuum does it,
// so this does nothing there. Run it from time to time.
func (db *DB) Optimize(ctx context.Context) error {
	if db.Kind != SQLite {
		return nil
	}
	if _, err := db.ExecContext(ctx, "PRAGMA optimize"); err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	return nil
}

// URL returns the URL the database was opened with.
func (db *DB) URL() string { return db.url }

// RunInTx runs fn in a transaction on db, committing when fn returns nil and rolling back otherwise. Pass
// the bun.Tx on to repositories, which take bun.IDB so they work inside and outside transactions. What
// WithBeforeCommit put in ctx runs last, inside the transaction.
func RunInTx(ctx context.Context, db bun.IDB, fn func(ctx context.Context, tx bun.Tx) error) error {
	return db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return beforeCommit(ctx, tx)
	})
}

// Lock adds a row-locking clause ("UPDATE", "SHARE", "UPDATE SKIP LOCKED", …) to q on PostgreSQL. SQLite has
// one writer, whose transaction holds the whole database, so q is left as it is there.
func Lock(kind Dialect, q *bun.SelectQuery, clause string) *bun.SelectQuery {
	if kind == Postgres {
		return q.For(clause)
	}
	return q
}

type beforeCommitKey struct{}

// WithBeforeCommit returns a context under which every transaction of RunInTx and RunInTxBulk runs fn just
// before it commits, inside it: what fn writes commits with the transaction's own writes, or not at all.
func WithBeforeCommit(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) context.Context {
	return context.WithValue(ctx, beforeCommitKey{}, fn)
}

func beforeCommit(ctx context.Context, tx bun.Tx) error {
	if fn, ok := ctx.Value(beforeCommitKey{}).(func(context.Context, bun.Tx) error); ok {
		return fn(ctx, tx)
	}
	return nil
}
