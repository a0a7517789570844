package routing

import (
	"testing"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

func TestPickNextHopInOrder(t *testing.T) {
	r := Route{NextHops: []addr.Addr{7, 3, 9}}
	down := map[addr.Addr]bool{}
	up := func(h addr.Addr) bool { return !down[h] }
	for _, tc := range []struct {
		down []addr.Addr
		want addr.Addr
		ok   bool
	}{
		{nil, 7, true},
		{[]addr.Addr{7}, 3, true},
		{[]addr.Addr{7, 3}, 9, true},
		{[]addr.Addr{3}, 7, true},
		{[]addr.Addr{7, 3, 9}, addr.None, false},
	} {
		clear(down)
		for _, h := range tc.down {
			down[h] = true
		}
		for key := range uint64(20) { // the flow key does not matter
			if h, ok := PickNextHop(r, key, up); h != tc.want || ok != tc.ok {
				t.Fatalf("down %v, flow %d: %v, %v; want %v, %v", tc.down, key, h, ok, tc.want, tc.ok)
			}
		}
	}
	if h, ok := PickNextHop(r, 1, nil); h != 7 || !ok {
		t.Fatalf("nil up: %v, %v", h, ok)
	}
	if h, ok := PickNextHop(Route{}, 1, nil); ok {
		t.Fatalf("no hops: %v", h)
	}
}

func TestPickNextHopMultipath(t *testing.T) {
	r := Route{NextHops: []addr.Addr{2, 5, 11, 12}, Multipath: true}
	checkSpread(t, r)
	const flows = 1000
	before := make([]addr.Addr, flows)
	for key := range uint64(flows) {
		before[key], _ = PickNextHop(r, key, nil)
	}
	// With 5 down, its flows move and no other flow does; none lands on 5.
	up := func(h addr.Addr) bool { return h != 5 }
	moved := 0
	for key := range uint64(flows) {
		h, ok := PickNextHop(r, key, up)
		switch {
		case !ok || h == 5:
			t.Fatalf("flow %d with 5 down: %v, %v", key, h, ok)
		case before[key] != 5 && h != before[key]:
			t.Fatalf("flow %d moved from %v to %v when only 5 went down", key, before[key], h)
		case before[key] == 5:
			moved++
		}
	}
	if moved < flows/10 {
		t.Fatalf("only %d flows were on 5", moved)
	}
	// Spread over the survivors, and back where they were when 5 returns.
	spread := map[addr.Addr]int{}
	for key := range uint64(flows) {
		if before[key] == 5 {
			h, _ := PickNextHop(r, key, up)
			spread[h]++
		}
		if h, _ := PickNextHop(r, key, nil); h != before[key] {
			t.Fatalf("flow %d did not come back to %v: %v", key, before[key], h)
		}
	}
	if len(spread) != 3 {
		t.Fatalf("the flows of 5 all went to %v", spread)
	}
	if h, ok := PickNextHop(r, 1, func(addr.Addr) bool { return false }); ok {
		t.Fatalf("all down: %v", h)
	}
}
