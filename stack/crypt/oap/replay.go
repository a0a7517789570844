package oap

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// The acceptance window of a request's timestamp, relative to the server's
// clock. The future bound absorbs clock skew; the past bound also covers
// the time a request spends in transit and queued.
const (
	MaxFuture = 5 * time.Second
	MaxAge    = 30 * time.Second
)

// DefaultReplayCache is the number of request ids a Server remembers:
// a little over 2000 allocations a second sustained over MaxAge.
const DefaultReplayCache = 65536

// replayCache remembers the ids of the requests accepted whose timestamps
// are still inside the window. Once a timestamp is older than MaxAge, a
// replay of that request is refused by its age, so its id can go. It never
// forgets an id before then: when full, it refuses new ones instead.
type replayCache struct {
	mu   sync.Mutex
	max  int
	seen map[[idSize]byte]struct{}
	byTS tsHeap // the same ids, oldest timestamp first
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[[idSize]byte]struct{})}
}

// has reports whether id is in the cache at now: a cheap early refusal
// before the costly checks. Only add is authoritative.
func (c *replayCache) has(id [idSize]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	_, ok := c.seen[id]
	return ok
}

// add records id with its request's timestamp ts, unless it is already
// there (ErrReplay) or the cache is full of ids still in the window
// (ErrReplayCacheFull).
func (c *replayCache) add(id [idSize]byte, ts, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if _, ok := c.seen[id]; ok {
		return fmt.Errorf("%w: id %x", ErrReplay, id)
	}
	if len(c.seen) >= c.max {
		next := c.byTS[0].ts.Add(MaxAge).Sub(now)
		return fmt.Errorf("%w: %d ids in the window, the oldest leaves in %v", ErrReplayCacheFull, len(c.seen), next)
	}
	c.seen[id] = struct{}{}
	heap.Push(&c.byTS, tsEntry{ts: ts, id: id})
	return nil
}

// expire drops the ids whose timestamps left the window.
func (c *replayCache) expire(now time.Time) {
	oldest := now.Add(-MaxAge)
	for len(c.byTS) > 0 && c.byTS[0].ts.Before(oldest) {
		e := heap.Pop(&c.byTS).(tsEntry)
		delete(c.seen, e.id)
	}
}

// size returns the number of ids held.
func (c *replayCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

type tsEntry struct {
	ts time.Time
	id [idSize]byte
}

// tsHeap is a min-heap of entries by timestamp. Timestamps come from many
// clocks, so ids do not arrive in timestamp order and a queue would not do.
type tsHeap []tsEntry

func (h tsHeap) Len() int           { return len(h) }
func (h tsHeap) Less(i, j int) bool { return h[i].ts.Before(h[j].ts) }
func (h tsHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *tsHeap) Push(x any)        { *h = append(*h, x.(tsEntry)) }
func (h *tsHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
