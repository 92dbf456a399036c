// Package events carries events for agents' screens (prompts, calls) from whoever writes them to the
// screens that show them, as Server-Sent Events, across processes.
//
// An event is a row of session_events written with Publish in the writer's own transaction, so it exists
// exactly when the state change it reports does. Readers never receive an event through memory: a Hub
// subscription reads the table, and wake-ups only tell it when to read again. On PostgreSQL the wake-up is
// a NOTIFY sent by Publish and received by the Hub of every process (LISTEN); on SQLite, which has a
// single process, it is Hub.Poke. Every subscription also reads on a safety timer, so a lost wake-up
// delays an event but never loses it.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
)

// Event is one event for the screens of an agent's session, kept so a reconnecting screen can resume.
type Event struct {
	bun.BaseModel `bun:"table:session_events,alias:se"`

	// TenantID is the tenant the session belongs to; every read filters by it.
	TenantID uuid.UUID `bun:"tenant_id,pk"`
	// ID is a UUIDv7, so ordering by id is ordering by creation time; it is the SSE event id.
	ID uuid.UUID `bun:"id,pk"`
	// SessionID is the agent session the event is for.
	SessionID uuid.UUID `bun:"session_id,pk"`
	// Kind names the event (the SSE event field), e.g. "call.offered".
	Kind string `bun:"kind,notnull"`
	// Payload is the event's JSON document (the SSE data field).
	Payload json.RawMessage `bun:"payload,notnull"`
	// CreatedAt is when the event happened, from the caller's clock.
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// ErrInvalidEvent is returned by Publish for an event that misses a required field or has a malformed one.
var ErrInvalidEvent = errors.New("invalid session event")

// notifyChannel is the PostgreSQL channel Publish notifies and the Hub listens on.
const notifyChannel = "atende_session_events"

// Publish stores ev and, on PostgreSQL, notifies every process's Hub in the same statement, so listeners
// are woken exactly when db's transaction commits (or at once when db is not a transaction). On SQLite
// nothing is notified: call Hub.Poke after the commit.
//
// TenantID, SessionID, Kind and CreatedAt are required. Publish fills ID with a new UUIDv7 when it is nil (a
// caller-chosen ID must be a UUIDv7 too, or subscribers may miss it), sets an empty Payload to {} and
// compacts it to one line, and stores CreatedAt in UTC at microsecond precision; ev is updated to what was
// stored.
func Publish(ctx context.Context, db bun.IDB, kind store.Dialect, ev *Event) error {
	if err := prepare(ev); err != nil {
		return err
	}
	if err := insert(ctx, db, kind, ev); err != nil {
		return fmt.Errorf("publish session event %s: %w", ev.Kind, err)
	}
	return nil
}

// PublishMany stores evs in one statement and, on PostgreSQL, notifies each of their sessions once, when
// db's transaction commits; on SQLite call Hub.Poke after the commit. Each event is prepared as Publish
// prepares it; evs are updated to what was stored.
func PublishMany(ctx context.Context, db bun.IDB, kind store.Dialect, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	for i := range evs {
		if err := prepare(&evs[i]); err != nil {
			return err
		}
	}
	if err := insertMany(ctx, db, kind, evs); err != nil {
		return fmt.Errorf("publish %d session events: %w", len(evs), err)
	}
	return nil
}

// prepare validates ev and normalises it to what the database keeps.
func prepare(ev *Event) error {
	switch {
	case ev.TenantID == uuid.Nil:
		return fmt.Errorf("%w: no tenant id", ErrInvalidEvent)
	case ev.SessionID == uuid.Nil:
		return fmt.Errorf("%w: no session id", ErrInvalidEvent)
	case ev.Kind == "":
		return fmt.Errorf("%w: no kind", ErrInvalidEvent)
	case strings.ContainsAny(ev.Kind, "\r\n"):
		// The kind becomes an SSE field, which ends at a line break.
		return fmt.Errorf("%w: kind %q has a line break", ErrInvalidEvent, ev.Kind)
	case ev.CreatedAt.IsZero():
		return fmt.Errorf("%w: no creation time", ErrInvalidEvent)
	}
	if len(bytes.TrimSpace(ev.Payload)) == 0 {
		ev.Payload = json.RawMessage(`{}`)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, ev.Payload); err != nil {
		return fmt.Errorf("%w: payload is not JSON: %v", ErrInvalidEvent, err)
	}
	ev.Payload = compact.Bytes()
	if ev.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("new session event id: %w", err)
		}
		ev.ID = id
	}
	ev.CreatedAt = ev.CreatedAt.UTC().Truncate(time.Microsecond)
	return nil
}
