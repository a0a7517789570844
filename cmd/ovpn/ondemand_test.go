package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/link/linktest"
	"o7s.dev/ouroboros/resolver"
	"o7s.dev/ouroboros/stack/flow"
)

// acceptGW is an [accept] section that admits every gw.* name.
const acceptGW = "[accept]\nnames = [\"gw.*\"]\n"

// onDemandPair is gw.a, which has no [[peer]] and dials on demand (rest:
// more of its file), and gw.b, which accepts gw.*; a's allocations reach b.
func onDemandPair(t *testing.T, rest string) (a, b *daemon, allocs *atomic.Int32) {
	t.Helper()
	a = testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[accept]\nnames = [\"laptop.*\"]\n"+rest))
	b = testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", acceptGW))
	allocs = reach(a, b)
	run2(t, a, b)
	return a, b, allocs
}

// A name with no flow is dialled on the first lookup, answered with its
// tunnel addresses, shown in the entries; a second lookup reuses the flow.
func TestOnDemandDialsOnFirstLookup(t *testing.T) {
	a, b, allocs := onDemandPair(t, "")
	got, err := lookup(t, a, "gw.b")
	if err != nil || addrsOf(got) != "10.77.0.2" {
		t.Fatalf("Lookup(gw.b) = %v, %v; want 10.77.0.2", got, err)
	}
	if !upOn(a, "gw.b") || !upOn(b, "gw.a") {
		t.Fatal("the on-demand flow is not up at both ends")
	}
	if got, err = lookup(t, a, "gw.b"); err != nil || addrsOf(got) != "10.77.0.2" || allocs.Load() != 1 {
		t.Fatalf("second Lookup(gw.b) = %v, %v after %d allocations; want the same answer from one", got, err, allocs.Load())
	}
	es := newDNSNames(a).entries()
	if len(es) != 1 || es[0].Name != "gw.b" || es[0].Gateway != "" || addrsOf(es[0].Addrs) != "10.77.0.2" || es[0].Since.IsZero() {
		t.Fatalf("entries = %+v", es)
	}
	if st := a.status(); len(st.Peers) != 1 || st.Peers[0].State != "up" || !st.Peers[0].Dialled {
		t.Fatalf("gw.a's status: %+v", st.Peers)
	}
}

// An endpoint whose tunnel addresses lie outside this end's subnets is
// REFUSED with the reason: nothing routes to them, so an answer would send
// the client nowhere.
func TestOnDemandUnroutedAddressesRefused(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[accept]\nnames = [\"laptop.*\"]\n"))
	b := testDaemon(t, "b", linkConf("gw.b", "10.88.0.2/24", "ovpntest-b", acceptGW))
	reach(a, b)
	run2(t, a, b)
	_, err := lookup(t, a, "gw.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "lie outside this end's subnets") {
		t.Fatalf("Lookup(gw.b) = %v; want REFUSED: 10.88.0.2 is not routed here", err)
	}
}

// The allocation's errors: no such name in any layer is NXDOMAIN
// (ErrNoName), a policy's no is REFUSED, anything else a failure.
func TestOnDemandAllocErrors(t *testing.T) {
	a, _, _ := onDemandPair(t, "")
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&flow.OpError{Op: "alloc", Name: "gw.x", Err: flow.ErrNoName}, resolver.ErrNoName},
		{&flow.OpError{Op: "alloc", Name: "gw.x", Err: flow.ErrNotAllowed}, resolver.ErrRefused},
		{&flow.OpError{Op: "alloc", Name: "gw.x", Err: flow.ErrUnreachable}, nil},
	} {
		a.alloc = func(context.Context, string) (peerFlow, error) { return nil, tc.err }
		_, err := lookup(t, a, "gw.x")
		if err == nil {
			t.Fatalf("%v: no error", tc.err)
		}
		for _, e := range []error{resolver.ErrNoName, resolver.ErrRefused} {
			if errors.Is(err, e) != (e == tc.want) {
				t.Errorf("alloc failing with %v: Lookup's %v; errors.Is %v = %v", tc.err, err, e, !(e == tc.want))
			}
		}
	}
	if rs := newDNSNames(a).refusals(); len(rs) != 1 || rs[0].Name != "gw.x" || !strings.Contains(rs[0].Reason, "not allowed") {
		t.Fatalf("refusals = %+v; want gw.x's not allowed", rs)
	}
}

// A name that refuses this end (its [accept] does not match) is REFUSED;
// the refusal names it and gives its reason; the flow is not up.
func TestOnDemandRefusedByFarEnd(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[accept]\nnames = [\"laptop.*\"]\n"))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"laptop.*\"]\n"))
	reach(a, b)
	run2(t, a, b)
	_, err := lookup(t, a, "gw.b")
	if !errors.Is(err, resolver.ErrRefused) {
		t.Fatalf("Lookup of a name that refuses: %v; want ErrRefused", err)
	}
	rs := newDNSNames(a).refusals()
	if len(rs) != 1 || rs[0].Name != "gw.b" || !strings.Contains(rs[0].Reason, "refused by gw.b") ||
		!strings.Contains(rs[0].Reason, "no [[peer]] entry and no [accept] names pattern matches gw.a") {
		t.Fatalf("refusals = %+v", rs)
	}
	waitUntil(t, "no peer up", func() bool { return !upOn(a, "gw.b") && !upOn(b, "gw.a") })
	if es := newDNSNames(a).entries(); len(es) != 0 {
		t.Fatalf("a refused name in the entries: %+v", es)
	}
}

// Authentication on: the far end of an on-demand flow must be proven to
// be the name dialled, by a CA (a name that is no [[peer]] has no pin);
// off, its claim is taken.
func TestOnDemandAuthentication(t *testing.T) {
	for _, tc := range []struct {
		auth  bool
		proof flow.Peer
		ok    bool
	}{
		{auth: true, proof: flow.Peer{Name: "gw.b"}, ok: true},
		{auth: true, proof: flow.Peer{Name: "gw.mallory"}},
		{auth: true, proof: flow.Peer{Fingerprint: "SHA256:abcd", CertName: "gw.b"}},
		{auth: true},
		{auth: false, ok: true},
	} {
		t.Run(fmt.Sprintf("auth=%v,proof=%+v", tc.auth, tc.proof), func(t *testing.T) {
			auth := fmt.Sprintf("authenticate = %v\n", tc.auth)
			a := testDaemon(t, "a", auth+linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[accept]\nnames = [\"laptop.*\"]\n"))
			b := testDaemon(t, "b", "authenticate = false\n"+linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", acceptGW))
			a.alloc = func(context.Context, string) (peerFlow, error) {
				x, y := linktest.Pipe(1400)
				go b.addAccepted(b.ctx, proved{y, flow.Peer{}})
				return proved{x, tc.proof}, nil
			}
			run2(t, a, b)
			_, err := lookup(t, a, "gw.b")
			if tc.ok != (err == nil) {
				t.Fatalf("Lookup: %v; want admitted %v", err, tc.ok)
			}
			if !tc.ok && (!errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "gw.b presented no certificate")) {
				t.Fatalf("Lookup: %v; want REFUSED for an unproven name", err)
			}
			if got := a.link.Peer("gw.b") != nil; got != tc.ok {
				t.Fatalf("gw.b up: %v", got)
			}
		})
	}
}

// Concurrent lookups of one name share one allocation.
func TestOnDemandOneAttemptPerName(t *testing.T) {
	a, b, _ := onDemandPair(t, "")
	release := make(chan struct{})
	var allocs atomic.Int32
	a.alloc = func(context.Context, string) (peerFlow, error) {
		allocs.Add(1)
		<-release
		x, y := linktest.Pipe(1400)
		go b.addAccepted(b.ctx, proved{y, flow.Peer{Name: "gw.a"}})
		return proved{x, flow.Peer{Name: "gw.b"}}, nil
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := lookup(t, a, "gw.b")
			if err == nil && addrsOf(got) != "10.77.0.2" {
				err = fmt.Errorf("answer %v", got)
			}
			errs <- err
		}()
	}
	waitUntil(t, "every lookup sharing the first allocation", func() bool {
		a.od.mu.Lock()
		defer a.od.mu.Unlock()
		c := a.od.calls["gw.b"]
		return allocs.Load() == 1 && c != nil && c.callers == n
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if allocs.Load() != 1 {
		t.Fatalf("%d concurrent lookups made %d allocations; want 1", n, allocs.Load())
	}
}

// An on-demand peer that carries no data for [dns] idle is closed;
// traffic keeps it up.
func TestOnDemandIdleClose(t *testing.T) {
	a, kernel := testDaemonDev(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[accept]\nnames = [\"laptop.*\"]\n[dns]\n"))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", acceptGW))
	reach(a, b)
	run2(t, a, b)
	const idle = 300 * time.Millisecond
	a.config().DNS.Idle = idle
	if _, err := lookup(t, a, "gw.b"); err != nil {
		t.Fatal(err)
	}
	p, pb := a.link.Peer("gw.b"), b.link.Peer("gw.a")
	// A packet every idle/3, for three times idle: the peer stays.
	for range 9 {
		if err := kernel.Send(udp4("10.77.0.1", "10.77.0.2")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(idle / 3)
		if a.link.Peer("gw.b") != p {
			t.Fatalf("a peer carrying traffic was closed: %v", p.Err())
		}
	}
	start := time.Now()
	waitUntil(t, "the idle peer closed", func() bool { return !upOn(a, "gw.b") })
	if took := time.Since(start); took < idle/2 {
		t.Fatalf("closed %v after the last packet; idle is %v", took, idle)
	}
	waitUntil(t, "gw.a gone at gw.b", func() bool { return !upOn(b, "gw.a") })
	if err := pb.Err(); err == nil || !strings.Contains(err.Error(), "refused by gw.a: idle") {
		t.Fatalf("gw.b's flow ended with %v; want gw.a's refusal: idle", err)
	}
	if es := newDNSNames(a).entries(); len(es) != 0 {
		t.Fatalf("entries after idle close: %+v", es)
	}
}

// udp4 is a minimal IPv4 UDP packet from src to dst.
func udp4(src, dst string) []byte {
	p := make([]byte, 28)
	p[0], p[3], p[8], p[9] = 0x45, 28, 64, 17
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(p[12:16], s[:])
	copy(p[16:20], d[:])
	return p
}

// A reload keeps an on-demand peer (it has no [[peer]] entry to lose)
// and judges it by the new rules: authentication turned on without a
// proof ends it.
func TestOnDemandReload(t *testing.T) {
	conf := linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[accept]\nnames = [\"laptop.*\"]\n")
	a := testDaemon(t, "a", "authenticate = false\n"+conf)
	b := testDaemon(t, "b", "authenticate = false\n"+linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", acceptGW))
	a.alloc = func(context.Context, string) (peerFlow, error) {
		x, y := linktest.Pipe(1400)
		go b.addAccepted(b.ctx, proved{y, flow.Peer{}})
		return proved{x, flow.Peer{}}, nil
	}
	run2(t, a, b)
	if _, err := lookup(t, a, "gw.b"); err != nil {
		t.Fatal(err)
	}
	p := a.link.Peer("gw.b")
	if err := a.reload(); err != nil || a.link.Peer("gw.b") != p {
		t.Fatalf("a reload with nothing changed: %v; the on-demand peer must stay", err)
	}
	rewrite(t, a, "authenticate = true\n"+conf)
	if err := a.reload(); err != nil {
		t.Fatal(err)
	}
	// (Its Err may be the flow's end, closed under the refusal.)
	waitUntil(t, "the unproven on-demand peer ended", func() bool { return !upOn(a, "gw.b") })
}

// A name that no layer can hold (empty, control characters: the key of a
// gateway's lookup has one) is NXDOMAIN without an allocation.
func TestOnDemandRefusesImpossibleNames(t *testing.T) {
	a, _, allocs := onDemandPair(t, "")
	for _, name := range []string{"", gatewayKey + "gw.b", "gw\nb"} {
		if _, err := lookup(t, a, name); !errors.Is(err, resolver.ErrNoName) {
			t.Errorf("Lookup(%q): %v; want ErrNoName", name, err)
		}
	}
	if allocs.Load() != 0 {
		t.Fatalf("%d allocations for impossible names", allocs.Load())
	}
}

// At most maxAttempts names are set up at once: the next lookup of a new
// name fails at once (SERVFAIL, the client asks again), and one of a
// name under way still joins its attempt.
func TestOnDemandBoundsAttempts(t *testing.T) {
	a, _, _ := onDemandPair(t, "")
	release := make(chan struct{})
	var allocs atomic.Int32
	a.alloc = func(_ context.Context, name string) (peerFlow, error) {
		allocs.Add(1)
		<-release
		return nil, &flow.OpError{Op: "alloc", Name: name, Err: flow.ErrNoName}
	}
	defer close(release)
	for i := range maxAttempts {
		go lookup(t, a, fmt.Sprintf("gw.n%d", i)) //nolint:errcheck // held until the test ends
	}
	waitUntil(t, "every attempt allocating", func() bool { return allocs.Load() == maxAttempts })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := newDNSNames(a).Lookup(ctx, "gw.one-more")
	if err == nil || !strings.Contains(err.Error(), "being set up already") || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("a lookup beyond the bound: %v after %v; want a failure at once", err, time.Since(start))
	}
	if _, err := newDNSNames(a).Lookup(ctx, "gw.n0"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a lookup of a name under way: %v; want it to wait for the attempt", err)
	}
	if n := allocs.Load(); n != maxAttempts {
		t.Fatalf("%d allocations; want %d", n, maxAttempts)
	}
}
