package telephony_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/telephony"
)

// waitLimit bounds every wait in these tests: a bug shows as a failure, not a hung test.
const waitLimit = 10 * time.Second

var simNow = time.Date(2025, 3, 10, 14, 30, 0, 0, time.UTC)

func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func newCall(tenant uuid.UUID, number string) telephony.Call {
	return telephony.Call{
		TenantID: tenant, ID: uuid.New(), EntryID: uuid.New(), CampaignID: uuid.New(), AgentID: uuid.New(),
		Attempt: 1, Number: number,
	}
}

// events collects what a Reporter is given, for tests to wait on.
type events struct {
	ch chan telephony.Event
}

func newEvents() *events { return &events{ch: make(chan telephony.Event, 1000)} }

func (e *events) report(_ context.Context, ev telephony.Event) error {
	e.ch <- ev
	return nil
}

// next returns the next n events, failing the test if they do not come within the limit.
func (e *events) next(t *testing.T, n int) []telephony.Event {
	t.Helper()
	ctx := bounded(t)
	var got []telephony.Event
	for len(got) < n {
		select {
		case ev := <-e.ch:
			got = append(got, ev)
		case <-ctx.Done():
			t.Fatalf("got %d of %d events: %v", len(got), n, got)
		}
	}
	return got
}

// none checks that nothing was reported beyond what next took.
func (e *events) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-e.ch:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

func autoSim(t *testing.T, report telephony.Reporter, opts telephony.SimulatedOptions) *telephony.Simulated {
	t.Helper()
	opts.Mode = telephony.Auto
	s := telephony.NewSimulated(report, clock.NewFake(simNow), opts)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestSimulatedManualRecordsAndReportsNothing(t *testing.T) {
	t.Parallel()
	report := func(context.Context, telephony.Event) error {
		t.Error("Manual mode reported an event")
		return nil
	}
	s := telephony.NewSimulated(report, clock.NewFake(simNow), telephony.SimulatedOptions{})
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	s.SetDefault(telephony.Answered, telephony.Ended)

	tenant := uuid.New()
	a1, b, a2 := newCall(tenant, "+5511900000001"), newCall(tenant, "+5511900000002"), newCall(tenant, "+5511900000001")
	ctx := bounded(t)
	for _, c := range []telephony.Call{a1, b, a2} {
		require.NoError(t, s.Place(ctx, c))
	}
	require.NoError(t, s.Place(ctx, b)) // a repeat: recorded once, counted

	require.Equal(t, []telephony.Call{a1, b, a2}, s.Placed())
	require.Equal(t, 2, s.PlacedCount("+5511900000001"))
	require.Equal(t, 1, s.PlacedCount("+5511900000002"))
	require.Zero(t, s.PlacedCount("+5511900000003"))
	require.Equal(t, 1, s.Repeats())
	require.NoError(t, s.WaitPlaced(ctx, 3))

	// Placed returns a copy.
	s.Placed()[0].Number = "changed"
	require.Equal(t, a1, s.Placed()[0])

	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Place(ctx, newCall(tenant, "+5511900000004")), telephony.ErrClosed)
	require.Len(t, s.Placed(), 3)
	require.NoError(t, s.Close(), "Close is idempotent")
}

func TestSimulatedRefusesInvalidCalls(t *testing.T) {
	t.Parallel()
	s := telephony.NewSimulated(nil, nil, telephony.SimulatedOptions{})
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ok := newCall(uuid.New(), "+5511900000001")
	for name, edit := range map[string]func(*telephony.Call){
		"no tenant": func(c *telephony.Call) { c.TenantID = uuid.Nil },
		"no id":     func(c *telephony.Call) { c.ID = uuid.Nil },
		"no number": func(c *telephony.Call) { c.Number = "" },
	} {
		c := ok
		edit(&c)
		require.ErrorIs(t, s.Place(t.Context(), c), telephony.ErrInvalidCall, name)
	}
	require.Empty(t, s.Placed())

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, s.Place(ctx, ok), context.Canceled)
	require.Empty(t, s.Placed())
}

func TestSimulatedWaitPlaced(t *testing.T) {
	t.Parallel()
	s := telephony.NewSimulated(nil, nil, telephony.SimulatedOptions{})
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	tenant := uuid.New()

	done := make(chan error, 1)
	go func() { done <- s.WaitPlaced(bounded(t), 3) }()
	first := newCall(tenant, "+5511900000001")
	require.NoError(t, s.Place(t.Context(), first))
	require.NoError(t, s.Place(t.Context(), first)) // a repeat does not count
	require.NoError(t, s.Place(t.Context(), newCall(tenant, "+5511900000002")))
	select {
	case err := <-done:
		t.Fatalf("WaitPlaced returned with 2 of 3 calls placed: %v", err)
	default:
	}
	require.NoError(t, s.Place(t.Context(), newCall(tenant, "+5511900000003")))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-bounded(t).Done():
		t.Fatal("WaitPlaced did not return after the third call")
	}

	// It gives up when its context ends...
	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- s.WaitPlaced(ctx, 4) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	// ...and when the adapter closes.
	go func() { done <- s.WaitPlaced(bounded(t), 4) }()
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-done, telephony.ErrClosed)
}

func TestSimulatedAutoScripts(t *testing.T) {
	t.Parallel()
	ev := newEvents()
	s := autoSim(t, ev.report, telephony.SimulatedOptions{})
	const (
		answers = "+5511900000001"
		talks   = "+5511900000002"
		noAns   = "+5511900000003"
		busy    = "+5511900000004"
		fails   = "+5511900000005"
		silent  = "+5511900000006"
		other   = "+5511900000007"
	)
	s.SetScript(answers, telephony.Answered)
	s.SetScript(talks, telephony.Answered, telephony.Ended)
	s.SetScript(noAns, telephony.NoAnswer)
	s.SetScript(busy, telephony.Busy)
	s.SetScript(fails, telephony.Failed)
	s.SetScript(silent)

	tenant := uuid.New()
	calls := map[string]telephony.Call{}
	want := map[uuid.UUID][]string{}
	ctx := bounded(t)
	for number, kinds := range map[string][]string{
		answers: {telephony.Answered},
		talks:   {telephony.Answered, telephony.Ended},
		noAns:   {telephony.NoAnswer},
		busy:    {telephony.Busy},
		fails:   {telephony.Failed},
		silent:  nil,
		other:   {telephony.Answered}, // the default script
	} {
		c := newCall(tenant, number)
		calls[number] = c
		if kinds != nil {
			want[c.ID] = kinds
		}
		require.NoError(t, s.Place(ctx, c))
	}

	got := map[uuid.UUID][]string{}
	for _, e := range ev.next(t, 7) {
		require.Equal(t, tenant, e.TenantID)
		require.Equal(t, simNow, e.At, "event times come from the injected clock")
		got[e.CallID] = append(got[e.CallID], e.Kind)
	}
	require.Equal(t, want, got)

	// A new default applies to calls placed from now on; placing order is reporting order.
	s.SetDefault(telephony.Busy)
	c1, c2 := newCall(tenant, other), newCall(tenant, "+5511900000008")
	require.NoError(t, s.Place(ctx, c1))
	require.NoError(t, s.Place(ctx, c2))
	require.Equal(t, []telephony.Event{
		{TenantID: tenant, CallID: c1.ID, Kind: telephony.Busy, At: simNow},
		{TenantID: tenant, CallID: c2.ID, Kind: telephony.Busy, At: simNow},
	}, ev.next(t, 2))
	ev.none(t)
	require.Equal(t, 2, s.PlacedCount(other))
}

func TestSimulatedScriptsRefuseUnknownKinds(t *testing.T) {
	t.Parallel()
	s := telephony.NewSimulated(nil, nil, telephony.SimulatedOptions{})
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.Panics(t, func() { s.SetScript("+5511900000001", telephony.Answered, "hung_up") })
	require.Panics(t, func() { s.SetDefault("") })
	require.Panics(t, func() { telephony.NewSimulated(nil, nil, telephony.SimulatedOptions{Mode: telephony.Auto}) })
}

func TestSimulatedAutoIgnoresRepeats(t *testing.T) {
	t.Parallel()
	ev := newEvents()
	s := autoSim(t, ev.report, telephony.SimulatedOptions{})
	s.SetDefault(telephony.Answered, telephony.Ended)
	tenant := uuid.New()
	a, b := newCall(tenant, "+5511900000001"), newCall(tenant, "+5511900000002")
	ctx := bounded(t)
	require.NoError(t, s.Place(ctx, a))
	require.NoError(t, s.Place(ctx, a))
	require.NoError(t, s.Place(ctx, b))

	// One worker reports in placing order: had the repeat been reported, it would come before b's events.
	var got []string
	for _, e := range ev.next(t, 4) {
		got = append(got, fmt.Sprintf("%s %s", e.CallID, e.Kind))
	}
	require.Equal(t, []string{
		a.ID.String() + " answered", a.ID.String() + " ended",
		b.ID.String() + " answered", b.ID.String() + " ended",
	}, got)
	ev.none(t)
	require.Equal(t, 1, s.Repeats())
	require.Equal(t, []telephony.Call{a, b}, s.Placed())
}

func TestSimulatedAutoConcurrentPlaces(t *testing.T) {
	t.Parallel()
	ev := newEvents()
	s := autoSim(t, ev.report, telephony.SimulatedOptions{})
	s.SetDefault(telephony.Answered, telephony.Ended)
	tenant := uuid.New()
	const callers, perCaller = 8, 25

	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			for j := range perCaller {
				c := newCall(tenant, fmt.Sprintf("+55119%08d", i))
				c.Attempt = j + 1
				assert.NoError(t, s.Place(t.Context(), c))
				assert.NoError(t, s.Place(t.Context(), c)) // every call is also placed twice
			}
		})
	}
	require.NoError(t, s.WaitPlaced(bounded(t), callers*perCaller))
	wg.Wait()

	// Every call reports answered then ended, once.
	seen := map[uuid.UUID][]string{}
	for _, e := range ev.next(t, 2*callers*perCaller) {
		seen[e.CallID] = append(seen[e.CallID], e.Kind)
	}
	require.Len(t, seen, callers*perCaller)
	for id, kinds := range seen {
		require.Equal(t, []string{telephony.Answered, telephony.Ended}, kinds, id)
	}
	require.Equal(t, callers*perCaller, s.Repeats())
	for i := range callers {
		require.Equal(t, perCaller, s.PlacedCount(fmt.Sprintf("+55119%08d", i)))
	}
}

// gate is a Reporter that announces each event and then holds it until released or cancelled.
type gate struct {
	started chan telephony.Event
	release chan struct{}
	ctxErrs chan error
}

func newGate() *gate {
	return &gate{started: make(chan telephony.Event, 100), release: make(chan struct{}), ctxErrs: make(chan error, 100)}
}

func (g *gate) report(ctx context.Context, ev telephony.Event) error {
	g.started <- ev
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		g.ctxErrs <- ctx.Err()
		return ctx.Err()
	}
}

func (g *gate) waitStarted(t *testing.T) telephony.Event {
	t.Helper()
	select {
	case ev := <-g.started:
		return ev
	case <-bounded(t).Done():
		t.Fatal("the Reporter was not called")
		return telephony.Event{}
	}
}

func TestSimulatedAutoQueueIsBounded(t *testing.T) {
	t.Parallel()
	g := newGate()
	s := autoSim(t, g.report, telephony.SimulatedOptions{QueueSize: 1})
	tenant := uuid.New()
	first, queued, refused := newCall(tenant, "+5511900000001"), newCall(tenant, "+5511900000002"), newCall(tenant, "+5511900000003")
	require.NoError(t, s.Place(t.Context(), first))
	require.Equal(t, first.ID, g.waitStarted(t).CallID) // the worker holds first; the queue is empty again
	require.NoError(t, s.Place(t.Context(), queued))

	start := time.Now()
	require.ErrorIs(t, s.Place(t.Context(), refused), telephony.ErrQueueFull)
	require.Less(t, time.Since(start), time.Second, "Place must not block on a full queue")
	require.Equal(t, []telephony.Call{first, queued}, s.Placed(), "a refused call is not recorded")

	close(g.release)
	require.Equal(t, queued.ID, g.waitStarted(t).CallID)
	// Once there is room, the refused call is a first placement, not a repeat.
	require.NoError(t, s.Place(t.Context(), refused))
	require.Equal(t, refused.ID, g.waitStarted(t).CallID)
	require.Zero(t, s.Repeats())
}

func TestSimulatedCloseDropsPendingReports(t *testing.T) {
	t.Parallel()
	g := newGate()
	s := telephony.NewSimulated(g.report, clock.NewFake(simNow), telephony.SimulatedOptions{Mode: telephony.Auto})
	s.SetDefault(telephony.Answered, telephony.Ended)
	tenant := uuid.New()
	inFlight, pending := newCall(tenant, "+5511900000001"), newCall(tenant, "+5511900000002")
	require.NoError(t, s.Place(t.Context(), inFlight))
	require.NoError(t, s.Place(t.Context(), pending))
	require.Equal(t, inFlight.ID, g.waitStarted(t).CallID)

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-bounded(t).Done():
		t.Fatal("Close did not return with a report in progress")
	}
	require.ErrorIs(t, <-g.ctxErrs, context.Canceled, "the report in progress sees its context cancelled")
	select {
	case ev := <-g.started:
		t.Fatalf("reported %+v after Close", ev)
	default:
	}
	require.ErrorIs(t, s.Place(t.Context(), newCall(tenant, "+5511900000003")), telephony.ErrClosed)
	require.NoError(t, s.Close())
}

func TestSimulatedReporterFailureDropsTheRestOfThatCall(t *testing.T) {
	t.Parallel()
	tenant := uuid.New()
	bad, good := newCall(tenant, "+5511900000001"), newCall(tenant, "+5511900000002")
	ev := newEvents()
	report := func(ctx context.Context, e telephony.Event) error {
		if e.CallID == bad.ID {
			return errors.New("no such call")
		}
		return ev.report(ctx, e)
	}
	var logs syncBuffer
	s := autoSim(t, report, telephony.SimulatedOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	s.SetDefault(telephony.Answered, telephony.Ended)
	require.NoError(t, s.Place(t.Context(), bad))
	require.NoError(t, s.Place(t.Context(), good))

	got := ev.next(t, 2)
	require.Equal(t, good.ID, got[0].CallID)
	require.Equal(t, good.ID, got[1].CallID)
	ev.none(t)
	require.Contains(t, logs.String(), bad.ID.String())
	require.NotContains(t, logs.String(), bad.Number, "no full phone number in the logs")
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	for _, m := range []telephony.Mode{telephony.Manual, telephony.Auto} {
		got, err := telephony.ParseMode(m.String())
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	_, err := telephony.ParseMode("automatic")
	require.Error(t, err)
}

// syncBuffer is a bytes.Buffer a logger may write to from another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
