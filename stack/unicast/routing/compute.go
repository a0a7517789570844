package routing

// Route computation, run whenever the DB's Version moves:
//
//	DB ──graph (read lock)──► symmetric graph: links both ends list, max metric
//	      │
//	      ├─ Dijkstra from self ──► dist(S,·), lowest first hop ──► link_state
//	      └─ [lfa, ecmp] Dijkstra from each neighbour N ──► dist(N,·)
//	              ├─ lfa:  alternates N with dist(N,D) < dist(N,S) + dist(S,D)
//	              └─ ecmp: next hops N with metric(S,N) + dist(N,D) = dist(S,D)
//
// Cost: one Dijkstra, plus one per neighbour of self for lfa and ecmp.

import (
	"cmp"
	"math"
	"slices"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Compute returns a route from self to every member reachable from it
// under policy p; self itself and unreachable members have none. Self's
// own LSU must be in the DB: links count only when both ends list them,
// with the larger of the two metrics (see the package comment). Ties break
// towards the lowest neighbour address, so the result is deterministic.
// An unknown policy computes as LinkState (ParsePolicy keeps them out).
func (d *DB) Compute(self addr.Addr, p Policy) map[addr.Addr]Route {
	g := d.graph()
	s, ok := g.index(self)
	if !ok {
		return map[addr.Addr]Route{}
	}
	c := newComputation(g, s)
	switch p {
	case LFA:
		c.neighbourDists()
		return c.routes(c.lfaHops, false)
	case ECMP:
		c.neighbourDists()
		return c.routes(c.ecmpHops, true)
	default:
		return c.routes(c.primaryHop, false)
	}
}

// computation holds the shortest-path state of one Compute call.
type computation struct {
	g     *graph
	s     int32
	dist  []uint64 // dist(S,·)
	first []int32  // the lowest first hop on a shortest path from S
	nbrs  []int32  // neighbours of S, ascending
	nbrM  []uint16 // metric(S, nbrs[i])
	// nbrDist[i*n+v] is dist(nbrs[i], v); only for lfa and ecmp.
	nbrDist []uint64
	h       heap
	cand    []cand // scratch for one destination's next hops
}

// cand is a candidate next hop and the cost of reaching the destination
// through it.
type cand struct {
	cost uint64
	nbr  int32
}

func newComputation(g *graph, s int32) *computation {
	n := len(g.addrs)
	c := &computation{g: g, s: s, dist: make([]uint64, n), first: make([]int32, n)}
	c.nbrs, c.nbrM = g.edges(s)
	c.h = g.shortest(s, c.dist, c.first, nil)
	return c
}

// neighbourDists runs Dijkstra from every neighbour of S.
func (c *computation) neighbourDists() {
	n := len(c.g.addrs)
	c.nbrDist = make([]uint64, len(c.nbrs)*n)
	for i, nb := range c.nbrs {
		c.h = c.g.shortest(nb, c.nbrDist[i*n:(i+1)*n], nil, c.h)
	}
}

// nbrDistTo returns dist(nbrs[i], v).
func (c *computation) nbrDistTo(i int, v int32) uint64 {
	return c.nbrDist[i*len(c.g.addrs)+int(v)]
}

// routes builds the route to every reachable destination, appending its
// next hops with hops. All next hops share one backing array; each route's
// slice is capped so appending to it cannot overwrite another's.
func (c *computation) routes(hops func([]addr.Addr, int32) []addr.Addr, multipath bool) map[addr.Addr]Route {
	rs := make(map[addr.Addr]Route, len(c.g.addrs))
	all := make([]addr.Addr, 0, len(c.g.addrs))
	for v, dv := range c.dist {
		if int32(v) == c.s || dv == unreachable {
			continue
		}
		start := len(all)
		all = hops(all, int32(v))
		rs[c.g.addrs[v]] = Route{
			NextHops:  all[start:len(all):len(all)],
			Multipath: multipath,
			Cost:      uint32(min(dv, math.MaxUint32)),
		}
	}
	return rs
}

// primaryHop appends the link_state next hop to d.
func (c *computation) primaryHop(hops []addr.Addr, d int32) []addr.Addr {
	return append(hops, c.g.addrs[c.first[d]])
}

// lfaHops appends the primary next hop to d, then every other neighbour N
// that is a loop-free alternate, dist(N,D) < dist(N,S) + dist(S,D) (RFC
// 5286 inequality 1): N's own shortest path to D does not come back
// through S. Alternates are ordered by metric(S,N) + dist(N,D), then by
// address.
func (c *computation) lfaHops(hops []addr.Addr, d int32) []addr.Addr {
	primary := c.first[d]
	hops = append(hops, c.g.addrs[primary])
	c.cand = c.cand[:0]
	for i, nb := range c.nbrs {
		nd := c.nbrDistTo(i, d)
		if nb == primary || nd == unreachable {
			continue
		}
		if nd < c.nbrDistTo(i, c.s)+c.dist[d] {
			c.cand = append(c.cand, cand{uint64(c.nbrM[i]) + nd, nb})
		}
	}
	slices.SortFunc(c.cand, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(a.nbr, b.nbr))
	})
	for _, x := range c.cand {
		hops = append(hops, c.g.addrs[x.nbr])
	}
	return hops
}

// ecmpHops appends every neighbour N on a shortest path to d, metric(S,N)
// + dist(N,D) = dist(S,D), in ascending order of address.
func (c *computation) ecmpHops(hops []addr.Addr, d int32) []addr.Addr {
	for i, nb := range c.nbrs {
		if nd := c.nbrDistTo(i, d); nd != unreachable && uint64(c.nbrM[i])+nd == c.dist[d] {
			hops = append(hops, c.g.addrs[nb])
		}
	}
	return hops
}
