package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/store"
)

// ErrStopped is returned by Start and Subscribe once the Hub has been stopped.
var ErrStopped = errors.New("events hub stopped")

// Default settings of a Hub; see the options that change them.
const (
	// DefaultPollInterval is the safety timer of every subscription (WithPollInterval).
	DefaultPollInterval = 2 * time.Second
	// DefaultBuffer is the capacity of a subscription's channel (WithBuffer).
	DefaultBuffer = 64
	// DefaultReorderWindow is how far back a subscription looks for late commits (WithReorderWindow).
	DefaultReorderWindow = time.Minute
	// DefaultBackoffMin is the listener's first wait before reconnecting (WithReconnectBackoff).
	DefaultBackoffMin = 100 * time.Millisecond
	// DefaultBackoffMax caps the listener's wait before reconnecting (WithReconnectBackoff).
	DefaultBackoffMax = 10 * time.Second
)

// pageSize caps the rows one query of a subscription reads; it pages on until it has read everything.
const pageSize = 256

// Option changes a setting of a Hub.
type Option func(*config)

type config struct {
	pollInterval  time.Duration
	buffer        int
	reorderWindow time.Duration
	backoffMin    time.Duration
	backoffMax    time.Duration
	// healthInterval is not an option: tests shorten it to exercise the listener's health checks.
	healthInterval time.Duration
}

// WithPollInterval sets the safety timer: how often every subscription reads the table even when nothing
// woke it (default 2 s). It bounds the delay of an event whose wake-up was lost.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pollInterval = d
		}
	}
}

// WithBuffer sets how many events a subscription's channel holds before its reader stops reading the
// database and waits for the consumer (default 64).
func WithBuffer(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.buffer = n
		}
	}
}

// WithReorderWindow sets how far behind the newest event it has sent a subscription still looks for events
// that committed late (default 1 min). Ids are taken before commit, so a transaction that commits after a
// newer one can add an event with an older id; a subscription sends such an event as soon as it sees it
// unless it is older than this window, measured on the ids' timestamps (which also absorbs clock skew
// between machines).
func WithReorderWindow(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.reorderWindow = d
		}
	}
}

// WithReconnectBackoff sets the wait before the PostgreSQL listener reconnects after its connection fails:
// it starts at minimum and doubles after each failed attempt, up to maximum (defaults 100 ms and 10 s).
func WithReconnectBackoff(minimum, maximum time.Duration) Option {
	return func(c *config) {
		if minimum > 0 && maximum >= minimum {
			c.backoffMin, c.backoffMax = minimum, maximum
		}
	}
}

// sessionKey names a session across tenants.
type sessionKey struct {
	tenant, session uuid.UUID
}

// Hub delivers the events of session_events to subscribers in this process and wakes them when events
// commit, in this process (Poke) or, on PostgreSQL, in any process (LISTEN/NOTIFY). A Hub is safe for
// concurrent use.
type Hub struct {
	db     *store.DB
	logger *slog.Logger
	cfg    config

	// ctx ends on Stop; every goroutine of the hub watches it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	subs    map[sessionKey]map[*subscriber]struct{}
	started bool
	stopped bool
}

// NewHub returns a Hub reading db. Call Start to receive wake-ups from other processes and Stop to end it.
func NewHub(db *store.DB, logger *slog.Logger, opts ...Option) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := config{
		pollInterval:  DefaultPollInterval,
		buffer:        DefaultBuffer,
		reorderWindow: DefaultReorderWindow,
		backoffMin:    DefaultBackoffMin,
		backoffMax:    DefaultBackoffMax,

		healthInterval: defaultHealthInterval,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		db:     db,
		logger: logger.With(slog.String("component", "events")),
		cfg:    cfg,
		ctx:    ctx,
		cancel: cancel,
		subs:   make(map[sessionKey]map[*subscriber]struct{}),
	}
}

// Start returns at once. On PostgreSQL it starts a listener on its own connection that wakes this
// process's subscribers whenever any process publishes, reconnecting with backoff when the connection
// drops; it runs until ctx ends or Stop. On SQLite it does nothing: Poke and the safety timer are the only
// wake-ups there.
func (h *Hub) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.stopped:
		return ErrStopped
	case h.started:
		return errors.New("events hub already started")
	}
	h.started = true
	if h.db.Kind != store.Postgres {
		return nil
	}
	l, err := newListener(h, h.db.URL())
	if err != nil {
		return fmt.Errorf("start events listener: %w", err)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(h.ctx, cancel)()
		l.run(ctx)
	}()
	return nil
}

// Stop ends the listener and every subscription (their channels close) and waits for their goroutines.
// It is safe to call more than once.
func (h *Hub) Stop() {
	h.mu.Lock()
	h.stopped = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// Poke wakes this process's subscribers of a session, which read the table at once. Call it after
// committing a Publish: on SQLite it is the only wake-up, and on PostgreSQL it saves the NOTIFY round trip
// for screens served by this process. It never blocks.
func (h *Hub) Poke(tenantID, sessionID uuid.UUID) {
	h.wake(sessionKey{tenant: tenantID, session: sessionID})
}

// Subscribe returns a channel with the events of one session of one tenant, in id order: first every stored
// event with an id greater than after, then new events as they commit. Pass the Last-Event-ID of a
// reconnecting SSE client as after to resume where it stopped. With after = uuid.Nil, nothing stored is
// replayed: only events that commit from now on are sent.
//
// An event that commits after a newer one was already sent (concurrent writers) is sent as soon as it is
// seen, so it can arrive out of id order; it is never dropped while within the reorder window (see
// WithReorderWindow). Delivery is at least once across reconnects: a client should ignore ids it has
// already shown.
//
// The channel has a bounded buffer: a slow consumer only slows its own subscription, which stops reading
// the database until there is room. It closes when ctx ends or the Hub stops. The error reports an invalid
// argument, a stopped Hub, or a failed first read.
func (h *Hub) Subscribe(ctx context.Context, tenantID, sessionID, after uuid.UUID) (<-chan Event, error) {
	if tenantID == uuid.Nil || sessionID == uuid.Nil {
		return nil, errors.New("subscribe to session events: tenant and session ids are required")
	}
	s := &subscriber{
		hub:  h,
		key:  sessionKey{tenant: tenantID, session: sessionID},
		wake: make(chan struct{}, 1),
		out:  make(chan Event, h.cfg.buffer),
		seen: make(map[uuid.UUID]struct{}),
	}
	// Register before the first read, so that a commit after it always wakes the subscription.
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil, ErrStopped
	}
	set := h.subs[s.key]
	if set == nil {
		set = make(map[*subscriber]struct{})
		h.subs[s.key] = set
	}
	set[s] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	stopWatch := context.AfterFunc(h.ctx, cancel)
	if err := s.start(ctx, after); err != nil {
		stopWatch()
		cancel()
		h.unregister(s)
		h.wg.Done()
		return nil, fmt.Errorf("subscribe to session events: %w", err)
	}
	go func() {
		defer h.wg.Done()
		defer h.unregister(s)
		defer cancel()
		defer stopWatch()
		s.run(ctx)
	}()
	return s.out, nil
}

// wake signals the subscribers of one session without blocking: a subscriber already due to read keeps
// its single pending signal.
func (h *Hub) wake(key sessionKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[key] {
		s.signal()
	}
}

// wakeAll signals every subscriber, after the listener was away and notifications may have been missed.
func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			s.signal()
		}
	}
}

func (h *Hub) unregister(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[s.key]
	delete(set, s)
	if len(set) == 0 {
		delete(h.subs, s.key)
	}
}
