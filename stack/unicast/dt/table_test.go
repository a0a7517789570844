package dt

import (
	"sync"
	"testing"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// upSet returns an up function reporting the hops in set as up.
func upSet(set map[addr.Addr]bool) func(addr.Addr) bool {
	return func(a addr.Addr) bool { return set[a] }
}

func TestLookupFailover(t *testing.T) {
	tb := NewTable()
	if _, ok := tb.Lookup(5, 0, nil); ok {
		t.Fatal("empty table found a route")
	}
	tb.Replace(map[addr.Addr]NextHops{5: {Hops: []addr.Addr{10, 11, 12}}, 6: {}})
	if tb.Len() != 1 {
		t.Fatalf("Len = %d: a destination without hops was kept", tb.Len())
	}
	up := map[addr.Addr]bool{10: true, 11: true, 12: true}
	for _, tc := range []struct {
		down []addr.Addr
		want addr.Addr
		ok   bool
	}{
		{nil, 10, true},
		{[]addr.Addr{10}, 11, true},
		{[]addr.Addr{11}, 12, true},
		{[]addr.Addr{12}, addr.None, false},
	} {
		for _, d := range tc.down {
			up[d] = false
		}
		for key := uint64(0); key < 10; key++ { // the flow key plays no part
			if got, ok := tb.Lookup(5, key, upSet(up)); got != tc.want || ok != tc.ok {
				t.Fatalf("down %v: Lookup = %v %t, want %v %t", tc.down, got, ok, tc.want, tc.ok)
			}
		}
	}
	if got, ok := tb.Lookup(5, 0, nil); !ok || got != 10 {
		t.Fatalf("nil up: Lookup = %v %t, want the primary", got, ok)
	}
	if _, ok := tb.Lookup(7, 0, nil); ok {
		t.Fatal("unknown destination found")
	}
}

func TestReplaceCopies(t *testing.T) {
	tb := NewTable()
	hops := []addr.Addr{10, 11}
	routes := map[addr.Addr]NextHops{5: {Hops: hops}}
	tb.Replace(routes)
	hops[0] = 99
	routes[6] = NextHops{Hops: []addr.Addr{12}}
	if got, _ := tb.Lookup(5, 0, nil); got != 10 {
		t.Fatalf("table follows the caller's slice: %v", got)
	}
	if _, ok := tb.Lookup(6, 0, nil); ok {
		t.Fatal("table follows the caller's map")
	}
	r := tb.Routes()
	if len(r) != 1 || len(r[5].Hops) != 2 || r[5].Hops[0] != 10 {
		t.Fatalf("Routes = %v", r)
	}
}

func TestMultipathSpreadAndStability(t *testing.T) {
	tb := NewTable()
	hops := []addr.Addr{10, 11, 12}
	tb.Replace(map[addr.Addr]NextHops{5: {Hops: hops, Multipath: true}})
	all := map[addr.Addr]bool{10: true, 11: true, 12: true}
	const flows = 30000
	first := make([]addr.Addr, flows)
	count := map[addr.Addr]int{}
	for k := range first {
		h, ok := tb.Lookup(5, uint64(k), upSet(all))
		if !ok {
			t.Fatal("no hop")
		}
		if again, _ := tb.Lookup(5, uint64(k), upSet(all)); again != h {
			t.Fatalf("flow %d moved from %v to %v with the same up set", k, h, again)
		}
		first[k] = h
		count[h]++
	}
	for _, h := range hops {
		if c := count[h]; c < flows/3*9/10 || c > flows/3*11/10 {
			t.Fatalf("uneven spread: %v", count)
		}
	}

	// Hop 11 goes down: only its flows move, and they spread over the rest.
	some := map[addr.Addr]bool{10: true, 12: true}
	moved := map[addr.Addr]int{}
	for k, was := range first {
		h, _ := tb.Lookup(5, uint64(k), upSet(some))
		switch {
		case h == 11:
			t.Fatal("picked a down hop")
		case was != 11 && h != was:
			t.Fatalf("flow %d moved off %v, which is still up", k, was)
		case was == 11:
			moved[h]++
		}
	}
	if moved[10] < count[11]*4/10 || moved[12] < count[11]*4/10 {
		t.Fatalf("flows of the failed hop did not spread: %v", moved)
	}
	// Hop 11 comes back: every flow is where it was before it went down.
	for k, was := range first {
		if h, _ := tb.Lookup(5, uint64(k), upSet(all)); h != was {
			t.Fatalf("flow %d did not come back to %v: %v", k, was, h)
		}
	}
	if _, ok := tb.Lookup(5, 1, upSet(nil)); ok {
		t.Fatal("found a hop with all hops down")
	}
}

func TestLookupAllocs(t *testing.T) {
	tb := NewTable()
	tb.Replace(map[addr.Addr]NextHops{
		5: {Hops: []addr.Addr{10, 11}},
		6: {Hops: []addr.Addr{10, 11, 12, 13}, Multipath: true},
	})
	up := func(a addr.Addr) bool { return a != 10 }
	var key uint64
	for _, dst := range []addr.Addr{5, 6} {
		if n := testing.AllocsPerRun(1000, func() {
			key++
			if _, ok := tb.Lookup(dst, key, up); !ok {
				t.Fatal("no route")
			}
		}); n != 0 {
			t.Fatalf("dst %v: %v allocations per Lookup", dst, n)
		}
	}
}

// TestLookupDuringReplace runs lookups against a table being replaced, for
// the race detector, and checks every answer came from one whole version.
func TestLookupDuringReplace(t *testing.T) {
	tb := NewTable()
	version := func(v addr.Addr) map[addr.Addr]NextHops {
		return map[addr.Addr]NextHops{1: {Hops: []addr.Addr{v}}, 2: {Hops: []addr.Addr{v, v + 1}, Multipath: true}}
	}
	tb.Replace(version(100))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for k := uint64(0); ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				h, ok := tb.Lookup(1, k, nil)
				if !ok || h < 100 || h%2 != 0 {
					t.Errorf("Lookup = %v %t", h, ok)
					return
				}
				if _, ok := tb.Lookup(2, k, nil); !ok {
					t.Error("multipath route lost during Replace")
					return
				}
			}
		})
	}
	for v := addr.Addr(100); v < 300; v += 2 {
		tb.Replace(version(v))
	}
	close(stop)
	wg.Wait()
}

func BenchmarkLookup(b *testing.B) {
	tb := NewTable()
	routes := map[addr.Addr]NextHops{}
	for d := addr.Addr(1); d <= 1000; d++ {
		routes[d] = NextHops{Hops: []addr.Addr{d + 5000, d + 6000, d + 7000}, Multipath: d%2 == 0}
	}
	tb.Replace(routes)
	up := func(addr.Addr) bool { return true }
	b.RunParallel(func(pb *testing.PB) {
		var k uint64
		for pb.Next() {
			k++
			tb.Lookup(addr.Addr(k%1000+1), k, up)
		}
	})
}
