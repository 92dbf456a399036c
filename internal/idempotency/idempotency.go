// Package idempotency stores the responses of writes sent with an Idempotency-Key, so that a client
// retrying a request gets the first response instead of a second write.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/store"
)

// Defaults for how long keys are kept and how long a running request holds its key.
const (
	DefaultTTL  = 24 * time.Hour
	DefaultLock = time.Minute
)

// Record is one key's state and, once done, its stored response.
type Record struct {
	bun.BaseModel `bun:"table:idempotency_keys,alias:ik"`

	Scope           string            `bun:"scope,pk"`
	Key             string            `bun:"key,pk"`
	RequestHash     []byte            `bun:"request_hash"`
	State           string            `bun:"state"`
	ResponseStatus  int               `bun:"response_status,nullzero"`
	ResponseHeaders map[string]string `bun:"response_headers,type:jsonb"`
	ResponseBody    []byte            `bun:"response_body"`
	CreatedAt       time.Time         `bun:"created_at"`
	// AppliedAt is when the request holding the key first committed a write, if it did.
	AppliedAt   *time.Time `bun:"applied_at"`
	LockedUntil time.Time  `bun:"locked_until"`
	ExpiresAt   time.Time  `bun:"expires_at"`
}

// Record states.
const (
	stateRunning = "running"
	stateDone    = "done"
)

// Decision is what to do with a request carrying a key.
type Decision int

// The decisions Begin takes.
const (
	// Proceed: the key is now held by this request; run it, then Complete or Release.
	Proceed Decision = iota
	// Replay: the key's request already completed; send the stored response.
	Replay
	// Mismatch: the key was used for a different request.
	Mismatch
	// InFlight: the key's first request is still running.
	InFlight
	// Applied: the key's first request committed a write but failed before its response was stored; it is
	// not run again, and there is no response to replay.
	Applied
)

// Fingerprint identifies a request (method, path with query, body) so a key reused for another request is
// told apart.
func Fingerprint(method, requestURI string, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", method, requestURI)
	h.Write(body)
	return h.Sum(nil)
}

// Store keeps idempotency records.
type Store struct {
	db    *bun.DB
	clock clock.Clock
	ttl   time.Duration
	lock  time.Duration
}

// NewStore returns a Store keeping records for DefaultTTL.
func NewStore(db *bun.DB, clk clock.Clock) *Store {
	return &Store{db: db, clock: clk, ttl: DefaultTTL, lock: DefaultLock}
}

// Begin decides what a request with this scope (the caller), key and request hash should do. With Replay
// the stored record is returned.
func (s *Store) Begin(ctx context.Context, scope, key string, requestHash []byte) (Decision, *Record, error) {
	now := s.clock.Now()
	fresh := &Record{
		Scope: scope, Key: key, RequestHash: requestHash, State: stateRunning,
		CreatedAt: now, LockedUntil: now.Add(s.lock), ExpiresAt: now.Add(s.ttl),
	}
	var (
		decision Decision
		existing Record
	)
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(fresh).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			decision = Proceed
			return nil
		}
		err = tx.NewSelect().Model(&existing).Where("ik.scope = ? AND ik.key = ?", scope, key).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("idempotency key vanished while claimed")
		}
		if err != nil {
			return fmt.Errorf("read idempotency key: %w", err)
		}
		switch {
		case existing.State == stateRunning && existing.AppliedAt != nil && now.Before(existing.ExpiresAt):
			// Applied once the request holding it failed (Release ended its lock) or its lock ran out;
			// before that it may still answer.
			switch {
			case !bytes.Equal(existing.RequestHash, requestHash):
				decision = Mismatch
			case now.Before(existing.LockedUntil):
				decision = InFlight
			default:
				decision = Applied
			}
		case !now.Before(existing.ExpiresAt),
			existing.State == stateRunning && !now.Before(existing.LockedUntil) && bytes.Equal(existing.RequestHash, requestHash):
			// An expired key starts over; so does one whose first request died without finishing — unless that
			// request's write committed meanwhile.
			q := tx.NewUpdate().Model(fresh).WherePK()
			if now.Before(existing.ExpiresAt) {
				q = q.Where("applied_at IS NULL")
			}
			res, err := q.Exec(ctx)
			if err != nil {
				return fmt.Errorf("take over idempotency key: %w", err)
			}
			decision = Proceed
			if n, _ := res.RowsAffected(); n == 0 {
				decision = Applied
			}
		case !bytes.Equal(existing.RequestHash, requestHash):
			decision = Mismatch
		case existing.State == stateDone:
			decision = Replay
		default:
			decision = InFlight
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	if decision == Replay {
		return decision, &existing, nil
	}
	return decision, nil, nil
}

// Complete stores the response of the request holding the key.
func (s *Store) Complete(ctx context.Context, scope, key string, status int, headers map[string]string, body []byte) error {
	_, err := s.db.NewUpdate().Model((*Record)(nil)).
		Set("state = ?", stateDone).
		Set("response_status = ?", status).
		Set("response_headers = ?", headers).
		Set("response_body = ?", body).
		Where("scope = ? AND key = ?", scope, key).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// Applying returns a context under which every transaction of the request holding the key records, as it
// commits, that the request applied a write: a retry of a request that failed after its write then finds the
// key applied instead of running the request again.
func (s *Store) Applying(ctx context.Context, scope, key string) context.Context {
	return store.WithBeforeCommit(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewUpdate().Model((*Record)(nil)).Set("applied_at = ?", s.clock.Now()).
			Where("scope = ? AND key = ? AND applied_at IS NULL", scope, key).Exec(ctx)
		if err != nil {
			return fmt.Errorf("record the idempotent write: %w", err)
		}
		return nil
	})
}

// Release frees the key without a stored response, so the client may retry (after a server error) — unless
// the request applied a write before failing: then the key stays, and retries are told so.
func (s *Store) Release(ctx context.Context, scope, key string) error {
	_, err := s.db.NewDelete().Model((*Record)(nil)).Where("scope = ? AND key = ? AND applied_at IS NULL", scope, key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	// An applied key stays; its lock ends now, so retries are told at once that it was applied.
	_, err = s.db.NewUpdate().Model((*Record)(nil)).Set("locked_until = ?", s.clock.Now()).
		Where("scope = ? AND key = ? AND applied_at IS NOT NULL AND state = ?", scope, key, stateRunning).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// Sweep deletes expired records and reports how many.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	res, err := s.db.NewDelete().Model((*Record)(nil)).Where("expires_at <= ?", s.clock.Now()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep idempotency keys: %w", err)
	}
	return res.RowsAffected()
}
