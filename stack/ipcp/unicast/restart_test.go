package unicast_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/simnet"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
)

// TestRestartedPeerReplacedAtOnce: in a - b - c, c dies without its flows
// ending (as an irmd killed behind UDP), with ls_t_dead 10 s so that b
// would keep its adjacency to c's old life that long; a new c enrols
// through b and connects to a only. b takes the old flows down at the new
// c's enrolment, so the old address leaves the routing graph at once
// (within a second), and allocations from a to the name the new c
// registered succeed within 5 s of its return, every one of them from the
// first on.
func TestRestartedPeerReplacedAtOnce(t *testing.T) {
	n := build(t, []string{"a", "b", "c"}, chain("a", "b", "c"), map[string]string{"ls_t_dead": "10000"})
	if err := n.Node("c").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	pingFlow(t, n, "a", "srv", qos.Raw).Down(ctrl.ReasonPeer)
	old := n.Node("c")
	oldAddr := old.IPCP.Addr()
	t.Cleanup(func() { _ = old.IPCP.Close() })

	n.Silence("b", "c")
	n.Link("b", "c", simnet.LinkOpts{}) // the new c's flows go over new links
	n.Link("a", "c", simnet.LinkOpts{})
	c := n.AddNode("c")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.IPCP.Enroll(ctx, "corp", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IPCP.Connect(ctx, "a", "", qos.Raw, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	eventually(t, time.Second, func() bool {
		_, ok := n.Node("a").IPCP.Routes()[oldAddr]
		return !ok
	}, func() string { return fmt.Sprintf("a still routes to c's old address %v", oldAddr) })
	// The new c's registration reaches the directory in the background
	// (a STORE sent before the new c had a route to a holder is sent again
	// after 2 s): until then an allocation finds only the old address, and
	// fails at once.
	var err error
	eventually(t, 5*time.Second, func() bool {
		err = alloc(n, "a", "srv")
		return err == nil
	}, func() string {
		return fmt.Sprintf("no allocation to the new c: %v (old %v, new %v; a routes to %v, b to %v)",
			err, oldAddr, c.IPCP.Addr(), n.Node("a").IPCP.Routes(), n.Node("b").IPCP.Routes())
	})
	t.Logf("first allocation to the new c %v after its return", time.Since(back).Round(time.Millisecond))
	for i := range 20 {
		if err := alloc(n, "a", "srv"); err != nil {
			t.Fatalf("allocation %d after the new c's return: %v", i, err)
		}
	}
}

// alloc allocates a flow from node from to name, with 2 s to do it, and
// releases it.
func alloc(n *simnet.Net, from, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f, err := n.Node(from).Alloc(ctx, name, qos.Raw)
	if err == nil {
		f.Down(ctrl.ReasonPeer)
	}
	return err
}

// TestAllocMovesOnFromSilentMember: srv is registered at c and at d; c
// dies behind b without its flows ending, with ls_t_dead 10 s, so that it
// stays in the routing graph and requests to it vanish. Every allocation
// from a still succeeds, those that tried c first after candidateWait
// (2 s), not at their deadline.
func TestAllocMovesOnFromSilentMember(t *testing.T) {
	n := build(t, []string{"a", "b", "c", "d"}, [][2]string{{"a", "b"}, {"b", "c"}, {"b", "d"}}, map[string]string{"ls_t_dead": "10000"})
	for _, s := range []string{"c", "d"} {
		if err := n.Node(s).Serve("srv", simnet.Echo); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, func() bool {
		return n.Node("a").IPCP.DirValuesForTest() == 2 || n.Node("b").IPCP.DirValuesForTest() == 2
	}, func() string { return "srv is not published by both c and d" })
	n.Silence("b", "c")
	slow := 0
	for i := range 6 {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		f, err := n.Node("a").Alloc(ctx, "srv", qos.Raw)
		cancel()
		if err != nil {
			t.Fatalf("allocation %d: %v after %v", i, err, time.Since(start).Round(time.Millisecond))
		}
		f.Down(ctrl.ReasonPeer)
		if time.Since(start) > time.Second {
			slow++
		}
	}
	t.Logf("%d of 6 allocations tried the silent member first", slow)
}
