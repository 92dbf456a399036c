package events

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// subscriber is one subscription: its own goroutine reads the table when woken and sends to out, so a
// slow consumer never holds up the hub.
type subscriber struct {
	hub  *Hub
	key  sessionKey
	wake chan struct{} // capacity 1: one pending wake-up stands for any number
	out  chan Event

	// cursor is the greatest id known to the subscription (sent, or already there when it started).
	cursor uuid.UUID
	// seen holds the ids at or after the reorder window's floor that need not be sent, so that re-reading
	// the window finds only events that committed late.
	seen map[uuid.UUID]struct{}
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// start records what the subscription must not send: with after set, the events up to after (the client
// has them); with uuid.Nil, everything already stored.
func (s *subscriber) start(ctx context.Context, after uuid.UUID) error {
	var lo, hi uuid.UUID
	if after == uuid.Nil {
		now := idAt(time.Now())
		s.cursor = now
		lo, hi = s.floor(now), uuid.Max
	} else {
		s.cursor = after
		lo, hi = s.floor(after), after
	}
	var ids []uuid.UUID
	err := s.hub.db.NewSelect().Model((*Event)(nil)).Column("se.id").
		Where("se.tenant_id = ?", s.key.tenant).
		Where("se.session_id = ?", s.key.session).
		Where("se.id > ?", lo).
		Where("se.id <= ?", hi).
		Scan(ctx, &ids)
	if err != nil {
		return fmt.Errorf("read session events: %w", err)
	}
	for _, id := range ids {
		s.seen[id] = struct{}{}
		if after == uuid.Nil && compare(id, s.cursor) > 0 {
			s.cursor = id
		}
	}
	return nil
}

// run reads at once, then whenever woken or when the safety timer fires, until ctx ends.
func (s *subscriber) run(ctx context.Context) {
	defer close(s.out)
	ticker := time.NewTicker(s.hub.cfg.pollInterval)
	defer ticker.Stop()
	for {
		if err := s.read(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			// The next wake-up or tick retries; the cursor has not moved past what was sent.
			s.hub.logger.WarnContext(ctx, "read session events",
				slog.String("tenant_id", s.key.tenant.String()),
				slog.String("session_id", s.key.session.String()),
				slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-ticker.C:
		}
	}
}

// read sends every event of the session from the reorder window's floor on that was not sent yet, in id
// order, page by page.
func (s *subscriber) read(ctx context.Context) error {
	last := s.floor(s.cursor)
	for {
		var page []Event
		err := s.hub.db.NewSelect().Model(&page).
			Where("se.tenant_id = ?", s.key.tenant).
			Where("se.session_id = ?", s.key.session).
			Where("se.id > ?", last).
			OrderExpr("se.id ASC").
			Limit(pageSize).
			Scan(ctx)
		if err != nil {
			return fmt.Errorf("read session events: %w", err)
		}
		for _, ev := range page {
			last = ev.ID
			if _, ok := s.seen[ev.ID]; ok {
				continue
			}
			select {
			case s.out <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
			s.seen[ev.ID] = struct{}{}
			if compare(ev.ID, s.cursor) > 0 {
				s.cursor = ev.ID
			}
		}
		if len(page) < pageSize {
			break
		}
	}
	// Ids at or below the floor are never read again: forget them.
	floor := s.floor(s.cursor)
	for id := range s.seen {
		if compare(id, floor) <= 0 {
			delete(s.seen, id)
		}
	}
	return nil
}

// floor is the id below which the subscription no longer looks for late commits: the reorder window
// before id's timestamp. An id that is not a UUIDv7 has no timestamp and is its own floor.
func (s *subscriber) floor(id uuid.UUID) uuid.UUID {
	if id.Version() != 7 {
		return id
	}
	var ms [8]byte
	copy(ms[2:], id[:6])
	t := int64(binary.BigEndian.Uint64(ms[:])) - s.hub.cfg.reorderWindow.Milliseconds()
	if t <= 0 {
		return uuid.Nil
	}
	return idAtMillis(t)
}

// idAt is the smallest UUIDv7 of the millisecond t (version and variant set, random bits zero): every
// UUIDv7 made at or after t is greater or equal.
func idAt(t time.Time) uuid.UUID { return idAtMillis(t.UnixMilli()) }

func idAtMillis(ms int64) uuid.UUID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	var id uuid.UUID
	copy(id[:6], b[2:])
	id[6] = 0x70 // version 7
	id[8] = 0x80 // RFC 9562 variant
	return id
}

// compare orders ids as both databases do (bytewise for uuid, and as lowercase hex text on SQLite).
func compare(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }
