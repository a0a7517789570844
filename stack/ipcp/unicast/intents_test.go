package unicast_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/simnet"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// members makes a layer of the named nodes, each linked to the first and
// enrolled through it, with no adjacency yet.
func members(t *testing.T, names ...string) *simnet.Net {
	t.Helper()
	n := simnet.New(nil)
	t.Cleanup(n.Close)
	for _, nm := range names {
		n.AddNode(nm)
	}
	for _, nm := range names[1:] {
		n.Link(names[0], nm, simnet.LinkOpts{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Node(names[0]).IPCP.Bootstrap(ctx, "corp", withOpts(nil)); err != nil {
		t.Fatal(err)
	}
	for _, nm := range names[1:] {
		if err := n.Node(nm).IPCP.Enroll(ctx, "corp", names[0]); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// intents describes a node's intended adjacencies as "dst comp state".
func intents(n *simnet.Net, node string) []string {
	var out []string
	for _, in := range n.Node(node).IPCP.Info().Intents {
		out = append(out, in.Dst+" "+in.Component+" "+in.State)
	}
	return out
}

// eventually waits up to d for cond, failing with what describe says.
func eventually(t *testing.T, d time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, describe())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// never checks for d that cond does not come true, failing as soon as it
// does with what describe says: what must not happen gets the time it
// would take.
func never(t *testing.T, d time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			t.Fatal(describe())
		}
	}
}

func neighboursAre(n *simnet.Net, node string, want ...string) func() bool {
	return func() bool { return slices.Equal(n.Node(node).IPCP.Info().Neighbours, want) }
}

func state(n *simnet.Net, nodes ...string) func() string {
	return func() string {
		var b strings.Builder
		for _, nd := range nodes {
			info := n.Node(nd).IPCP.Info()
			fmt.Fprintf(&b, "%s: neighbours %q, intents %q; ", nd, info.Neighbours, intents(n, nd))
		}
		return b.String()
	}
}

func TestConnectToAnAbsentPeerFailsAndKeepsNoIntent(t *testing.T) {
	n := members(t, "a", "b")
	n.Cut("a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := n.Node("a").IPCP.Connect(ctx, "b", "", qos.Raw, false)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("connect to a peer without a link: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("failing took %v", d)
	}
	if got := intents(n, "a"); len(got) != 0 {
		t.Fatalf("a failed connect kept intents %q", got)
	}
	// Nothing retries behind the admin's back.
	n.Link("a", "b", simnet.LinkOpts{})
	never(t, time.Second, func() bool { return len(n.Node("a").IPCP.Info().Neighbours) != 0 },
		func() string {
			return fmt.Sprintf("a failed connect came up later: %q", n.Node("a").IPCP.Info().Neighbours)
		})
}

func TestPersistKeepsTheIntentUntilThePeerAppears(t *testing.T) {
	n := members(t, "a", "b")
	n.Cut("a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := n.Node("a").IPCP.Connect(ctx, "b", "", qos.Raw, true)
	if err != nil || res.Pending == nil || !strings.Contains(res.Pending.Error(), "unreachable") {
		t.Fatalf("persist connect to a peer without a link: %+v, %v", res, err)
	}
	if got := intents(n, "a"); !slices.Equal(got, []string{"b dt retrying", "b mgmt retrying"}) {
		t.Fatalf("intents %q", got)
	}
	for _, in := range n.Node("a").IPCP.Info().Intents {
		if in.Attempts == 0 || in.LastErr == "" || in.Next.IsZero() {
			t.Fatalf("a retrying intent without its attempts, error or next retry: %+v", in)
		}
	}
	n.Link("a", "b", simnet.LinkOpts{})
	eventually(t, 5*time.Second, neighboursAre(n, "a", "b (dt, mgmt)"), state(n, "a"))
	eventually(t, time.Second, func() bool {
		return slices.Equal(intents(n, "a"), []string{"b dt up", "b mgmt up"})
	}, state(n, "a"))
	// And it is kept up: a cut link comes back.
	n.Cut("a", "b")
	eventually(t, 2*time.Second, neighboursAre(n, "a"), state(n, "a"))
	n.Link("a", "b", simnet.LinkOpts{})
	eventually(t, 5*time.Second, neighboursAre(n, "a", "b (dt, mgmt)"), state(n, "a"))
}

func TestDisconnectWhileRetryingRemovesTheIntent(t *testing.T) {
	n := members(t, "a", "b")
	n.Cut("a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.Node("a").IPCP.Connect(ctx, "b", "", qos.Raw, true); err != nil {
		t.Fatal(err)
	}
	if err := n.Node("a").IPCP.Disconnect(ctx, "b", ""); err != nil {
		t.Fatalf("disconnect of an intent that is not up: %v", err)
	}
	if got := intents(n, "a"); len(got) != 0 {
		t.Fatalf("intents after disconnect: %q", got)
	}
	n.Link("a", "b", simnet.LinkOpts{})
	// Over several retry periods:
	never(t, time.Second, func() bool { return len(n.Node("a").IPCP.Info().Neighbours) != 0 },
		func() string {
			return fmt.Sprintf("a disconnected intent came up: %q", n.Node("a").IPCP.Info().Neighbours)
		})
	if err := n.Node("a").IPCP.Disconnect(ctx, "b", ""); err == nil || !strings.Contains(err.Error(), "none intended") {
		t.Fatalf("disconnect with neither intent nor adjacency: %v", err)
	}
}

func TestSecondConnectSaysAlreadyConnected(t *testing.T) {
	n := members(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := n.Node("a").IPCP.Connect(ctx, "b", "", qos.Raw, false); err != nil || res.Already {
		t.Fatalf("first connect: %+v, %v", res, err)
	}
	if res, err := n.Node("a").IPCP.Connect(ctx, "b", "", qos.Raw, false); err != nil || !res.Already {
		t.Fatalf("second connect: %+v, %v", res, err)
	}
	// From the other side, over the flows a set up (once b has them: a
	// returns when it has the ACCEPT, which b sends before it adds them).
	eventually(t, time.Second, neighboursAre(n, "b", "a (dt, mgmt)"), state(n, "a", "b"))
	if res, err := n.Node("b").IPCP.Connect(ctx, "a", "dt", qos.Raw, false); err != nil || !res.Already {
		t.Fatalf("connect back: %+v, %v", res, err)
	}
	never(t, 300*time.Millisecond, func() bool {
		return !neighboursAre(n, "a", "b (dt, mgmt)")() || !neighboursAre(n, "b", "a (dt, mgmt)")()
	}, state(n, "a", "b"))
	if got := intents(n, "b"); !slices.Equal(got, []string{"a dt up"}) {
		t.Fatalf("b's intent: %q", got)
	}
}

func TestSimultaneousConnectsGiveOneFlowPerComponent(t *testing.T) {
	for i := range 10 {
		n := members(t, "a", "b")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, d := range [][2]string{{"a", "b"}, {"b", "a"}} {
			wg.Go(func() {
				if _, err := n.Node(d[0]).IPCP.Connect(ctx, d[1], "", qos.Raw, false); err != nil {
					errs <- fmt.Errorf("%s to %s: %w", d[0], d[1], err)
				}
			})
		}
		wg.Wait()
		cancel()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", i, err)
		}
		eventually(t, 3*time.Second, func() bool {
			return neighboursAre(n, "a", "b (dt, mgmt)")() && neighboursAre(n, "b", "a (dt, mgmt)")()
		}, state(n, "a", "b"))
		n.Close()
	}
}

func TestConcurrentConnectAndDisconnectKeepTheSetConsistent(t *testing.T) {
	n := members(t, "a", "b")
	a := n.Node("a").IPCP
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	slow := make(chan string, 48)
	for g := range 6 {
		wg.Go(func() {
			for i := range 8 {
				comp := []string{"", "dt", "mgmt"}[(g+i)%3]
				start := time.Now()
				var err error
				if (g+i)%2 == 0 {
					_, err = a.Connect(ctx, "b", comp, qos.Raw, i%3 == 0)
				} else {
					err = a.Disconnect(ctx, "b", comp)
				}
				if d := time.Since(start); d > 5*time.Second {
					slow <- fmt.Sprintf("%d.%d %q took %v: %v", g, i, comp, d, err)
				}
			}
		})
	}
	wg.Wait()
	close(slow)
	for s := range slow {
		t.Errorf("in the storm, %s", s)
	}
	// Whatever the order, each component intended is up on one flow, and
	// each not intended has none.
	eventually(t, 5*time.Second, func() bool {
		info := a.Info()
		var comps []string
		for _, in := range info.Intents {
			if in.State != ipcp.IntentUp {
				return false
			}
			comps = append(comps, in.Component)
		}
		if len(comps) == 0 {
			return len(info.Neighbours) == 0
		}
		return slices.Equal(info.Neighbours, []string{"b (" + strings.Join(comps, ", ") + ")"})
	}, state(n, "a"))
	if _, err := a.Connect(ctx, "b", "", qos.Raw, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, neighboursAre(n, "a", "b (dt, mgmt)"), state(n, "a"))
	if err := a.Disconnect(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, neighboursAre(n, "a"), state(n, "a"))
	if got := intents(n, "a"); len(got) != 0 {
		t.Fatalf("intents after the last disconnect: %q", got)
	}
}
