package routing

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/dt"
)

// topology is a set of LSUs with an independent, brute-force reference of
// what Compute must find: Floyd–Warshall over the links both ends list,
// each weighted with the larger of its two metrics.
type topology struct {
	lsus   []LSU
	addrs  []addr.Addr // ascending
	index  map[addr.Addr]int
	metric map[[2]int]uint64 // bidirectional links only, both directions
	dist   [][]uint64        // all pairs; inf if unreachable
}

const inf = ^uint64(0)

// newTopology builds the reference for lsus. links maps origin to its
// links in any order; newTopology sorts them.
func newTopology(links map[addr.Addr][]Link) *topology {
	tp := &topology{index: map[addr.Addr]int{}, metric: map[[2]int]uint64{}}
	for a := range links {
		tp.addrs = append(tp.addrs, a)
	}
	slices.Sort(tp.addrs)
	for i, a := range tp.addrs {
		tp.index[a] = i
		ls := slices.Clone(links[a])
		slices.SortFunc(ls, func(x, y Link) int { return cmp.Compare(x.Neighbour, y.Neighbour) })
		tp.lsus = append(tp.lsus, LSU{Origin: a, NodeID: uint64(a) * 3, Seq: 1, Links: ls})
	}
	for _, u := range tp.lsus {
		for _, l := range u.Links {
			for _, back := range links[l.Neighbour] {
				if back.Neighbour == u.Origin {
					i, j := tp.index[u.Origin], tp.index[l.Neighbour]
					tp.metric[[2]int{i, j}] = uint64(max(l.Metric, back.Metric))
				}
			}
		}
	}
	n := len(tp.addrs)
	tp.dist = make([][]uint64, n)
	for i := range tp.dist {
		tp.dist[i] = make([]uint64, n)
		for j := range tp.dist[i] {
			if m, ok := tp.metric[[2]int{i, j}]; ok {
				tp.dist[i][j] = m
			} else if i != j {
				tp.dist[i][j] = inf
			}
		}
	}
	for k := range n {
		for i := range n {
			for j := range n {
				if tp.dist[i][k] != inf && tp.dist[k][j] != inf && tp.dist[i][k]+tp.dist[k][j] < tp.dist[i][j] {
					tp.dist[i][j] = tp.dist[i][k] + tp.dist[k][j]
				}
			}
		}
	}
	return tp
}

// db returns a DB holding the topology's LSUs.
func (tp *topology) db(t testing.TB) *DB {
	d := NewDB()
	for _, u := range tp.lsus {
		if ok, _ := d.Update(u, time.Unix(0, 0)); !ok {
			t.Fatalf("LSU of %v not accepted", u.Origin)
		}
	}
	return d
}

// d returns the reference distance between two addresses.
func (tp *topology) d(a, b addr.Addr) uint64 { return tp.dist[tp.index[a]][tp.index[b]] }

// m returns the metric of the link between a and b, if it is up.
func (tp *topology) m(a, b addr.Addr) (uint64, bool) {
	m, ok := tp.metric[[2]int{tp.index[a], tp.index[b]}]
	return m, ok
}

// neighbours returns the addresses a has an up link to, ascending.
func (tp *topology) neighbours(a addr.Addr) []addr.Addr {
	var ns []addr.Addr
	for _, b := range tp.addrs {
		if _, ok := tp.m(a, b); ok {
			ns = append(ns, b)
		}
	}
	return ns
}

// randomTopology returns a connected random graph of n members with random
// addresses, a spanning tree plus about n/2+ random extra links, metrics
// 1–maxMetric chosen independently per direction, and some links only one
// end lists, which must not count.
func randomTopology(rng *rand.Rand, n, maxMetric int) *topology {
	as := make([]addr.Addr, 0, n)
	seen := map[addr.Addr]bool{}
	for len(as) < n {
		a := addr.Addr(rng.Uint64N(uint64(n) * 8))
		if a != 0 && !seen[a] {
			seen[a] = true
			as = append(as, a)
		}
	}
	links := map[addr.Addr][]Link{}
	linked := map[[2]addr.Addr]bool{}
	metric := func() uint16 { return uint16(1 + rng.IntN(maxMetric)) }
	add := func(a, b addr.Addr, both bool) {
		if a == b || linked[[2]addr.Addr{a, b}] {
			return
		}
		linked[[2]addr.Addr{a, b}], linked[[2]addr.Addr{b, a}] = true, true
		links[a] = append(links[a], Link{b, metric()})
		if both {
			links[b] = append(links[b], Link{a, metric()})
		}
	}
	for _, a := range as {
		links[a] = nil
	}
	for i := 1; i < n; i++ {
		add(as[i], as[rng.IntN(i)], true)
	}
	for range n/2 + rng.IntN(n) {
		add(as[rng.IntN(n)], as[rng.IntN(n)], true)
	}
	for range 1 + n/10 {
		add(as[rng.IntN(n)], as[rng.IntN(n)], false)
	}
	return newTopology(links)
}

// allRoutes computes the routes of every member under p.
func allRoutes(d *DB, tp *topology, p Policy) map[addr.Addr]map[addr.Addr]Route {
	rs := map[addr.Addr]map[addr.Addr]Route{}
	for _, s := range tp.addrs {
		rs[s] = d.Compute(s, p)
	}
	return rs
}

// coverage counts what checkTopology saw, so tests can insist the random
// graphs exercised the interesting cases.
type coverage struct{ routes, alternates, multipath, spread int }

// checkTopology checks the routes every policy computes on tp against the
// reference: reachability and cost, next-hop sets, loop-freedom of
// primaries, LFA alternates and per-flow ECMP choices. spread limits how
// many multipath routes get the 1000-flow spreading check.
func checkTopology(t testing.TB, tp *topology, spread int) (cov coverage) {
	d := tp.db(t)
	ls, lfa, ecmp := allRoutes(d, tp, LinkState), allRoutes(d, tp, LFA), allRoutes(d, tp, ECMP)
	tables := map[addr.Addr]*dt.Table{}
	for at, routes := range ecmp {
		tables[at] = tableOf(routes)
	}
	for _, s := range tp.addrs {
		for _, dst := range tp.addrs {
			r, ok := ls[s][dst]
			if s == dst || tp.d(s, dst) == inf {
				if ok || has(lfa[s], dst) || has(ecmp[s], dst) {
					t.Fatalf("%v has a route to %v, which is itself or unreachable", s, dst)
				}
				continue
			}
			if !ok || !has(lfa[s], dst) || !has(ecmp[s], dst) {
				t.Fatalf("%v lacks a route to reachable %v", s, dst)
			}
			want := equalCostHops(tp, s, dst)
			cov.routes++
			cov.alternates += len(lfa[s][dst].NextHops) - 1
			if len(want) > 1 {
				cov.multipath++
			}
			checkPrimary(t, tp, ls, s, dst, r, want)
			checkLFA(t, tp, ls, s, dst, lfa[s][dst], r.NextHops[0])
			checkECMP(t, tp, ecmp[s][dst], tables, s, dst, want)
			if len(want) > 1 && len(want) <= 6 && spread > 0 {
				spread--
				cov.spread++
				checkSpread(t, ecmp[s][dst])
			}
		}
	}
	return cov
}

func has(rs map[addr.Addr]Route, d addr.Addr) bool {
	_, ok := rs[d]
	return ok
}

// equalCostHops returns, by brute force, every neighbour of s on a shortest
// path to d, ascending.
func equalCostHops(tp *topology, s, d addr.Addr) []addr.Addr {
	var hops []addr.Addr
	for _, n := range tp.neighbours(s) {
		if m, _ := tp.m(s, n); m+tp.d(n, d) == tp.d(s, d) {
			hops = append(hops, n)
		}
	}
	return hops
}

// checkPrimary checks the link_state route from s to d and that following
// primaries from s reaches d, loop-free, at the shortest-path cost.
func checkPrimary(t testing.TB, tp *topology, ls map[addr.Addr]map[addr.Addr]Route, s, d addr.Addr, r Route, ecmp []addr.Addr) {
	if len(r.NextHops) != 1 || r.Multipath || uint64(r.Cost) != tp.d(s, d) {
		t.Fatalf("link_state %v→%v: %+v, want one hop at cost %d", s, d, r, tp.d(s, d))
	}
	if r.NextHops[0] != ecmp[0] {
		t.Fatalf("link_state %v→%v through %v, want the lowest of %v", s, d, r.NextHops[0], ecmp)
	}
	cost, path := walk(t, tp, s, d, func(at addr.Addr) addr.Addr { return ls[at][d].NextHops[0] })
	if cost != tp.d(s, d) {
		t.Fatalf("primaries %v→%v cost %d (path %v), shortest is %d", s, d, cost, path, tp.d(s, d))
	}
}

// walk follows next(at) from s until d, failing on a loop or a hop over a
// link that is not up; it returns the cost and the path.
func walk(t testing.TB, tp *topology, s, d addr.Addr, next func(addr.Addr) addr.Addr) (uint64, []addr.Addr) {
	path := []addr.Addr{s}
	var cost uint64
	for at := s; at != d; {
		n := next(at)
		m, ok := tp.m(at, n)
		if !ok {
			t.Fatalf("path %v to %v: next hop %v is not a neighbour of %v", path, d, n, at)
		}
		cost += m
		path = append(path, n)
		if len(path) > len(tp.addrs) {
			t.Fatalf("path %v to %v loops", path, d)
		}
		at = n
	}
	return cost, path
}

// checkLFA checks the lfa route from s to d: primary, then exactly the
// neighbours meeting inequality 1, best first, each of whose primary path
// to d avoids s.
func checkLFA(t testing.TB, tp *topology, ls map[addr.Addr]map[addr.Addr]Route, s, d addr.Addr, r Route, primary addr.Addr) {
	if r.Multipath || r.NextHops[0] != primary || uint64(r.Cost) != tp.d(s, d) {
		t.Fatalf("lfa %v→%v: %+v, want primary %v, cost %d", s, d, r, primary, tp.d(s, d))
	}
	var want []addr.Addr
	for _, n := range tp.neighbours(s) {
		if n != primary && tp.d(n, d) < tp.d(n, s)+tp.d(s, d) {
			want = append(want, n)
		}
	}
	key := func(n addr.Addr) uint64 { m, _ := tp.m(s, n); return m + tp.d(n, d) }
	slices.SortStableFunc(want, func(a, b addr.Addr) int { return cmp.Compare(key(a), key(b)) })
	if !slices.Equal(r.NextHops[1:], want) {
		t.Fatalf("lfa %v→%v alternates %v, want %v", s, d, r.NextHops[1:], want)
	}
	for _, a := range r.NextHops[1:] {
		_, path := walk(t, tp, a, d, func(at addr.Addr) addr.Addr { return ls[at][d].NextHops[0] })
		if slices.Contains(path, s) {
			t.Fatalf("lfa %v→%v: alternate %v's path %v comes back through %v", s, d, a, path, s)
		}
	}
}

// checkECMP checks the ecmp route r from s to d, and that the per-flow
// choices of the forwarding tables built from every member's ecmp routes
// are stable and reach d loop-free at the shortest-path cost.
func checkECMP(t testing.TB, tp *topology, r Route, tables map[addr.Addr]*dt.Table, s, d addr.Addr, want []addr.Addr) {
	if !r.Multipath || !slices.Equal(r.NextHops, want) || uint64(r.Cost) != tp.d(s, d) {
		t.Fatalf("ecmp %v→%v: %+v, want multipath %v at cost %d", s, d, r, want, tp.d(s, d))
	}
	for _, key := range []uint64{0, 1, uint64(s) ^ uint64(d)<<32} {
		next := func(at addr.Addr) addr.Addr {
			h, ok := tables[at].Lookup(d, key, nil)
			h2, _ := tables[at].Lookup(d, key, func(addr.Addr) bool { return true })
			if !ok || h != h2 {
				t.Fatalf("ecmp %v→%v flow %d: picks %v, %v, %v", at, d, key, h, ok, h2)
			}
			return h
		}
		if cost, path := walk(t, tp, s, d, next); cost != tp.d(s, d) {
			t.Fatalf("ecmp %v→%v flow %d: path %v costs %d, shortest is %d", s, d, key, path, cost, tp.d(s, d))
		}
	}
}

// checkSpread checks that 1000 flows spread over all of a multipath
// route's hops in the forwarding table, each getting at least 10%, and
// that each flow's choice is stable.
func checkSpread(t testing.TB, r Route) {
	const dst = 1
	tb := tableOf(map[addr.Addr]Route{dst: r})
	count := map[addr.Addr]int{}
	for key := range uint64(1000) {
		h, _ := tb.Lookup(dst, key, nil)
		if again, _ := tb.Lookup(dst, key, nil); again != h {
			t.Fatalf("flow %d picks %v, then %v", key, h, again)
		}
		count[h]++
	}
	for _, h := range r.NextHops {
		if count[h] < 100 {
			t.Fatalf("1000 flows over %v: %v gets %d", r.NextHops, h, count[h])
		}
	}
}

// tableOf loads routes into a forwarding table the way the unicast IPCP
// does, so the tests check the choices the data path makes.
func tableOf(routes map[addr.Addr]Route) *dt.Table {
	m := make(map[addr.Addr]dt.NextHops, len(routes))
	for dst, r := range routes {
		m[dst] = dt.NextHops{Hops: r.NextHops, Multipath: r.Multipath}
	}
	tb := dt.NewTable()
	tb.Replace(m)
	return tb
}
