package ticket

import (
	"context"
	"testing"

	"github.com/google/uuid"
)

// A value read before a forget is used but not kept: the next get reads again.
func TestCacheDropsWhatWasReadBeforeAForget(t *testing.T) {
	c := newTTLCache[int]()
	id := uuid.New()
	reads := 0
	load := func(context.Context, uuid.UUID) (int, error) { reads++; return reads, nil }
	if v, _ := c.get(context.Background(), id, load); v != 1 {
		t.Fatalf("first get = %d, want 1", v)
	}
	if v, _ := c.get(context.Background(), id, load); v != 1 {
		t.Fatalf("cached get = %d, want 1", v)
	}
	slow := func(ctx context.Context, id uuid.UUID) (int, error) {
		c.forget(id) // a change lands while this read is in flight
		return 100, nil
	}
	c.forget(id)
	if v, _ := c.get(context.Background(), id, slow); v != 100 {
		t.Fatalf("get during a change = %d, want what it read", v)
	}
	if v, _ := c.get(context.Background(), id, load); v != 2 {
		t.Fatalf("get after a change = %d, want a fresh read (2)", v)
	}
}
