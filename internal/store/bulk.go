package store

// Bulk writes are part of the dialect seam: PostgreSQL loads rows with COPY, SQLite with multi-row INSERTs.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// Copier writes many new rows into a table inside the transaction it was made for.
type Copier interface {
	Copy(ctx context.Context, table string, columns []string, rows [][]any) error
}

// RunInTxBulk runs fn in a transaction, with a Copier writing inside that same transaction.
func (db *DB) RunInTxBulk(ctx context.Context, fn func(ctx context.Context, tx bun.Tx, cp Copier) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("reserve a connection: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var cp Copier = insertCopier{tx: tx}
	if db.Kind == Postgres {
		cp = pgCopier{conn: conn}
	}
	if err := fn(ctx, tx, cp); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := beforeCommit(ctx, tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// pgCopier uses COPY on the transaction's own connection.
type pgCopier struct {
	conn bun.Conn
}

func (c pgCopier) Copy(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	return c.conn.Raw(func(driverConn any) error {
		pc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: not a pgx connection", table)
		}
		if _, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return nativeValues(rows[i]), nil
		})); err != nil {
			return fmt.Errorf("copy into %s: %w", table, err)
		}
		return nil
	})
}

// nativeValues hands pgx values it encodes directly: ids as pgtype.UUID rather than through their
// driver.Valuer (a round trip via text, and several failed encode plans, per value).
func nativeValues(row []any) []any {
	for i, v := range row {
		switch id := v.(type) {
		case uuid.UUID:
			row[i] = pgtype.UUID{Bytes: id, Valid: true}
		case *uuid.UUID:
			if id == nil {
				row[i] = nil
			} else {
				row[i] = pgtype.UUID{Bytes: *id, Valid: true}
			}
		}
	}
	return row
}

// insertCopier writes multi-row INSERTs, a few hundred rows each.
type insertCopier struct {
	tx bun.Tx
}

func (c insertCopier) Copy(ctx context.Context, table string, columns []string, rows [][]any) error {
	const chunk = 200
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO ? (")
		args := make([]any, 0, 1+len(columns)+len(part)*len(columns))
		args = append(args, bun.Ident(table))
		for i, col := range columns {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, bun.Ident(col))
		}
		b.WriteString(") VALUES ")
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
		for i, row := range part {
			if len(row) != len(columns) {
				return fmt.Errorf("copy into %s: row has %d values for %d columns", table, len(row), len(columns))
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, row...)
		}
		if _, err := c.tx.NewRaw(b.String(), args...).Exec(ctx); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

// EstimatedRows is the planner's estimate of a table's size (PostgreSQL's pg_class.reltuples; 0 when the
// table was never analyzed, and always 0 on SQLite, whose planner does not need it for keyed lookups).
func (db *DB) EstimatedRows(ctx context.Context, table string) (int64, error) {
	if db.Kind != Postgres {
		return 0, nil
	}
	var n float64
	err := db.NewRaw("SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)", table).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("estimate rows of %s: %w", table, err)
	}
	return int64(max(n, 0)), nil
}

// Analyze refreshes the planner statistics of tables that grew fast (a bulk load), so that plans cached
// while they were empty — foreign-key checks among them — are made again for their real size, and so that
// SQLite, which keeps no statistics by itself, picks indexes over scans.
func (db *DB) Analyze(ctx context.Context, tables ...string) error {
	if len(tables) == 0 {
		return nil
	}
	if db.Kind == SQLite {
		// SQLite analyzes one table per statement.
		for _, t := range tables {
			if _, err := db.NewRaw("ANALYZE ?", bun.Ident(t)).Exec(ctx); err != nil {
				return fmt.Errorf("analyze %s: %w", t, err)
			}
		}
		return nil
	}
	idents := make([]any, len(tables))
	marks := make([]string, len(tables))
	for i, t := range tables {
		idents[i], marks[i] = bun.Ident(t), "?"
	}
	if _, err := db.NewRaw("ANALYZE "+strings.Join(marks, ", "), idents...).Exec(ctx); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
