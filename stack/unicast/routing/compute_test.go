package routing

import (
	"math"
	"reflect"
	"testing"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// edge is an undirected link with one metric, for hand-made graphs.
type edge struct {
	a, b addr.Addr
	m    uint16
}

// graphDB returns a DB of the LSUs describing edges; both ends list each.
func graphDB(t *testing.T, edges ...edge) *DB {
	links := map[addr.Addr][]Link{}
	for _, e := range edges {
		links[e.a] = append(links[e.a], Link{e.b, e.m})
		links[e.b] = append(links[e.b], Link{e.a, e.m})
	}
	return newTopology(links).db(t)
}

// hops abbreviates routes in expectations: next hops and cost.
type hops struct {
	next []addr.Addr
	cost uint32
}

// wantRoutes compares the routes from self under p with want.
func wantRoutes(t *testing.T, d *DB, self addr.Addr, p Policy, want map[addr.Addr]hops) {
	t.Helper()
	got := d.Compute(self, p)
	if len(got) != len(want) {
		t.Errorf("%s from %v: %d routes %v, want %d", p, self, len(got), got, len(want))
	}
	for dst, w := range want {
		r, ok := got[dst]
		if !ok || !reflect.DeepEqual(r.NextHops, w.next) || r.Cost != w.cost || r.Multipath != (p == ECMP) {
			t.Errorf("%s %v→%v: got %+v (present %v), want %v cost %d", p, self, dst, r, ok, w.next, w.cost)
		}
	}
}

func a(as ...addr.Addr) []addr.Addr { return as }

func TestComputeLine(t *testing.T) {
	d := graphDB(t, edge{1, 2, 1}, edge{2, 3, 1}, edge{3, 4, 1})
	for _, p := range []Policy{LinkState, LFA, ECMP} {
		wantRoutes(t, d, 1, p, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2), 2}, 4: {a(2), 3}})
		// Going back towards 1 is no alternate: 1's path to 4 is through 2.
		wantRoutes(t, d, 2, p, map[addr.Addr]hops{1: {a(1), 1}, 3: {a(3), 1}, 4: {a(3), 2}})
	}
}

func TestComputeRing(t *testing.T) {
	d := graphDB(t, edge{1, 2, 1}, edge{2, 3, 1}, edge{3, 4, 1}, edge{4, 5, 1}, edge{5, 1, 1})
	wantRoutes(t, d, 1, LinkState, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2), 2}, 4: {a(5), 2}, 5: {a(5), 1}})
	// 5 reaches 3 in 2 < dist(5,1) + dist(1,3) = 3: an alternate. But 5's
	// path to 2 ties with going through 1, so 5 is no alternate for 2.
	wantRoutes(t, d, 1, LFA, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2, 5), 2}, 4: {a(5, 2), 2}, 5: {a(5), 1}})
	wantRoutes(t, d, 1, ECMP, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2), 2}, 4: {a(5), 2}, 5: {a(5), 1}})

	even := graphDB(t, edge{1, 2, 1}, edge{2, 3, 1}, edge{3, 4, 1}, edge{4, 1, 1})
	wantRoutes(t, even, 1, LinkState, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2), 2}, 4: {a(4), 1}})
	wantRoutes(t, even, 1, LFA, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2, 4), 2}, 4: {a(4), 1}})
	wantRoutes(t, even, 1, ECMP, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2, 4), 2}, 4: {a(4), 1}})
}

func TestComputeSquareWithDiagonal(t *testing.T) {
	// 1 ─ 2
	// │ ╲ │   diagonal 1─3 of metric 3, the sides of metric 1
	// 4 ─ 3
	d := graphDB(t, edge{1, 2, 1}, edge{2, 3, 1}, edge{3, 4, 1}, edge{4, 1, 1}, edge{1, 3, 3})
	wantRoutes(t, d, 1, LinkState, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2), 2}, 4: {a(4), 1}})
	// Alternates to 3: 4 (1+1), then the diagonal itself (3+0). To 2: 3
	// (3+1) meets dist(3,2)=1 < dist(3,1)+1 = 3; 4 ties through 1, so no.
	wantRoutes(t, d, 1, LFA, map[addr.Addr]hops{2: {a(2, 3), 1}, 3: {a(2, 4, 3), 2}, 4: {a(4, 3), 1}})
	wantRoutes(t, d, 1, ECMP, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2, 4), 2}, 4: {a(4), 1}})
	wantRoutes(t, d, 2, ECMP, map[addr.Addr]hops{1: {a(1), 1}, 3: {a(3), 1}, 4: {a(1, 3), 2}})
}

func TestComputeTwoEqualPaths(t *testing.T) {
	// 10 ─ 5 ─ 7 ─ 40 (metrics 1) and 10 ─ 3 ─ 40 (metrics 1, 2): cost 3
	// either way; link_state takes the lower neighbour, 3.
	d := graphDB(t, edge{10, 5, 1}, edge{5, 7, 1}, edge{7, 40, 1}, edge{10, 3, 1}, edge{3, 40, 2})
	r := d.Compute(10, LinkState)[40]
	if !reflect.DeepEqual(r.NextHops, a(3)) || r.Cost != 3 {
		t.Errorf("link_state 10→40: %+v", r)
	}
	r = d.Compute(10, ECMP)[40]
	if !reflect.DeepEqual(r.NextHops, a(3, 5)) || r.Cost != 3 || !r.Multipath {
		t.Errorf("ecmp 10→40: %+v", r)
	}
	r = d.Compute(10, LFA)[40]
	if !reflect.DeepEqual(r.NextHops, a(3, 5)) || r.Cost != 3 || r.Multipath {
		t.Errorf("lfa 10→40: %+v", r)
	}
	// The tie deeper down: from 5, to 3 through 10 (2) or 7, 40 (4).
	if r := d.Compute(5, LinkState)[3]; !reflect.DeepEqual(r.NextHops, a(10)) || r.Cost != 2 {
		t.Errorf("link_state 5→3: %+v", r)
	}
}

func TestComputeNeedsBothEnds(t *testing.T) {
	d := NewDB()
	update := func(u LSU) {
		if ok, _ := d.Update(u, t0); !ok {
			t.Fatalf("LSU of %v refused", u.Origin)
		}
	}
	// 1 ─ 2 ─ 3 up; 1 → 3 listed by 1 only; 3 → 4 listed by 3 only, and 4
	// lists nobody; 5 lists 1, which does not list it.
	update(LSU{Origin: 1, Links: []Link{{2, 1}, {3, 1}}})
	update(LSU{Origin: 2, Links: []Link{{1, 1}, {3, 1}}})
	update(LSU{Origin: 3, Links: []Link{{2, 1}, {4, 1}}})
	update(LSU{Origin: 4})
	update(LSU{Origin: 5, Links: []Link{{1, 1}}})
	for _, p := range []Policy{LinkState, LFA, ECMP} {
		wantRoutes(t, d, 1, p, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2), 2}})
		wantRoutes(t, d, 5, p, nil)
	}
	// 6 is listed by 1 but has no LSU at all.
	update(LSU{Origin: 1, Seq: 1, Links: []Link{{2, 1}, {6, 1}}})
	wantRoutes(t, d, 1, LinkState, map[addr.Addr]hops{2: {a(2), 1}, 3: {a(2), 2}})
}

func TestComputeLargerMetricCounts(t *testing.T) {
	d := NewDB()
	for _, u := range []LSU{
		{Origin: 1, Links: []Link{{2, 1}, {3, 2}}},
		{Origin: 2, Links: []Link{{1, 5}, {3, 2}}},
		{Origin: 3, Links: []Link{{1, 2}, {2, 2}}},
	} {
		d.Update(u, t0)
	}
	// 1→2 is 1 one way and 5 the other: it counts as 5, so 1─3─2 (4) wins,
	// from both ends.
	wantRoutes(t, d, 1, LinkState, map[addr.Addr]hops{2: {a(3), 4}, 3: {a(3), 2}})
	wantRoutes(t, d, 2, LinkState, map[addr.Addr]hops{1: {a(3), 4}, 3: {a(3), 2}})
}

func TestComputeWithoutSelf(t *testing.T) {
	d := graphDB(t, edge{1, 2, 1})
	if rs := d.Compute(7, LFA); rs == nil || len(rs) != 0 {
		t.Fatalf("routes from a member without an LSU: %v", rs)
	}
	if rs := NewDB().Compute(1, ECMP); rs == nil || len(rs) != 0 {
		t.Fatalf("routes from an empty DB: %v", rs)
	}
}

func TestComputeUnknownPolicyIsLinkState(t *testing.T) {
	d := graphDB(t, edge{1, 2, 1}, edge{2, 3, 1}, edge{3, 4, 1}, edge{4, 1, 1})
	if got, want := d.Compute(1, "bogus"), d.Compute(1, LinkState); !reflect.DeepEqual(got, want) {
		t.Fatalf("unknown policy: %v, link_state: %v", got, want)
	}
}

func TestComputeRoutesDoNotShare(t *testing.T) {
	d := graphDB(t, edge{1, 2, 1}, edge{2, 3, 1}, edge{3, 4, 1}, edge{4, 1, 1})
	for _, p := range []Policy{LinkState, LFA, ECMP} {
		rs := d.Compute(1, p)
		before := d.Compute(1, p)
		for dst, r := range rs {
			r.NextHops = append(r.NextHops, 99)
			r.NextHops[0] = 98
			rs[dst] = r
		}
		for dst, r := range d.Compute(1, p) {
			if !reflect.DeepEqual(r, before[dst]) {
				t.Fatalf("%s: changing one result changed another: %v, was %v", p, r, before[dst])
			}
			if got := rs[dst].NextHops; got[0] != 98 || got[len(got)-1] != 99 || len(got) != len(r.NextHops)+1 {
				t.Fatalf("%s: appending to one route's hops clobbered another's: %v", p, rs)
			}
		}
	}
}

func TestComputeCostSaturates(t *testing.T) {
	// A line of n members with metric 65535 is longer than a uint32 at the
	// far end.
	const n = math.MaxUint32/math.MaxUint16 + 3
	d := NewDB()
	for i := addr.Addr(1); i <= n; i++ {
		var ls []Link
		if i > 1 {
			ls = append(ls, Link{i - 1, math.MaxUint16})
		}
		if i < n {
			ls = append(ls, Link{i + 1, math.MaxUint16})
		}
		d.Update(LSU{Origin: i, Links: ls}, t0)
	}
	rs := d.Compute(1, LinkState)
	if len(rs) != n-1 {
		t.Fatalf("%d routes, want %d", len(rs), n-1)
	}
	if c := rs[n-2].Cost; c != (n-3)*math.MaxUint16 {
		t.Errorf("cost to %d: %d", n-2, c)
	}
	if c := rs[n].Cost; c != math.MaxUint32 {
		t.Errorf("cost to %d: %d, want saturated", n, c)
	}
}
