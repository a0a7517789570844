package dt

import (
	"slices"
	"sync/atomic"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// NextHops are the neighbours a destination is reached through, as routing
// computes them. Without Multipath, Hops[0] is the primary next hop and the
// rest are loop-free alternates in order of preference; with Multipath,
// Hops is a set of equal-cost next hops that flows are spread over.
type NextHops struct {
	Hops      []addr.Addr
	Multipath bool
}

// route is a table entry: the next hops and, for multipath, a hash per
// hop computed once at Replace so a lookup only mixes in the flow key.
type route struct {
	hops      []addr.Addr
	seeds     []uint64
	multipath bool
}

// Table is a forwarding table for one QoS cube: destination to next hops.
// Lookups are lock-free and safe from any number of goroutines; Replace
// swaps in a whole new table atomically, so a lookup sees either the old
// routes or the new ones, never a mix.
type Table struct {
	routes atomic.Pointer[map[addr.Addr]route]
}

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{}
	t.Replace(nil)
	return t
}

// Replace makes routes the table's contents. The table keeps its own copy,
// so the caller may reuse routes and its slices. Destinations without hops
// are left out.
func (t *Table) Replace(routes map[addr.Addr]NextHops) {
	m := make(map[addr.Addr]route, len(routes))
	for dst, nh := range routes {
		if len(nh.Hops) == 0 {
			continue
		}
		r := route{hops: slices.Clone(nh.Hops), multipath: nh.Multipath && len(nh.Hops) > 1}
		if r.multipath {
			r.seeds = make([]uint64, len(r.hops))
			for i, h := range r.hops {
				r.seeds[i] = mix64(uint64(h))
			}
		}
		m[dst] = r
	}
	t.routes.Store(&m)
}

// Routes returns a copy of the table's contents, for status displays.
func (t *Table) Routes() map[addr.Addr]NextHops {
	m := *t.routes.Load()
	out := make(map[addr.Addr]NextHops, len(m))
	for dst, r := range m {
		out[dst] = NextHops{Hops: slices.Clone(r.hops), Multipath: r.multipath}
	}
	return out
}

// Len returns the number of destinations in the table.
func (t *Table) Len() int { return len(*t.routes.Load()) }

// Lookup returns the next hop towards dst whose lower flow up reports as
// usable (a nil up counts every hop as up). Without multipath it is the
// first usable hop in order, so traffic fails over to a loop-free
// alternate as soon as the primary's flow goes down, without waiting for
// routing. With multipath it picks among the usable hops by flowKey with
// rendezvous hashing: a flow stays on its hop as long as that hop is up,
// flows spread evenly, and a hop going down moves only its own flows.
// It returns false if dst is unknown or none of its hops is up.
// Lookup does not allocate.
func (t *Table) Lookup(dst addr.Addr, flowKey uint64, up func(addr.Addr) bool) (addr.Addr, bool) {
	r, ok := (*t.routes.Load())[dst]
	if !ok {
		return addr.None, false
	}
	if !r.multipath {
		for _, h := range r.hops {
			if up == nil || up(h) {
				return h, true
			}
		}
		return addr.None, false
	}
	return r.pick(flowKey, up)
}

// pick is the multipath choice: of the usable hops, the one whose hash
// with the flow key is highest.
func (r *route) pick(flowKey uint64, up func(addr.Addr) bool) (addr.Addr, bool) {
	best, bestScore, found := addr.None, uint64(0), false
	key := mix64(flowKey)
	for i, h := range r.hops {
		if up != nil && !up(h) {
			continue
		}
		if s := mix64(key ^ r.seeds[i]); !found || s > bestScore {
			best, bestScore, found = h, s, true
		}
	}
	return best, found
}

// mix64 is a bijective 64-bit mixer (the splitmix64 finalizer): every
// input bit affects every output bit, so nearby flow keys and addresses
// hash far apart.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
