package store

// This file is the dialect seam: everything that differs between PostgreSQL and SQLite at the connection
// level lives here.

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/schema"
	"modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"
)

func openSQL(dialect Dialect, url string) (*sql.DB, error) {
	switch dialect {
	case Postgres:
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// bun sends every query with its values already in the text, so each is unique: pgx's default of
		// preparing and caching statements would cost a round trip per query and fill its cache for nothing.
		if !strings.Contains(url, "default_query_exec_mode") {
			cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		}
		return stdlib.OpenDB(*cfg), nil
	case SQLite:
		dsn, err := sqliteDSN(url)
		if err != nil {
			return nil, err
		}
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		return db, nil
	}
	return nil, fmt.Errorf("unknown dialect %q", dialect)
}

// sqliteDSN turns sqlite://path into the modernc driver's DSN: WAL, a busy timeout, foreign keys on,
// statistics sampled (bounded ANALYZE), and immediate transactions so a transaction never has to upgrade its
// lock midway.
func sqliteDSN(url string) (string, error) {
	path := strings.TrimPrefix(url, "sqlite://")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", fmt.Errorf("create the directory of the sqlite database: %w", err)
		}
	}
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_pragma=analysis_limit(1000)&_txlock=immediate", nil
}

func bunDialect(d Dialect) schema.Dialect {
	if d == Postgres {
		return pgdialect.New()
	}
	return sqlitedialect.New()
}

// IsUniqueViolation reports whether err is a unique or primary-key constraint violation.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlitelib.SQLITE_CONSTRAINT_UNIQUE || code == sqlitelib.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsUnavailable reports whether err says the database could not be reached or is going away: a refused,
// reset or closed connection, a connection timeout, or PostgreSQL shutting down or starting up. The request
// that met it may succeed later; it is not a bug.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin or crash shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &connectErr), errors.As(err, &opErr), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		pgconn.SafeToRetry(err):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	// pgx reports a connection lost mid-query in words only.
	msg := err.Error()
	for _, words := range []string{"conn closed", "failed to receive message", "failed to write", "failed to connect",
		"closed network connection"} {
		if strings.Contains(msg, words) {
			return true
		}
	}
	return false
}

// IsRetryable reports whether err aborted a transaction that may succeed when run again: a deadlock or a
// serialization failure on PostgreSQL.
func IsRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
