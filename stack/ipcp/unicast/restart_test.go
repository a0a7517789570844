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
