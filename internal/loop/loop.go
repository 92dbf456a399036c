// Package loop runs a background pass again and again until it is stopped: at once after a pass that found
// work, after a pause (or a wake-up) after one that found none. The dial queue workers, the WhatsApp message
// sender and the webhook deliverer are such loops.
package loop

import (
	"context"
	"sync"
	"time"
)

// Pass does one round of work and says how much it found.
type Pass func(ctx context.Context) (int, error)

// Loop runs a Pass. The zero value is ready to Start.
type Loop struct {
	// Tick is the pause after a pass that found nothing or failed (default 250 ms).
	Tick time.Duration
	// Failed is told each error a pass returns while the loop is not stopping.
	Failed func(error)
	// Stopped runs once the loop has stopped.
	Stopped func()

	wake chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs pass in its own goroutine until Stop or ctx ends; a second Start does nothing.
func (l *Loop) Start(ctx context.Context, pass Pass) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return
	}
	if l.wake == nil {
		l.wake = make(chan struct{}, 1)
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go l.run(ctx, pass, l.wake, l.done)
}

func (l *Loop) run(ctx context.Context, pass Pass, wake <-chan struct{}, done chan struct{}) {
	defer close(done)
	if l.Stopped != nil {
		defer l.Stopped()
	}
	tick := l.Tick
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for ctx.Err() == nil {
		n, err := pass(ctx)
		if err != nil && ctx.Err() == nil && l.Failed != nil {
			l.Failed(err)
		}
		if n > 0 && err == nil {
			continue // more may be due: go on without waiting
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-wake:
		}
	}
}

// Wake makes a loop waiting for its next pass start it now; before Start, its first pause is skipped.
func (l *Loop) Wake() {
	l.mu.Lock()
	if l.wake == nil {
		l.wake = make(chan struct{}, 1)
	}
	wake := l.wake
	l.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
}

// Stop stops the loop and waits, until ctx ends, for the pass in progress to finish.
func (l *Loop) Stop(ctx context.Context) {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
