package store

import (
	"encoding/base64"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// ErrBadCursor is returned for a cursor this server did not issue.
var ErrBadCursor = errors.New("the cursor is not one this server issued")

// Page asks for one page of a list ordered by id (ids are UUIDv7, so by creation time).
type Page struct {
	Limit int
	// After is the last id of the previous page; zero for the first page.
	After uuid.UUID
	// Desc lists newest first.
	Desc bool
}

// ParsePage builds a Page from the API's limit and cursor.
func ParsePage(limit *int, cursor *string) (Page, error) {
	p := Page{Limit: 50}
	if limit != nil {
		p.Limit = *limit
	}
	if cursor != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*cursor)
		if err != nil || len(raw) != 16 {
			return Page{}, ErrBadCursor
		}
		copy(p.After[:], raw)
	}
	return p, nil
}

// Apply orders q by the id column and restricts it to the page, asking for one extra row to know whether
// another page follows.
func (p Page) Apply(q *bun.SelectQuery, idColumn string) *bun.SelectQuery {
	if p.Desc {
		if p.After != uuid.Nil {
			q = q.Where("? < ?", bun.Ident(idColumn), p.After)
		}
		return q.OrderExpr("? DESC", bun.Ident(idColumn)).Limit(int64(p.Limit) + 1)
	}
	if p.After != uuid.Nil {
		q = q.Where("? > ?", bun.Ident(idColumn), p.After)
	}
	return q.OrderExpr("? ASC", bun.Ident(idColumn)).Limit(int64(p.Limit) + 1)
}

// Trim cuts the extra row Apply asked for and returns the cursor of the next page, or "" on the last page.
func Trim[T any](p Page, rows []T, id func(T) uuid.UUID) ([]T, string) {
	if len(rows) <= p.Limit {
		return rows, ""
	}
	rows = rows[:p.Limit]
	last := id(rows[len(rows)-1])
	return rows, base64.RawURLEncoding.EncodeToString(last[:])
}
