package loop_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/loop"
)

// A loop goes on at once while passes find work, pauses when they find none, wakes on Wake, reports errors,
// and Stop waits for the pass in progress.
func TestLoop(t *testing.T) {
	var passes, failures atomic.Int32
	work := atomic.Int32{}
	work.Store(5)
	stopped := make(chan struct{})
	inPass := make(chan struct{}, 1)
	l := loop.Loop{Tick: time.Hour, Failed: func(error) { failures.Add(1) }, Stopped: func() { close(stopped) }}
	l.Start(context.Background(), func(ctx context.Context) (int, error) {
		passes.Add(1)
		if work.Load() == -1 {
			return 0, errors.New("broken")
		}
		if work.Load() > 0 {
			work.Add(-1)
			return 1, nil
		}
		select {
		case inPass <- struct{}{}:
		default:
		}
		return 0, nil
	})
	<-inPass // five passes with work, then one without: it now waits for its hour-long tick
	require.Equal(t, int32(6), passes.Load())
	work.Store(-1)
	l.Wake()
	require.Eventually(t, func() bool { return failures.Load() == 1 }, 5*time.Second, time.Millisecond, "Wake starts a pass now")
	require.Equal(t, int32(7), passes.Load())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.Stop(ctx)
	select {
	case <-stopped:
	default:
		t.Fatal("Stop returned before the loop stopped")
	}
}
