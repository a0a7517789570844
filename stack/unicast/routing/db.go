package routing

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// DB is a link-state database: the newest LSU of every origin, each stamped
// with when it arrived. It is safe for concurrent use; Compute may run
// while Update is called. Nothing it returns aliases its contents.
type DB struct {
	mu      sync.RWMutex
	lsus    map[addr.Addr]*entry
	self    addr.Addr
	version uint64
}

// entry is one stored LSU. The DB owns lsu.Links.
type entry struct {
	lsu   LSU
	stamp time.Time
}

// NewDB returns an empty DB.
func NewDB() *DB {
	return &DB{lsus: make(map[addr.Addr]*entry)}
}

// Update stores a copy of u if the DB holds no LSU for u.Origin or holds
// one with a lower Seq, stamping it with now. It returns accepted when it
// stored u: the caller floods u on to its other neighbours. It returns
// conflict when the DB held an LSU for u.Origin with a different NodeID:
// two members claim one address. On a conflict the higher Seq still wins.
//
// An LSU with an equal Seq is a duplicate: it is not accepted and does not
// refresh the stamp, so echoes of a vanished member's LSU cannot keep it
// alive. An LSU that AppendBinary would refuse is ignored (false, false).
func (d *DB) Update(u LSU, now time.Time) (accepted, conflict bool) {
	if u.check() != nil {
		return false, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.lsus[u.Origin]; ok {
		conflict = old.lsu.NodeID != u.NodeID
		if u.Seq <= old.lsu.Seq {
			return false, conflict
		}
	}
	d.lsus[u.Origin] = &entry{lsu: u.clone(), stamp: now}
	d.version++
	return true, conflict
}

// Remove drops the LSU of origin, reporting whether there was one.
func (d *DB) Remove(origin addr.Addr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.lsus[origin]; !ok {
		return false
	}
	delete(d.lsus, origin)
	d.version++
	return true
}

// Expire drops every LSU stamped more than timeout before now, except the
// one of the address given to SetSelf, and returns the dropped origins in
// ascending order. Members re-originate their LSU (with a higher Seq) more
// often than timeout, so an expired LSU belongs to a member that is gone
// or cut off.
func (d *DB) Expire(now time.Time, timeout time.Duration) []addr.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	var gone []addr.Addr
	for origin, e := range d.lsus {
		if origin != d.self && now.Sub(e.stamp) > timeout {
			gone = append(gone, origin)
		}
	}
	for _, origin := range gone {
		delete(d.lsus, origin)
	}
	if len(gone) > 0 {
		d.version++
	}
	slices.Sort(gone)
	return gone
}

// SetSelf sets the local member's address: Expire never drops its LSU. It
// may change, as when the member re-addresses after a collision; the old
// address's LSU then expires like any other.
func (d *DB) SetSelf(self addr.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.self = self
}

// Get returns a copy of the LSU of origin, if the DB holds one.
func (d *DB) Get(origin addr.Addr) (LSU, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.lsus[origin]
	if !ok {
		return LSU{}, false
	}
	return e.lsu.clone(), true
}

// All returns a copy of every LSU, in ascending order of origin: the full
// dump a member sends a new neighbour.
func (d *DB) All() []LSU {
	d.mu.RLock()
	defer d.mu.RUnlock()
	all := make([]LSU, 0, len(d.lsus))
	for _, e := range d.lsus {
		all = append(all, e.lsu.clone())
	}
	slices.SortFunc(all, func(a, b LSU) int { return cmp.Compare(a.Origin, b.Origin) })
	return all
}

// Members returns the origin of every LSU in the DB, in ascending order.
func (d *DB) Members() []addr.Addr {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.originsLocked()
}

// Version returns a number that grows on every change to the DB's LSUs, so
// the caller can skip recomputing routes when it has not moved.
func (d *DB) Version() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.version
}

// originsLocked returns the stored origins in ascending order; d.mu is held.
func (d *DB) originsLocked() []addr.Addr {
	origins := make([]addr.Addr, 0, len(d.lsus))
	for origin := range d.lsus {
		origins = append(origins, origin)
	}
	slices.Sort(origins)
	return origins
}
