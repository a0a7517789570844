// Package mac is the MAC table of the overlay engine's tap mode: it learns
// which peer each source MAC address lives behind, ages entries out, and
// tells the engine where to send a frame.
//
// Contracts:
//   - Learn(src, p) records that src was seen behind peer p. A MAC learned
//     behind one peer does not move to another before it ages out, unless
//     the table allows moves: a refused move is counted and reported, and
//     the engine drops the frame (the anti-spoofing rule of tap mode).
//   - Lookup(dst) returns the peer behind a known unicast dst. Group
//     addresses (broadcast, multicast) and unknown or aged-out addresses
//     have no peer: the engine floods the frame, with Flood, to every peer
//     but the one it came from (split horizon).
//   - The table holds at most Config.Max entries: learning a new MAC in a
//     full table first drops aged-out entries, then the least recently
//     seen one (approximately: a second-chance queue), and counts it.
//   - Source addresses that are group addresses or zero are never learned.
//
// Lookup, and Learn of a MAC already learned behind the same peer (the
// common case, once per received frame), take a read lock only and allocate
// nothing. The table is safe for concurrent use.
package mac

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Addr is an Ethernet MAC address.
type Addr [6]byte

// IsGroup reports whether a is a group (multicast or broadcast) address.
func (a Addr) IsGroup() bool { return a[0]&1 != 0 }

// String formats a as six colon-separated hex bytes.
func (a Addr) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5])
}

// DefaultAge is how long a MAC stays learned without a frame from it, as on
// Linux bridges.
const DefaultAge = 300 * time.Second

// DefaultMax bounds the table when Config.Max is zero.
const DefaultMax = 4096

// Config sets a table's policy. The zero Config is DefaultAge, DefaultMax,
// no moves and the system clock.
type Config struct {
	Age       time.Duration    // how long an entry lives after its last frame; 0: DefaultAge
	Max       int              // entries at most; 0: DefaultMax
	AllowMove bool             // a learned MAC may move to another peer at once
	Now       func() time.Time // the clock, for tests; nil: time.Now
}

// Result says what Learn did.
type Result int

const (
	Refreshed Result = iota // known behind the same peer; its age restarts
	Learned                 // new, or aged out and learned again
	Moved                   // was behind another peer; AllowMove let it move
	Refused                 // behind another peer and not aged out: frame to drop
	Ignored                 // a group or zero source: not learned
)

// Stats are a table's counters since New.
type Stats struct {
	Entries int    // entries now held, aged-out ones included until dropped
	Learned uint64 // new entries
	Moved   uint64 // moves allowed by AllowMove
	Refused uint64 // moves refused
	Evicted uint64 // entries dropped to make room while not aged out
	Expired uint64 // aged-out entries dropped
}

// Table is a MAC table for peers of type P. Create it with New.
type Table[P comparable] struct {
	cfg Config
	mu  sync.RWMutex
	m   map[Addr]*entry[P]
	q   []*entry[P] // second-chance queue, oldest first; holds every entry once

	learned, moved, refused, evicted, expired atomic.Uint64
}

type entry[P comparable] struct {
	mac    Addr
	peer   P
	seen   atomic.Int64 // last frame, Unix nanoseconds
	queued int64        // seen when it was last (re)queued
}

// New returns an empty table with policy cfg.
func New[P comparable](cfg Config) *Table[P] {
	if cfg.Age <= 0 {
		cfg.Age = DefaultAge
	}
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Table[P]{cfg: cfg, m: make(map[Addr]*entry[P])}
}

// live reports whether e was seen within the ageing time before now.
func (t *Table[P]) live(e *entry[P], now int64) bool {
	return now-e.seen.Load() < int64(t.cfg.Age)
}

// Lookup returns the peer behind dst, if dst is a unicast address learned
// and not aged out.
func (t *Table[P]) Lookup(dst Addr) (P, bool) {
	var zero P
	if dst.IsGroup() {
		return zero, false
	}
	now := t.cfg.Now().UnixNano()
	t.mu.RLock()
	defer t.mu.RUnlock() // e.peer changes under the write lock
	e := t.m[dst]
	if e == nil || !t.live(e, now) {
		return zero, false
	}
	return e.peer, true
}

// Learn records a frame from src received from peer p.
func (t *Table[P]) Learn(src Addr, p P) Result {
	if src.IsGroup() || src == (Addr{}) {
		return Ignored
	}
	now := t.cfg.Now().UnixNano()
	t.mu.RLock()
	e := t.m[src]
	if e != nil && e.peer == p {
		e.seen.Store(now)
		t.mu.RUnlock()
		return Refreshed
	}
	t.mu.RUnlock()

	t.mu.Lock()
	defer t.mu.Unlock()
	e = t.m[src] // it may have changed between the locks
	switch {
	case e == nil:
		t.insert(src, p, now)
		return Learned
	case e.peer == p:
		e.seen.Store(now)
		return Refreshed
	case !t.live(e, now):
		e.peer = p
		e.seen.Store(now)
		t.learned.Add(1)
		return Learned
	case t.cfg.AllowMove:
		e.peer = p
		e.seen.Store(now)
		t.moved.Add(1)
		return Moved
	default:
		t.refused.Add(1)
		return Refused
	}
}

// insert adds a new entry, making room first. It runs with t.mu held.
func (t *Table[P]) insert(src Addr, p P, now int64) {
	if len(t.m) >= t.cfg.Max {
		t.sweep(now)
	}
	for len(t.m) >= t.cfg.Max {
		t.evictOne()
	}
	e := &entry[P]{mac: src, peer: p, queued: now}
	e.seen.Store(now)
	t.m[src] = e
	t.q = append(t.q, e)
	t.learned.Add(1)
}

// evictOne drops the least recently seen entry, approximately: the queue's
// head goes, unless it was seen since it was queued, in which case it goes
// to the back and the next is tried. Each entry is requeued at most once per
// frame seen, so the loop ends. It runs with t.mu held.
func (t *Table[P]) evictOne() {
	for {
		e := t.q[0]
		t.q = t.q[1:]
		if s := e.seen.Load(); s != e.queued {
			e.queued = s
			t.q = append(t.q, e)
			continue
		}
		delete(t.m, e.mac)
		t.evicted.Add(1)
		return
	}
}

// Sweep drops the entries aged out by now. The engine calls it now and
// then (a table that is never swept still never answers with an aged-out
// entry, and learning in a full table sweeps first).
func (t *Table[P]) Sweep() {
	now := t.cfg.Now().UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
}

// sweep runs with t.mu held.
func (t *Table[P]) sweep(now int64) {
	q := t.q[:0]
	for _, e := range t.q {
		if t.live(e, now) {
			q = append(q, e)
			continue
		}
		delete(t.m, e.mac)
		t.expired.Add(1)
	}
	clear(t.q[len(q):]) // let the dropped entries be collected
	t.q = q
}

// RemovePeer forgets every MAC learned behind p, as when its flow goes.
func (t *Table[P]) RemovePeer(p P) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.q[:0]
	for _, e := range t.q {
		if e.peer == p {
			delete(t.m, e.mac)
			continue
		}
		q = append(q, e)
	}
	clear(t.q[len(q):])
	t.q = q
}

// Stats returns the table's counters.
func (t *Table[P]) Stats() Stats {
	t.mu.RLock()
	n := len(t.m)
	t.mu.RUnlock()
	return Stats{
		Entries: n,
		Learned: t.learned.Load(),
		Moved:   t.moved.Load(),
		Refused: t.refused.Load(),
		Evicted: t.evicted.Load(),
		Expired: t.expired.Load(),
	}
}

// Flood appends to dst every peer of peers except from, the peer a frame
// came from (split horizon: a flooded frame never goes back where it came
// from, so two sites cannot loop it between them). It allocates nothing when
// dst has room; the engine reuses one dst per goroutine.
func Flood[P comparable](dst, peers []P, from P) []P {
	for _, p := range peers {
		if p != from {
			dst = append(dst, p)
		}
	}
	return dst
}
