package oap

import (
	"fmt"
	"slices"
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

// DefaultReplayCache is the number of request ids a Server remembers in
// all: about 3700 allocations a second sustained over the window
// (MaxFuture+MaxAge); beyond, the window shrinks rather than forget an id
// (see replayCache). At about 80 bytes an id with its share of the
// bookkeeping (measured: 4.8 MB for 61 537 ids from 64 000 sources), the
// cache never holds more than about 11 MB.
const DefaultReplayCache = 131072

// DefaultReplayPerSource is the number of ids one source may hold in the
// window: about 115 allocations a second sustained from one source (a
// host, or a NAT in front of many), with bursts of thousands. A source
// over it is refused; the others are not.
const DefaultReplayPerSource = 4096

// replayCache remembers the ids of the requests accepted whose timestamps
// are still inside the window, in one-second buckets by timestamp, each id
// charged to the source it came from.
//
// It is exact: an id in the window is never forgotten while a replay of it
// could be accepted. A replay is refused whatever source it comes from (the
// ids are looked up across all sources); ids leave only with their bucket,
// once every timestamp in it is older than MaxAge and the age check refuses
// it. When the cache is full of ids from many sources, it drops its oldest
// bucket and raises floor past it, so that requests with timestamps that
// old are refused from then on (the window shrinks under pressure): a
// legitimate request, stamped now, still gets in unless max ids newer than
// it arrived within the window.
//
// It is partitioned: one source holds at most perSource ids and is refused
// beyond that (ErrReplayCacheFull, for it alone), so that it can neither
// fill the cache nor, alone, push the floor up to the present.
type replayCache struct {
	mu        sync.Mutex
	max       int // ids held in all
	perSource int // ids held for one source
	seen      map[[idSize]byte]struct{}
	buckets   map[int64]*replayBucket // by the Unix second of the timestamps
	secs      []int64                 // the keys of buckets, ascending
	sources   map[string]*replaySource
	floor     time.Time // timestamps before it are refused: their ids may be gone
}

type replayBucket struct{ ids []replayEntry }

type replayEntry struct {
	id  [idSize]byte
	src *replaySource
}

// replaySource is a source with ids in the cache; it goes with its last.
type replaySource struct {
	key string
	n   int
}

func newReplayCache(max, perSource int) *replayCache {
	return &replayCache{max: max, perSource: min(perSource, max),
		seen:    make(map[[idSize]byte]struct{}),
		buckets: make(map[int64]*replayBucket),
		sources: make(map[string]*replaySource)}
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

// add records id, from source src, with its request's timestamp ts,
// unless it is already there (ErrReplay), ts is too old to be checked
// (ErrTimestamp), src holds its share of the cache, or the cache is full
// of ids at least as new as ts (ErrReplayCacheFull).
func (c *replayCache) add(src string, id [idSize]byte, ts, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if _, ok := c.seen[id]; ok {
		return fmt.Errorf("%w: id %x", ErrReplay, id)
	}
	if ts.Before(now.Add(-MaxAge)) {
		return fmt.Errorf("%w: timestamp %v is %v old (at most %v)", ErrTimestamp, ts.UTC(), now.Sub(ts), MaxAge)
	}
	if ts.Before(c.floor) {
		return fmt.Errorf("%w: timestamp %v is older than %v, the oldest this host checks for replays while its replay cache is full (%d ids)",
			ErrTimestamp, ts.UTC(), c.floor.UTC(), len(c.seen))
	}
	s := c.sources[src]
	if s != nil && s.n >= c.perSource {
		return fmt.Errorf("%w for source %s: it has %d requests in the last %v, at most %d a source; it allocates faster than this host admits, or replays",
			ErrReplayCacheFull, src, s.n, MaxFuture+MaxAge, c.perSource)
	}
	sec := ts.Unix()
	for len(c.seen) >= c.max && len(c.secs) > 0 && c.secs[0] < sec {
		c.evictOldest()
	}
	if len(c.seen) >= c.max {
		return fmt.Errorf("%w: %d ids in the window, all with timestamps as new as this request's; it is refused rather than let replays in",
			ErrReplayCacheFull, len(c.seen))
	}
	if s == nil {
		s = &replaySource{key: src}
		c.sources[src] = s
	}
	s.n++
	c.seen[id] = struct{}{}
	b := c.buckets[sec]
	if b == nil {
		b = &replayBucket{}
		c.buckets[sec] = b
		i, _ := slices.BinarySearch(c.secs, sec)
		c.secs = slices.Insert(c.secs, i, sec)
	}
	b.ids = append(b.ids, replayEntry{id: id, src: s})
	return nil
}

// expire drops the buckets whose timestamps all left the window: a replay
// of their ids is refused by its age.
func (c *replayCache) expire(now time.Time) {
	cutoff := now.Add(-MaxAge)
	for len(c.secs) > 0 && !time.Unix(c.secs[0]+1, 0).After(cutoff) {
		c.dropOldest()
	}
}

// evictOldest drops the oldest bucket while its ids are still in the
// window, and raises the floor past it so that they stay refused.
func (c *replayCache) evictOldest() {
	c.floor = time.Unix(c.secs[0]+1, 0)
	c.dropOldest()
}

func (c *replayCache) dropOldest() {
	sec := c.secs[0]
	c.secs = c.secs[1:]
	for _, e := range c.buckets[sec].ids {
		delete(c.seen, e.id)
		if e.src.n--; e.src.n == 0 {
			delete(c.sources, e.src.key)
		}
	}
	delete(c.buckets, sec)
	if len(c.secs) == 0 {
		c.secs = nil // let the array go
	}
}

// size returns the number of ids held.
func (c *replayCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// held returns the number of ids held for src.
func (c *replayCache) held(src string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sources[src]; s != nil {
		return s.n
	}
	return 0
}
