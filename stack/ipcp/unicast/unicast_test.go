package unicast_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/simnet"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/unicast"
	"o7s.dev/ouroboros/stack/qos"
)

// fast are layer options for tests: quick liveness and refresh.
var fast = map[string]string{"ls_t_dead": "300", "ls_t_recalc": "1", "ls_t_update": "2", "ls_t_timeo": "5"}

func withOpts(extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range fast {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// build makes a layer of the named nodes: the first bootstraps, the others
// enroll through the first node they are linked to in edges, and every edge
// is connected.
func build(t *testing.T, names []string, edges [][2]string, opts map[string]string) *simnet.Net {
	t.Helper()
	n := simnet.New(nil)
	t.Cleanup(n.Close)
	for _, nm := range names {
		n.AddNode(nm)
	}
	for _, e := range edges {
		n.Link(e[0], e[1], simnet.LinkOpts{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Node(names[0]).IPCP.Bootstrap(ctx, "corp", withOpts(opts)); err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{names[0]: true}
	for len(in) < len(names) {
		progress := false
		for _, e := range edges {
			for _, d := range [][2]string{e, {e[1], e[0]}} {
				if in[d[0]] && !in[d[1]] {
					if err := n.Node(d[1]).IPCP.Enroll(ctx, "corp", d[0]); err != nil {
						t.Fatalf("%s enrolling through %s: %v", d[1], d[0], err)
					}
					in[d[1]] = true
					progress = true
				}
			}
		}
		if !progress {
			t.Fatal("the edges do not connect every node")
		}
	}
	for _, e := range edges {
		if _, err := n.Node(e[0]).IPCP.Connect(ctx, e[1], "", qos.Raw, false); err != nil {
			t.Fatalf("connect %s to %s: %v", e[0], e[1], err)
		}
	}
	if _, err := n.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

func chain(names ...string) [][2]string {
	var e [][2]string
	for i := 1; i < len(names); i++ {
		e = append(e, [2]string{names[i-1], names[i]})
	}
	return e
}

func pingFlow(t *testing.T, n *simnet.Net, from, srv string, q qos.Spec) ipcp.Port {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		// A name is published in the background: retry until it is seen.
		f, err := n.Node(from).Alloc(ctx, srv, q)
		if err == nil {
			return f
		}
		if !strings.Contains(err.Error(), "not registered") || ctx.Err() != nil {
			t.Fatalf("alloc from %s to %s: %v", from, srv, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustPing(t *testing.T, f *simnet.Pinger) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rtt, err := f.Ping(ctx)
	if err != nil {
		t.Fatal("ping:", err)
	}
	return rtt
}

func TestTwoMembers(t *testing.T) {
	n := build(t, []string{"a", "b"}, chain("a", "b"), nil)
	if err := n.Node("b").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	mustPing(t, simnet.NewPinger(pingFlow(t, n, "a", "srv", qos.Raw)))
	info := n.Node("a").IPCP.Info()
	if info.State != ipcp.StateBootstrapped || info.Layer != "corp" || info.Detail == "" ||
		len(info.Neighbours) != 1 || info.Neighbours[0] != "b (dt, mgmt)" {
		t.Fatalf("info %+v", info)
	}
	if st := n.Node("b").IPCP.Info().State; st != ipcp.StateEnrolled {
		t.Fatalf("b is %s", st)
	}
}

func TestChainOfFourForwards(t *testing.T) {
	n := build(t, []string{"a", "b", "c", "d"}, chain("a", "b", "c", "d"), nil)
	if err := n.Node("d").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	f := simnet.NewPinger(pingFlow(t, n, "a", "srv", qos.Raw))
	for range 20 {
		mustPing(t, f)
	}
}

func TestDeallocationReachesThePeer(t *testing.T) {
	n := build(t, []string{"a", "b", "c"}, chain("a", "b", "c"), nil)
	served := make(chan ipcp.Port, 1)
	if err := n.Node("c").Serve("srv", func(p ipcp.Port) { served <- p }); err != nil {
		t.Fatal(err)
	}
	f := pingFlow(t, n, "a", "srv", qos.Raw)
	peer := <-served
	f.Down(ctrl.ReasonPeer)
	done := make(chan error, 1)
	go func() {
		bufs, lens := [][]byte{make([]byte, 64)}, []int{0}
		_, err := peer.ReadBatch(bufs, lens)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read a packet instead of the end of the flow")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the peer was not told the flow ended")
	}
}

func TestUnknownNameFailsFast(t *testing.T) {
	n := build(t, []string{"a", "b"}, chain("a", "b"), nil)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.Node("a").Alloc(ctx, "nobody", qos.Raw)
	if err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("alloc to an unregistered name: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("failing took %v", d)
	}
}

func TestTTLExpiryDropsAndCounts(t *testing.T) {
	n := build(t, []string{"a", "b", "c", "d"}, chain("a", "b", "c", "d"), map[string]string{"ttl": "2"})
	if err := n.Node("d").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The directory lookup, which waits out the holders beyond the TTL, is
	// not what is timed: Alloc uses the answer Reachable found. The name
	// is first seen published from b, so that a's timed lookup does not
	// include the wait for the publication (which made it take 2 s now
	// and then).
	b := n.Node("b").IPCP
	for !b.Reachable(ctx, "srv", b.Info().Hash.Sum("srv")) {
		if ctx.Err() != nil {
			t.Fatal("srv is not published")
		}
	}
	a := n.Node("a").IPCP
	looking := time.Now()
	for !a.Reachable(ctx, "srv", a.Info().Hash.Sum("srv")) {
		if ctx.Err() != nil {
			t.Fatal("srv is not in the directory")
		}
	}
	// d, beyond the TTL, is no contact of a's directory: the lookup does
	// not wait for its answer, which cannot come (twice 2 s).
	if d := time.Since(looking); d > 2*time.Second {
		t.Fatalf("the lookup took %v: the directory waited for a member beyond the TTL", d)
	}
	start := time.Now()
	_, err := n.Node("a").Alloc(ctx, "srv", qos.Raw)
	if err == nil {
		t.Fatal("a flow over three hops was allocated with TTL 2")
	}
	// c, where the request's TTL ran out, tells a: the allocation fails
	// with the cause, not at its deadline.
	want := fmt.Sprintf("no route to the member at %v for \"srv\" (TTL expired at the member at %v on the way)",
		n.Node("d").IPCP.Addr(), n.Node("c").IPCP.Addr())
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("alloc: %v\nwant: %s", err, want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("failing took %v", d)
	}
	t.Logf("failed in %v: %v", time.Since(start).Round(time.Millisecond), err)
	if got := n.Node("c").IPCP.Info().Counters["ttl"]; got == 0 {
		t.Fatalf("c counted no TTL drops: %v", n.Node("c").IPCP.Info().Counters)
	}
}

// A relay with no route onwards tells the requester, whose allocation
// fails at once with where and why.
func TestRelayReportsNoRoute(t *testing.T) {
	// Slow refreshes: the relay's forgotten route stays forgotten.
	n := build(t, []string{"a", "b", "c"}, chain("a", "b", "c"),
		map[string]string{"ls_t_recalc": "60", "ls_t_update": "60", "ls_t_timeo": "120"})
	if err := n.Node("c").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	pingFlow(t, n, "a", "srv", qos.Raw).Down(ctrl.ReasonPeer) // the name is published
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The lookup, which may need b's route to c too, is done first:
	// Alloc uses its answer.
	a := n.Node("a").IPCP
	if !a.Reachable(ctx, "srv", a.Info().Hash.Sum("srv")) {
		t.Fatal("srv is not in the directory")
	}
	b, c := n.Node("b").IPCP, n.Node("c").IPCP.Addr()
	b.ForgetRouteForTest(c)
	start := time.Now()
	_, err := n.Node("a").Alloc(ctx, "srv", qos.Raw)
	want := fmt.Sprintf("no route to the member at %v for \"srv\" (no route onwards at the member at %v on the way)", c, b.Addr())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("alloc: %v\nwant: %s", err, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("failing took %v", d)
	}
	if got := b.Info().Counters["no-route"]; got == 0 {
		t.Fatalf("b counted no no-route drops: %v", b.Info().Counters)
	}
}

// A member with no route to the member where a name is registered fails an
// allocation to it at once, naming the address it cannot reach.
func TestNoRouteFailsFast(t *testing.T) {
	n := build(t, []string{"a", "b", "c"}, chain("a", "b", "c"), nil)
	if err := n.Node("c").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	pingFlow(t, n, "a", "srv", qos.Raw).Down(ctrl.ReasonPeer) // the name is published
	// Once b holds a replica, the directory answers with c cut off, and
	// the failure is the route's (else it is "not registered").
	eventually(t, 10*time.Second, func() bool { return n.Node("b").IPCP.DirValuesForTest() > 0 },
		func() string { return "b holds no directory entry for srv" })
	c := n.Node("c").IPCP.Addr()
	n.Cut("b", "c")
	deadline := time.Now().Add(10 * time.Second)
	for _, ok := n.Node("a").IPCP.Routes()[c]; ok; _, ok = n.Node("a").IPCP.Routes()[c] {
		if time.Now().After(deadline) {
			t.Fatal("a still routes to c 10 s after the only link to c was cut")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := n.Node("a").Alloc(ctx, "srv", qos.Raw)
	want := fmt.Sprintf("no route to the member at %v for \"srv\"", c)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("alloc: %v\nwant: %s", err, want)
	}
	// Routes settle for routeSettle (500 ms) before a member reports.
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("failing took %v", d)
	}
	t.Logf("failed in %v: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestRingReroutesWhenALinkIsCut(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e"}
	edges := append(chain(names...), [2]string{"e", "a"})
	n := build(t, names, edges, nil)
	if err := n.Node("c").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	pg := simnet.NewPinger(pingFlow(t, n, "a", "srv", qos.Raw))
	if _, err := pg.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.Cut("a", "b")
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := pg.Ping(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("no reroute in 5 s")
		}
	}
	t.Logf("rerouted in %v", time.Since(start).Round(time.Millisecond))
}

func TestSilentNeighbourIsDetected(t *testing.T) {
	n := build(t, []string{"a", "b"}, chain("a", "b"), nil)
	n.Silence("a", "b")
	start := time.Now()
	for len(n.Node("a").IPCP.Info().Neighbours) != 0 {
		if time.Since(start) > 3*time.Second {
			t.Fatal("a silent neighbour was still listed after 3 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("dead adjacency found in %v (ls_t_dead 300 ms)", time.Since(start).Round(time.Millisecond))
}

func TestAddressCollisionIsResolved(t *testing.T) {
	n := build(t, []string{"a", "b", "c"}, chain("a", "b", "c"), nil)
	a, c := n.Node("a").IPCP, n.Node("c").IPCP
	c.SetAddrForTest(a.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for a.Addr() == c.Addr() {
		if ctx.Err() != nil {
			t.Fatal("the collision was not resolved")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := n.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Node("c").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	mustPing(t, simnet.NewPinger(pingFlow(t, n, "a", "srv", qos.Raw)))
}

func TestEnrollRefusals(t *testing.T) {
	n := simnet.New(nil)
	t.Cleanup(n.Close)
	n.AddNode("a")
	n.AddNode("b")
	n.Link("a", "b", simnet.LinkOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Node("b").IPCP.Enroll(ctx, "corp", "a"); err == nil || !strings.Contains(err.Error(), "no layer") {
		t.Fatalf("enrolling through a member of no layer: %v", err)
	}
	if err := n.Node("a").IPCP.Bootstrap(ctx, "corp", nil); err != nil {
		t.Fatal(err)
	}
	if err := n.Node("b").IPCP.Enroll(ctx, "other", "a"); err == nil || !strings.Contains(err.Error(), "not other") {
		t.Fatalf("enrolling in the wrong layer: %v", err)
	}
	if err := n.Node("b").IPCP.Enroll(ctx, "corp", "a"); err != nil {
		t.Fatal(err)
	}
	if err := n.Node("b").IPCP.Enroll(ctx, "corp", "a"); err == nil {
		t.Fatal("enrolled twice")
	}
	if _, err := n.Node("a").IPCP.Connect(ctx, "nowhere", "", qos.Raw, false); err == nil {
		t.Fatal("connected to a node without a link")
	}
}

// neighbour plays a member that connected to dst: it returns the flow
// after the CEP exchange.
func neighbour(t *testing.T, n *simnet.Net, from, dst, component string) ipcp.Port {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	port, err := n.Node(from).AllocLower(ctx, nil, dst, qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Down(ctrl.ReasonDown) })
	hello := unicast.ConnectForTest(component, "mallory", "corp", 0x4242)
	if _, err := port.WriteBatch([][]byte{hello}); err != nil {
		t.Fatal(err)
	}
	bufs, lens := [][]byte{make([]byte, 2048)}, []int{0}
	if _, err := port.ReadBatch(bufs, lens); err != nil {
		t.Fatal("no answer to the CONNECT:", err)
	}
	return port
}

func TestHostileNeighbourInputIsDroppedAndCounted(t *testing.T) {
	n := build(t, []string{"a", "b"}, chain("a", "b"), nil)
	a := n.Node("a").IPCP
	mgmt := neighbour(t, n, "b", "a", "mgmt")
	dtf := neighbour(t, n, "b", "a", "dt")
	rng := rand.New(rand.NewPCG(1, 2))
	hdr := func(eid uint64) []byte {
		// A DT header to a's address, 4-byte addresses.
		b := binary.BigEndian.AppendUint32(nil, uint32(a.Addr()))
		b = append(b, 0, 60, 0)
		return binary.BigEndian.AppendUint64(b, eid)
	}
	for i := range 300 {
		junk := make([]byte, 1+rng.IntN(80))
		for j := range junk {
			junk[j] = byte(rng.Uint32())
		}
		lsu := append([]byte{1, 1}, junk...) // version 1, type LSU, then garbage
		fa := append(hdr(0), append([]byte{1, byte(i % 6)}, junk...)...)
		dht := append(hdr(1), junk...)
		pdu := append([]byte{0xff}, junk...) // no member has that address
		_, _ = mgmt.WriteBatch([][]byte{lsu, junk})
		_, _ = dtf.WriteBatch([][]byte{fa, dht, pdu})
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		c := a.Info().Counters
		if c["bad-control"] >= 300 && c["malformed"]+c["no-route"] > 0 {
			t.Logf("counted: %v", c)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hostile input not counted: %v", c)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := n.Node("b").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	mustPing(t, simnet.NewPinger(pingFlow(t, n, "a", "srv", qos.Raw)))
}

func TestPolicingAboveTheDeclaredBandwidth(t *testing.T) {
	n := build(t, []string{"a", "b"}, chain("a", "b"), map[string]string{"congestion": "none"})
	got := make(chan int, 1)
	var delivered atomic.Uint64 // SDUs
	if err := n.Node("b").Serve("sink", func(p ipcp.Port) {
		bufs, lens := [][]byte{make([]byte, 2048)}, []int{0}
		total := 0
		for {
			if _, err := p.ReadBatch(bufs, lens); err != nil {
				got <- total
				return
			}
			total += lens[0]
			delivered.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	q := qos.Raw
	q.Bandwidth = 1_000_000 // 1 Mbit/s declared
	f := pingFlow(t, n, "a", "sink", q)
	sdu := make([]byte, 1000)
	start := time.Now()
	written := 0
	for time.Since(start) < time.Second {
		k, _ := f.WriteBatch([][]byte{sdu, sdu, sdu, sdu})
		written += k
		time.Sleep(time.Millisecond) // offers about 30 Mbit/s
	}
	// Every SDU written is delivered or dropped and counted, once those
	// still on the way have arrived.
	accounted := func() uint64 {
		sum := delivered.Load()
		for _, node := range []string{"a", "b"} {
			for _, c := range n.Node(node).IPCP.Info().Counters {
				sum += c
			}
		}
		return sum
	}
	deadline := time.Now().Add(5 * time.Second)
	for accounted() < uint64(written) {
		if time.Now().After(deadline) {
			t.Fatalf("%d SDUs written, %d delivered or counted as dropped", written, accounted())
		}
		time.Sleep(time.Millisecond)
	}
	f.Down(ctrl.ReasonPeer)
	total := <-got
	policed := n.Node("a").IPCP.Info().Counters["policed"]
	t.Logf("offered ~30 Mbit/s for 1 s at 1 Mbit/s declared: %d bytes delivered, %d SDUs policed", total, policed)
	if policed == 0 || total > 250_000 {
		t.Fatalf("not policed: %d bytes through, %d policed", total, policed)
	}
}

func TestFailoverUnderEveryPolicy(t *testing.T) {
	for _, policy := range []string{"link_state", "lfa", "ecmp"} {
		t.Run(policy, func(t *testing.T) {
			names := []string{"a", "b", "c", "d"}
			edges := append(chain(names...), [2]string{"d", "a"})
			n := build(t, names, edges, map[string]string{"routing": policy})
			if err := n.Node("c").Serve("srv", simnet.Echo); err != nil {
				t.Fatal(err)
			}
			pg := simnet.NewPinger(pingFlow(t, n, "a", "srv", qos.Raw))
			mustPing(t, pg)
			// Cut the link the flow uses: a reaches c over b or d at equal cost.
			via := "b"
			if hops := n.Node("a").IPCP.Routes()[n.Node("c").IPCP.Addr()]; len(hops) > 0 && hops[0] == n.Node("d").IPCP.Addr() {
				via = "d"
			}
			n.Cut("a", via)
			start := time.Now()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				_, err := pg.Ping(ctx)
				cancel()
				if err == nil {
					break
				}
				if time.Since(start) > 5*time.Second {
					t.Fatal("no failover in 5 s")
				}
			}
			t.Logf("%s: traffic flowed again %v after the cut", policy, time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestAllocationCarriesDataBothWays(t *testing.T) {
	n := build(t, []string{"a", "b", "c"}, chain("a", "b", "c"), nil)
	if err := n.Node("c").Serve("srv", simnet.Echo); err != nil {
		t.Fatal(err)
	}
	pingFlow(t, n, "a", "srv", qos.Raw).Down(ctrl.ReasonPeer) // waits for the name to be published
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kex := bytes.Repeat([]byte{0xa5}, 1200)
	app, layer := ipcp.NewPipe(16, 1001, 1002)
	defer app.Down(ctrl.ReasonPeer)
	reply, err := n.Node("a").IPCP.Alloc(ctx, "srv", ipcp.DefaultHash.Sum("srv"), qos.Raw, kex, layer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reply, append([]byte("re:"), kex...)) {
		t.Fatalf("the data came back as %d bytes, want the 1203 the server answered", len(reply))
	}
	_, err = n.Node("a").IPCP.Alloc(ctx, "srv", ipcp.DefaultHash.Sum("srv"), qos.Raw, make([]byte, 2000), layer)
	if err == nil || !strings.Contains(err.Error(), "larger than the layer") {
		t.Fatalf("data beyond the layer's SDU: %v", err)
	}
}
