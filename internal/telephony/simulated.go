package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/atende/atende/internal/clock"
)

// Mode says whether the simulated adapter reports events itself.
type Mode int

const (
	// Manual records placed calls and reports nothing: tests drive the events themselves through the API.
	Manual Mode = iota
	// Auto reports each placed call's script through the Reporter, after Place returns.
	Auto
)

// String names the mode as ParseMode reads it.
func (m Mode) String() string {
	switch m {
	case Manual:
		return "manual"
	case Auto:
		return "auto"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads "manual" or "auto", as configuration spells the simulated adapter's mode.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "manual":
		return Manual, nil
	case "auto":
		return Auto, nil
	}
	return 0, fmt.Errorf("telephony: simulated mode %q is neither manual nor auto", s)
}

// MaxReportBatch caps the events of one ReportBatch call.
const MaxReportBatch = 128

// DefaultQueueSize is how many placed calls may wait for their reports in Auto mode when
// SimulatedOptions.QueueSize is zero.
const DefaultQueueSize = 1024

// SimulatedOptions configures a Simulated adapter. The zero value is Manual mode with the default queue.
type SimulatedOptions struct {
	// Mode is Manual (the zero value) or Auto.
	Mode Mode
	// QueueSize bounds how many placed calls may wait for their reports in Auto mode (default
	// DefaultQueueSize). When it is full, Place fails with ErrQueueFull instead of blocking.
	QueueSize int
	// Logger receives the Reporter's failures; nil discards them.
	Logger *slog.Logger
	// Reporters is how many goroutines report scripts in Auto mode (default 1). With more than one, each
	// call's events still come in order, but calls no longer report in placing order.
	Reporters int
	// ReportBatch, when set, reports in Auto mode instead of the Reporter: each reporter takes the calls
	// waiting (up to MaxReportBatch) and reports their scripts step by step, one event per call per batch,
	// so a batch never holds two events of one call. Its errors come back by position.
	ReportBatch func(ctx context.Context, evs []Event) []error
	// CountOnly keeps counts instead of the calls placed, so memory stays flat over millions of calls (long
	// drains and benchmarks). Placed then returns nothing, WaitPlaced and PlacedTotal still count, and a call
	// ID placed again is not recognised as a repeat.
	CountOnly bool
}

// Simulated is a telephony adapter with no telephone behind it, for `make run` and tests. Every placed call
// is recorded; in Auto mode a script of events per number (by default [answered]) is reported back through
// the Reporter by the adapter's reporter goroutines, after Place returns and in order per call (and, with
// one reporter, in placing order across calls). A call ID placed again is counted as a repeat and neither recorded nor reported again.
//
// Close stops the worker and drops the reports not yet made (see Close). Safe for concurrent use.
type Simulated struct {
	report    Reporter
	batch     func(ctx context.Context, evs []Event) []error
	clk       clock.Clock
	mode      Mode
	logger    *slog.Logger
	countOnly bool

	mu          sync.Mutex
	scripts     map[string][]string
	defaultKind []string
	placed      []Call
	total       int
	seen        map[uuid.UUID]struct{}
	perNumber   map[string]int
	repeats     int
	closed      bool
	changed     chan struct{} // closed and replaced whenever a call is recorded or the adapter closes

	jobs   chan simJob
	stop   context.CancelFunc
	ctx    context.Context
	worker sync.WaitGroup
}

// simJob is one placed call's script, copied at Place so a later SetScript does not change it.
type simJob struct {
	call  Call
	kinds []string
}

var _ Port = (*Simulated)(nil)

// NewSimulated returns a simulated adapter that reports through report with event times from clk (nil: the
// system clock). In Auto mode it starts its worker, which Close stops; report must not be nil then. It panics
// on a nil report in Auto mode or an unknown mode, both programming errors.
func NewSimulated(report Reporter, clk clock.Clock, opts SimulatedOptions) *Simulated {
	if opts.Mode != Manual && opts.Mode != Auto {
		panic(fmt.Sprintf("telephony: unknown simulated mode %d", int(opts.Mode)))
	}
	if opts.Mode == Auto && report == nil && opts.ReportBatch == nil {
		panic("telephony: NewSimulated in Auto mode needs a Reporter")
	}
	if clk == nil {
		clk = clock.System{}
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Reporters <= 0 {
		opts.Reporters = 1
	}
	s := &Simulated{
		report:      report,
		batch:       opts.ReportBatch,
		clk:         clk,
		mode:        opts.Mode,
		logger:      opts.Logger,
		countOnly:   opts.CountOnly,
		scripts:     map[string][]string{},
		defaultKind: []string{Answered},
		seen:        map[uuid.UUID]struct{}{},
		perNumber:   map[string]int{},
		changed:     make(chan struct{}),
	}
	if s.mode == Auto {
		s.jobs = make(chan simJob, opts.QueueSize)
		s.ctx, s.stop = context.WithCancel(context.Background())
		for range opts.Reporters {
			s.worker.Add(1)
			go s.run()
		}
	}
	return s
}

// SetScript sets the events a call to number reports after Place, in order: e.g. Answered (the call then
// waits for the agent), Answered and Ended, NoAnswer, Busy or Failed. No kinds at all means the call reports
// nothing, like a far end that never answers. It applies to calls placed from now on, and panics on a kind
// ValidKind refuses (a programming error).
func (s *Simulated) SetScript(number string, kinds ...string) {
	mustKinds(kinds)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[number] = slices.Clone(kinds)
}

// SetDefault sets the script of the numbers SetScript did not name (initially [answered]). It panics on a
// kind ValidKind refuses.
func (s *Simulated) SetDefault(kinds ...string) {
	mustKinds(kinds)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultKind = slices.Clone(kinds)
}

func mustKinds(kinds []string) {
	for _, k := range kinds {
		if !ValidKind(k) {
			panic(fmt.Sprintf("telephony: %q is not a call event kind", k))
		}
	}
}

// Place records the call and, in Auto mode, queues its script to be reported; it never blocks. A call ID
// placed before is counted in Repeats and otherwise ignored (nil error). It fails with ErrInvalidCall,
// ErrClosed, ErrQueueFull (the call is not recorded) or the context's error.
func (s *Simulated) Place(ctx context.Context, c Call) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("place call %s: %w", c.ID, err)
	}
	if err := c.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("place call %s: %w", c.ID, ErrClosed)
	}
	if _, ok := s.seen[c.ID]; ok {
		s.repeats++
		return nil
	}
	if s.mode == Auto {
		kinds, ok := s.scripts[c.Number]
		if !ok {
			kinds = s.defaultKind
		}
		select {
		case s.jobs <- simJob{call: c, kinds: kinds}: // scripts are replaced, never changed in place
		default:
			return fmt.Errorf("place call %s: %w", c.ID, ErrQueueFull)
		}
	}
	s.total++
	if !s.countOnly {
		s.seen[c.ID] = struct{}{}
		s.placed = append(s.placed, c)
		s.perNumber[c.Number]++
	}
	s.notifyLocked()
	return nil
}

// notifyLocked wakes every WaitPlaced.
func (s *Simulated) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Placed returns the calls placed so far, repeats left out, in the order they were placed.
func (s *Simulated) Placed() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.placed)
}

// PlacedCount returns how many calls to number were placed, repeats left out.
func (s *Simulated) PlacedCount(number string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perNumber[number]
}

// PlacedTotal returns how many calls were placed, repeats left out.
func (s *Simulated) PlacedTotal() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Repeats returns how many times a call ID already placed was placed again.
func (s *Simulated) Repeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repeats
}

// WaitPlaced blocks until at least n calls have been placed (repeats left out), and returns nil; or until
// ctx ends, and returns its error; or until the adapter closes with fewer, and returns ErrClosed.
func (s *Simulated) WaitPlaced(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		placed, closed, changed := s.total, s.closed, s.changed
		s.mu.Unlock()
		switch {
		case placed >= n:
			return nil
		case closed:
			return fmt.Errorf("wait for %d placed calls (%d placed): %w", n, placed, ErrClosed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d placed calls (%d placed): %w", n, placed, ctx.Err())
		}
	}
}

// Close stops the adapter: Place then fails with ErrClosed. In Auto mode it cancels the context of the
// report in progress, drops the calls still waiting for their reports, and waits for the worker to return.
// Dropping, not draining, keeps shutdown bounded whatever the Reporter does, and is what a real telephony
// system going away looks like: the dialer must already cope with calls whose events never come. Tests that
// need every report wait for them (through their Reporter) before closing. Close is idempotent and returns nil.
func (s *Simulated) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.worker.Wait()
		return nil
	}
	s.closed = true
	s.notifyLocked()
	s.mu.Unlock()
	if s.stop != nil {
		s.stop()
	}
	s.worker.Wait()
	if s.jobs != nil {
		if n := len(s.jobs); n > 0 {
			s.logger.Info("simulated telephony closed with unreported calls", "dropped_calls", n)
		}
	}
	return nil
}

// run reports the queued scripts until Close.
func (s *Simulated) run() {
	defer s.worker.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case j := <-s.jobs:
			if s.batch == nil {
				s.play(j)
				continue
			}
			jobs := []simJob{j}
		more:
			for len(jobs) < MaxReportBatch {
				select {
				case j := <-s.jobs:
					jobs = append(jobs, j)
				default:
					break more
				}
			}
			s.playBatch(jobs)
		}
	}
}

// playBatch reports the scripts of several calls step by step: the first event of each, then the second of
// each that has one, and so on. A call whose event failed reports nothing more.
func (s *Simulated) playBatch(jobs []simJob) {
	for step := 0; ; step++ {
		var evs []Event
		var of []simJob
		for _, j := range jobs {
			if step < len(j.kinds) {
				evs = append(evs, Event{TenantID: j.call.TenantID, CallID: j.call.ID, Kind: j.kinds[step], At: s.clk.Now()})
				of = append(of, j)
			}
		}
		if len(evs) == 0 || s.ctx.Err() != nil {
			return
		}
		errs := s.batch(s.ctx, evs)
		jobs = jobs[:0]
		for i, j := range of {
			if i < len(errs) && errs[i] != nil {
				s.logger.Warn("simulated telephony could not report a call event", "tenant_id", evs[i].TenantID,
					"call_id", evs[i].CallID, "entry_id", j.call.EntryID, "kind", evs[i].Kind, "error", errs[i])
				continue
			}
			jobs = append(jobs, j)
		}
	}
}

// play reports one call's events in order. When one fails, the rest of that call's script is dropped: a
// later event (ended after a lost answered) would make no sense to the dialer.
func (s *Simulated) play(j simJob) {
	for _, kind := range j.kinds {
		if s.ctx.Err() != nil {
			return
		}
		ev := Event{TenantID: j.call.TenantID, CallID: j.call.ID, Kind: kind, At: s.clk.Now()}
		if err := s.report(s.ctx, ev); err != nil {
			s.logger.Warn("simulated telephony could not report a call event",
				"tenant_id", ev.TenantID, "call_id", ev.CallID, "entry_id", j.call.EntryID, "kind", kind,
				"error", err)
			return
		}
	}
}
