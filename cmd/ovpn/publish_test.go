package main

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/overlay/link/linktest"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/resolver"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/tunif/tuntest"
)

// toName is an accepted flow allocated to a name other than the
// accepting end's own: one it publishes.
type toName struct {
	proved
	name string
}

func (f toName) Name() string { return f.name }

// publishB is gw.b's file: it accepts gw.*, publishes web.b at 10.2.0.5
// and fd02::5, and routes 10.1.0.0/24 back to gw.a; rest is added.
func publishB(rest string) string {
	return linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", acceptGW+
		"[[peer]]\nname = \"gw.a\"\nroutes = [\"10.1.0.0/24\"]\n"+
		"[[publish]]\nname = \"web.b\"\naddress = [\"10.2.0.5\", \"fd02::5\"]\n"+rest)
}

// reachPublishing makes a's allocations to gw.b and web.b reach b, the
// first as a flow to b's own name, the second to its published name; each
// end proves what proofs gives for the name allocated to (a CA proves
// gw.a at b). It returns the count of allocations by name.
func reachPublishing(a, b *daemon, proofs map[string]flow.Peer) map[string]*atomic.Int32 {
	n := map[string]*atomic.Int32{"gw.b": {}, "web.b": {}}
	a.alloc = func(_ context.Context, name string) (peerFlow, error) {
		c := n[name]
		if c == nil {
			return nil, &flow.OpError{Op: "alloc", Name: name, Err: flow.ErrNoName}
		}
		c.Add(1)
		x, y := linktest.Pipe(1400)
		fromA := proved{y, flow.Peer{Name: a.config().Name}}
		if name == "gw.b" {
			go b.addAccepted(b.ctx, fromA)
		} else {
			b.take(b.ctx, toName{fromA, name})
		}
		return proved{x, proofs[name]}, nil
	}
	return n
}

// publishPair is gw.a (no [[peer]]; aRest added to its file) and gw.b
// publishing web.b, started, with proofs as a CA gives them.
func publishPair(t *testing.T, aRest string) (a, b *daemon, ka, kb *tuntest.Device, allocs map[string]*atomic.Int32) {
	t.Helper()
	a, ka = testDaemonDev(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", acceptGW+aRest))
	b, kb = testDaemonDev(t, "b", publishB(""))
	allocs = reachPublishing(a, b, map[string]flow.Peer{"gw.b": {Name: "gw.b"}, "web.b": {Name: "web.b"}})
	run2(t, a, b)
	return a, b, ka, kb, allocs
}

// A published name is answered by its gateway: the lookup gives the
// host's addresses, sets the gateway's flow up, routes the addresses
// through it (engine and kernel), and packets to the host reach the
// gateway's interface. A second lookup sets nothing up.
func TestPublishedNameResolved(t *testing.T) {
	a, b, ka, kb, allocs := publishPair(t, "")
	if upOn(a, "gw.b") {
		t.Fatal("gw.b up before the lookup")
	}
	got, err := lookup(t, a, "web.b")
	if err != nil || addrsOf(got) != "10.2.0.5,fd02::5" {
		t.Fatalf("Lookup(web.b) = %v, %v; want 10.2.0.5,fd02::5", got, err)
	}
	gw := a.link.Peer("gw.b")
	if gw == nil {
		t.Fatal("the gateway gw.b is not up")
	}
	if rs := prefixes(gw.Status().Routes); rs != "10.2.0.5/32,fd02::5/128" {
		t.Fatalf("gw.b's routes at gw.a: %s", rs)
	}
	if ks := kernelRoutes(a.config(), a.od.learnedPrefixes()); prefixes(ks) != "10.2.0.5/32,fd02::5/128" {
		t.Fatalf("kernel routes: %s", prefixes(ks))
	}
	if err := ka.Send(udp4("10.1.0.7", "10.2.0.5")); err != nil {
		t.Fatal(err)
	}
	pkt, err := kb.Recv(5 * time.Second)
	if err != nil || netip.AddrFrom4([4]byte(pkt[16:20])).String() != "10.2.0.5" {
		t.Fatalf("gw.b's interface got %x, %v; want the packet to 10.2.0.5", pkt, err)
	}
	if _, err := lookup(t, a, "web.b"); err != nil || allocs["web.b"].Load() != 1 || allocs["gw.b"].Load() != 1 {
		t.Fatalf("second lookup: %v, after %d allocations to web.b and %d to gw.b; want 1 each",
			err, allocs["web.b"].Load(), allocs["gw.b"].Load())
	}
	names := newDNSNames(a)
	if n, ok := names.Reverse(netip.MustParseAddr("fd02::5")); !ok || n != "web.b" {
		t.Fatalf("Reverse(fd02::5) = %q, %v", n, ok)
	}
	es := names.entries()
	i := slices.IndexFunc(es, func(e dnsEntry) bool { return e.Name == "web.b" })
	if i < 0 || es[i].Gateway != "gw.b" {
		t.Fatalf("entries = %+v; want web.b through gw.b", es)
	}
	// The resolution flow is no peer at either end.
	if upOn(a, "web.b") || upOn(b, "web.b") {
		t.Fatal("the resolution's flow became a peer")
	}
	// The gateway's end takes the published routes with it.
	b.link.Remove("gw.a", "test: cut")
	waitUntil(t, "the learned routes gone", func() bool {
		_, ok := a.known("web.b")
		return !ok && len(a.od.learnedPrefixes()) == 0
	})
}

// A published name's answer is refused when its addresses are held by
// another peer: a [[peer]]'s routes here.
func TestPublishedNameOverlapRefused(t *testing.T) {
	a, _, _, _, _ := publishPair(t, "[[peer]]\nname = \"gw.c\"\nroutes = [\"10.2.0.0/24\"]\n")
	_, err := lookup(t, a, "web.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "in the routes of [[peer]] gw.c") {
		t.Fatalf("Lookup(web.b) = %v; want REFUSED: gw.c's routes", err)
	}
	if rs := newDNSNames(a).refusals(); len(rs) == 0 || rs[0].Name != "web.b" {
		t.Fatalf("refusals = %+v", rs)
	}
	if len(a.od.learnedPrefixes()) != 0 {
		t.Fatal("a refused answer was learned")
	}
}

// The publishing end admits the dialler of a resolution as any accepted
// flow: one no rule admits is refused, and the lookup says why.
func TestPublishedNameRefusesStranger(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.x", "10.77.0.9/24", "ovpntest-a", acceptGW))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"laptop.*\"]\n"+
		"[[publish]]\nname = \"web.b\"\naddress = [\"10.2.0.5\"]\n"))
	allocs := reachPublishing(a, b, map[string]flow.Peer{"web.b": {Name: "web.b"}})
	run2(t, a, b)
	_, err := lookup(t, a, "web.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "no [[peer]] entry and no [accept] names pattern matches gw.x") {
		t.Fatalf("Lookup(web.b) = %v; want REFUSED with gw.b's reason", err)
	}
	if allocs["gw.b"].Load() != 0 {
		t.Fatal("the gateway was dialled after a refusal")
	}
}

// Authentication on: the answer must come from an end whose certificate
// names the published name; the gateway's own certificate is not enough.
func TestPublishedNameUnproven(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", acceptGW))
	b := testDaemon(t, "b", publishB(""))
	reachPublishing(a, b, map[string]flow.Peer{"gw.b": {Name: "gw.b"}, "web.b": {Name: "gw.b"}})
	run2(t, a, b)
	_, err := lookup(t, a, "web.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "the answer for web.b is not proven") {
		t.Fatalf("Lookup(web.b) = %v; want REFUSED: not proven", err)
	}
}

// checkAnswer refuses answers that are not for the name dialled, not
// proven, name a bad gateway, or give other than private host addresses.
func TestCheckAnswer(t *testing.T) {
	cfg := testConfig()
	good := link.Hello{Name: "web.b", Mode: wire.Tun, Gateway: "gw.b",
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.2.0.5/32"), netip.MustParsePrefix("fd02::5/128")}}
	if e, err := checkAnswer(cfg, "web.b", flow.Peer{Name: "web.b"}, good); err != nil || addrsOf(e.Addrs) != "10.2.0.5,fd02::5" {
		t.Fatalf("a good answer: %+v, %v", e, err)
	}
	for want, change := range map[string]func(*link.Hello, *flow.Peer, *config.Link){
		"but the answer is for web.c":             func(h *link.Hello, _ *flow.Peer, _ *config.Link) { h.Name = "web.c" },
		"not proven":                              func(_ *link.Hello, p *flow.Peer, _ *config.Link) { p.Name = "gw.b" },
		"names web.b as its gateway":              func(h *link.Hello, _ *flow.Peer, _ *config.Link) { h.Gateway = "web.b" },
		"names gw.a as its gateway":               func(h *link.Hello, _ *flow.Peer, _ *config.Link) { h.Gateway = "gw.a" },
		"names a gateway with control characters": func(h *link.Hello, _ *flow.Peer, _ *config.Link) { h.Gateway = "gw.b\nx" },
		"not a host address":                      func(h *link.Hello, _ *flow.Peer, _ *config.Link) { h.Addrs[0] = netip.MustParsePrefix("10.2.0.0/24") },
		"gives 8.8.8.8, which is not a private":   func(h *link.Hello, _ *flow.Peer, _ *config.Link) { h.Addrs[0] = netip.MustParsePrefix("8.8.8.8/32") },
		"gives no address":                        func(h *link.Hello, _ *flow.Peer, _ *config.Link) { h.Addrs = nil },
		"needs [interface] mode":                  func(_ *link.Hello, _ *flow.Peer, c *config.Link) { c.Interface.Mode = wire.Tap },
	} {
		h, p, c := good, flow.Peer{Name: "web.b"}, testConfig()
		h.Addrs = slices.Clone(good.Addrs)
		change(&h, &p, c)
		if _, err := checkAnswer(c, "web.b", p, h); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	// Authentication off: the claim is taken.
	cfg.Authenticate = false
	if _, err := checkAnswer(cfg, "web.b", flow.Peer{}, good); err != nil {
		t.Fatalf("authenticate off: %v", err)
	}
}

// A published name learned is asked again once older than relearn; when
// its gateway has withdrawn it (no such name now), the lookup is NXDOMAIN
// and its routes through the gateway go.
func TestPublishedNameRelearned(t *testing.T) {
	a, _, _, _, allocs := publishPair(t, "")
	a.od.relearn = 0
	for range 2 {
		if got, err := lookup(t, a, "web.b"); err != nil || addrsOf(got) != "10.2.0.5,fd02::5" {
			t.Fatalf("Lookup(web.b) = %v, %v", got, err)
		}
	}
	if allocs["web.b"].Load() != 2 || allocs["gw.b"].Load() != 1 {
		t.Fatalf("%d allocations to web.b, %d to gw.b; want web.b asked again, gw.b's flow kept",
			allocs["web.b"].Load(), allocs["gw.b"].Load())
	}
	a.alloc = func(_ context.Context, name string) (peerFlow, error) {
		return nil, &flow.OpError{Op: "alloc", Name: name, Err: flow.ErrNoName}
	}
	if _, err := lookup(t, a, "web.b"); !errors.Is(err, resolver.ErrNoName) {
		t.Fatalf("Lookup of a withdrawn name: %v; want ErrNoName", err)
	}
	if rs := prefixes(a.link.Peer("gw.b").Status().Routes); rs != "-" || len(a.od.learnedPrefixes()) != 0 {
		t.Fatalf("a withdrawn name's routes stay: gw.b's %s, learned %v", rs, a.od.learnedPrefixes())
	}
}

// An address another gateway publishes (learned earlier) is not taken
// over by a second answer for it.
func TestPublishedNameHeldElsewhere(t *testing.T) {
	a, _, _, _, _ := publishPair(t, "")
	a.od.published["web.c"] = dnsEntry{Name: "web.c", Gateway: "gw.c", Addrs: []netip.Addr{netip.MustParseAddr("fd02::5")}}
	_, err := lookup(t, a, "web.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "the answer gives fd02::5, which gw.c publishes as web.c") {
		t.Fatalf("Lookup(web.b) = %v; want REFUSED: gw.c publishes fd02::5", err)
	}
	if _, ok := a.known("web.b"); ok {
		t.Fatal("the refused answer was learned")
	}
}

// An answer may not take over the address of a host this end publishes
// itself: that host is on this end's LAN, and a /32 through the gateway
// would send this end's own traffic for it into the tunnel.
func TestPublishedNameOwnHostRefused(t *testing.T) {
	a, _, _, _, _ := publishPair(t, "[[publish]]\nname = \"printer.a\"\naddress = [\"10.2.0.5\"]\n")
	_, err := lookup(t, a, "web.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "the answer gives 10.2.0.5, the address of printer.a") {
		t.Fatalf("Lookup(web.b) = %v; want REFUSED: 10.2.0.5 is printer.a, behind this end", err)
	}
	if len(a.od.learnedPrefixes()) != 0 {
		t.Fatalf("a refused answer was learned: %v", a.od.learnedPrefixes())
	}
}

// An answer whose address the host routes through another interface (its
// LAN router, its resolver) or holds itself is refused: a /32 through the
// tunnel would take it over.
func TestPublishedNameRoutedElsewhereRefused(t *testing.T) {
	a, _, _, _, _ := publishPair(t, "")
	a.routedElsewhere = func(x netip.Addr) (string, error) {
		if x == netip.MustParseAddr("10.2.0.5") {
			return "10.2.0.5 is routed through eth0 (10.2.0.0/24)", nil
		}
		return "", nil
	}
	_, err := lookup(t, a, "web.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "the answer gives 10.2.0.5: 10.2.0.5 is routed through eth0") {
		t.Fatalf("Lookup(web.b) = %v; want REFUSED: 10.2.0.5 is on this host's LAN", err)
	}
	if len(a.od.learnedPrefixes()) != 0 {
		t.Fatalf("a refused answer was learned: %v", a.od.learnedPrefixes())
	}
}
