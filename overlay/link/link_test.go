package link

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/link/linktest"
	"o7s.dev/ouroboros/overlay/packet"
	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
)

// TestIPv4IPv6BothWays: two sites with addresses in one subnet and a route
// behind one of them exchange IPv4 and IPv6 packets both ways.
func TestIPv4IPv6BothWays(t *testing.T) {
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24", "fd77::1/64")})
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24", "fd77::2/64")})
	mustConnect(t, a, b,
		admitAs(PeerConfig{Routes: pfx("10.2.0.0/24", "fd02::/48"), Proven: true}),
		admitAs(PeerConfig{}))

	for _, c := range []struct {
		from, to *node
		src, dst string
	}{
		{a, b, "10.77.0.1", "10.77.0.2"},
		{b, a, "10.77.0.2", "10.77.0.1"},
		{a, b, "fd77::1", "fd77::2"},
		{b, a, "fd77::2", "fd77::1"},
		{a, b, "10.77.0.1", "10.2.0.9"},     // to a route behind b
		{b, a, "10.2.0.9", "10.77.0.1"},     // from it
		{b, a, "fd02::9", "fd77::1"},        // IPv6 route
		{a, b, "10.77.0.1", "10.77.0.2"},    // again: buffers reused
		{b, a, "fd02::1:2:3", "fd77::1"},    // any address of the route
		{a, b, "fd77::1", "fd02::ffff:1:2"}, // IPv6 to the route
	} {
		pkt := ipPacket(c.src, c.dst, []byte("hello "+c.dst))
		if err := c.from.host.Send(pkt); err != nil {
			t.Fatal(err)
		}
		c.to.expect(t, pkt)
	}
	st := a.peerStatus(t, "gw.b")
	if !st.Proven || !st.Dialled || st.TxPackets != 5 || st.RxPackets < 5 || st.TxBytes == 0 {
		t.Errorf("a's status of b: %+v", st)
	}
	if got := b.peerStatus(t, "gw.a"); got.Proven || got.Dialled || got.RxPackets != 5 {
		t.Errorf("b's status of a: %+v", got)
	}
}

// TestNoRoute: a packet to no peer is dropped and counted at the link, and
// answered with an ICMP or ICMPv6 "destination unreachable" from the
// packet's destination (an answer from this end's own address would be a
// martian to the kernel).
func TestNoRoute(t *testing.T) {
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24", "fd77::1/64")})
	for i, c := range []struct{ src, dst, from string }{
		{"10.77.0.1", "192.0.2.1", "192.0.2.1"},
		{"fd77::1", "2001:db8::1", "2001:db8::1"},
	} {
		if err := a.host.Send(ipPacket(c.src, c.dst, nil)); err != nil {
			t.Fatal(err)
		}
		expectICMP(t, a, c.from, c.src, 0, 1)
		if got := a.l.Status().Drops["no-route"]; got != uint64(i+1) {
			t.Errorf("no-route drops %d, want %d", got, i+1)
		}
	}
}

// expectICMP waits for an ICMP (IPv4: type 3 code v4code) or ICMPv6 (type
// v6type) answer from from to to at n's host, and returns it.
func expectICMP(t *testing.T, n *node, from, to string, v4code, v6type byte) []byte {
	t.Helper()
	got, err := n.host.Recv(5 * time.Second)
	if err != nil {
		t.Fatalf("waiting for an ICMP answer: %v", err)
	}
	src, dst, ok := packet.Addrs(got)
	if !ok || src.String() != from || dst.String() != to {
		t.Fatalf("answer % x: from %v to %v, want from %s to %s", got, src, dst, from, to)
	}
	if src.Is4() && (got[9] != 1 || got[20] != 3 || got[21] != v4code) {
		t.Fatalf("answer % x: want ICMP type 3 code %d", got, v4code)
	}
	if src.Is6() && (got[6] != 58 || got[40] != v6type) {
		t.Fatalf("answer % x: want ICMPv6 type %d", got, v6type)
	}
	return got
}

// TestLease: a client with no address gets one of each family from the
// server's pool, reaches the server from it, gets the same again after
// reconnecting (a new Link: the client restarted), and a second client
// gets others.
func TestLease(t *testing.T) {
	pl, err := pool.Open(pool.Config{Prefixes: pfx("10.77.0.128/25", "fd77::1:0/112"), File: t.TempDir() + "/leases"})
	if err != nil {
		t.Fatal(err)
	}
	srv := newNode(t, "office", Config{Addrs: pfx("10.77.0.1/24", "fd77::1/64"), Pool: pl})
	accept := admitAs(PeerConfig{Lease: true})
	toOffice := admitAs(PeerConfig{Routes: pfx("10.77.0.0/24", "fd77::/64")})

	client := func(name string) (*node, []netip.Prefix, *Peer) {
		var mu sync.Mutex
		var got []netip.Prefix
		c := newNode(t, name, Config{OnAddrs: func(a []netip.Prefix) { mu.Lock(); got = a; mu.Unlock() }})
		pc, _ := mustConnect(t, c, srv, toOffice, accept)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 || !got[0].Addr().Is4() || !got[1].Addr().Is6() {
			t.Fatalf("%s granted %v, want an IPv4 and an IPv6 address", name, got)
		}
		if st := c.l.Status(); !slices.Equal(st.Addrs, got) {
			t.Fatalf("%s status addresses %v, OnAddrs %v", name, st.Addrs, got)
		}
		return c, got, pc
	}
	c1, addrs1, p1 := client("laptop.alice")
	if !netip.MustParsePrefix("10.77.0.128/25").Contains(addrs1[0].Addr()) || addrs1[0].Bits() != 24 {
		t.Errorf("granted %v, want an address of the pool 10.77.0.128/25 with the office's /24 (its connected route must reach 10.77.0.1)", addrs1[0])
	}
	pkt := ipPacket(addrs1[0].Addr().String(), "10.77.0.1", []byte("from the lease"))
	if err := c1.host.Send(pkt); err != nil {
		t.Fatal(err)
	}
	srv.expect(t, pkt)
	if st := srv.peerStatus(t, "laptop.alice"); !slices.Equal(st.Addrs, addrs1) {
		t.Errorf("server shows alice at %v, leased %v", st.Addrs, addrs1)
	}

	// A source in the pool but not leased to alice is spoofed.
	if err := c1.host.Send(ipPacket("10.77.0.200", "10.77.0.1", nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "spoofed count", func() bool {
		return srv.peerStatus(t, "laptop.alice").Drops["spoofed"] == 1
	})

	// Alice reconnects from a new process: same addresses.
	c1.l.Close()
	<-p1.Done()
	waitFor(t, 5*time.Second, "alice gone at the server", func() bool { return srv.l.Peer("laptop.alice") == nil })
	_, again, _ := client("laptop.alice")
	if !slices.Equal(again, addrs1) {
		t.Errorf("alice reconnected with %v, had %v", again, addrs1)
	}
	_, addrs2, _ := client("laptop.bob")
	if addrs2[0] == addrs1[0] || addrs2[1] == addrs1[1] {
		t.Errorf("bob got %v, alice has %v", addrs2, addrs1)
	}
}

// TestNoPool: a client asking an end without a pool is refused, and its
// Add says why.
func TestNoPool(t *testing.T) {
	srv := newNode(t, "office", Config{Addrs: pfx("10.77.0.1/24")})
	c := newNode(t, "laptop", Config{})
	ra, rb := connect(t, c, srv, admitAs(PeerConfig{}), admitAs(PeerConfig{Lease: true}))
	if ra.err == nil || !strings.Contains(ra.err.Error(), "refused by office: no address pool here") {
		t.Errorf("client Add: %v", ra.err)
	}
	if rb.err == nil || !strings.Contains(rb.err.Error(), "no address pool here") {
		t.Errorf("server Add: %v", rb.err)
	}
}

// TestOnDemandAsksNoAddress: a client dialling on demand asks that peer
// for no address, so a peer without a pool admits it, and the client
// keeps what it has.
func TestOnDemandAsksNoAddress(t *testing.T) {
	srv := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
	c := newNode(t, "laptop", Config{})
	fa, fb := linktest.Pipe(testSDU)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		_, err := srv.l.Add(ctx, fb, false, admitAs(PeerConfig{}))
		res <- err
	}()
	if _, err := c.l.AddOnDemand(ctx, fa, admitAs(PeerConfig{})); err != nil {
		t.Fatalf("client AddOnDemand: %v", err)
	}
	if err := <-res; err != nil {
		t.Fatalf("server Add: %v", err)
	}
}

// TestSpoofedAndClaimed: a peer sending from a source outside what it was
// given, or claiming routes in its hello, sees those packets dropped and
// counted; claimed routes do not route.
func TestSpoofedAndClaimed(t *testing.T) {
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
	h, p, err := handPeer(t, b, wire.Msg{Addrs: pfx("10.77.0.1/24", "10.99.0.1/24"), Routes: pfx("10.50.0.0/16", "10.2.0.0/24")},
		admitAs(PeerConfig{Routes: pfx("10.2.0.0/24")}))
	if err != nil {
		t.Fatal(err)
	}
	h.next() // b's hello
	good := ipPacket("10.77.0.1", "10.77.0.2", []byte("ok"))
	h.send(ipPacket("10.50.0.1", "10.77.0.2", nil), // claimed, not given
		ipPacket("10.99.0.1", "10.77.0.2", nil), // its address, outside b's subnet
		ipPacket("10.77.0.3", "10.77.0.2", nil), // someone else's in b's subnet
		good)
	b.expect(t, good)
	st := b.peerStatus(t, "hand")
	if st.Drops["spoofed"] != 3 || st.Drops["claimed-route"] != 1 {
		t.Errorf("drops %v, want 3 spoofed and 1 claimed route", st.Drops)
	}
	if got := b.l.routes.Prefixes(p); !slices.Equal(got, pfx("10.2.0.0/24", "10.77.0.1/32")) {
		t.Errorf("installed %v", got)
	}
	if err := b.host.Send(ipPacket("10.77.0.2", "10.50.0.1", nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "no-route for a claimed route", func() bool { return b.l.Status().Drops["no-route"] == 1 })
}

// TestRefused: a peer that admit refuses gets the reason, and so does the
// refusing end's caller.
func TestRefused(t *testing.T) {
	a := newNode(t, "laptop.eve", Config{Addrs: pfx("10.77.0.9/24")})
	b := newNode(t, "office", Config{Addrs: pfx("10.77.0.1/24")})
	refuse := func(h Hello) (PeerConfig, error) {
		return PeerConfig{}, errors.New(h.Name + " matches no accept pattern")
	}
	ra, rb := connect(t, a, b, admitAs(PeerConfig{}), refuse)
	const why = "not admitted: laptop.eve matches no accept pattern"
	if rb.err == nil || !strings.Contains(rb.err.Error(), why) {
		t.Errorf("refusing end: %v", rb.err)
	}
	err := ra.err
	if err == nil {
		<-ra.p.Done()
		err = ra.p.Err()
	}
	if err == nil || !strings.Contains(err.Error(), "refused by office: "+why) {
		t.Errorf("refused end: %v", err)
	}
	if len(a.l.Status().Peers)+len(b.l.Status().Peers) != 0 {
		t.Errorf("peers left up: %+v %+v", a.l.Status(), b.l.Status())
	}
}

// TestHelloGateway: admit sees every field of the hello, the gateway of
// a published name's answer too, and its refusal reaches the far end; a
// hello without a gateway gives admit none.
func TestHelloGateway(t *testing.T) {
	a := newNode(t, "laptop.alice", Config{Addrs: pfx("10.77.0.9/24")})
	var got Hello
	resolved := func(h Hello) (PeerConfig, error) {
		got = h
		return PeerConfig{}, errors.New("resolved")
	}
	sent := wire.Msg{Name: "web.site-b", MTU: 1400, Addrs: pfx("10.2.0.5/32", "fd02::5/128"), Gateway: "gw.site-b"}
	h, _, err := handPeer(t, a, sent, resolved)
	if err == nil || !strings.Contains(err.Error(), "not admitted: resolved") {
		t.Fatalf("Add: %v", err)
	}
	want := Hello{Name: "web.site-b", Mode: wire.Tun, MTU: 1400, Addrs: sent.Addrs, Gateway: "gw.site-b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("admit saw\n%+v\nwant\n%+v", got, want)
	}
	h.next() // a's hello
	if m := h.next(); m.Type != wire.Refuse || m.Reason != "not admitted: resolved" {
		t.Errorf("the far end got %+v", m)
	}

	if _, _, err := handPeer(t, a, wire.Msg{Name: "gw.site-b"}, resolved); err == nil {
		t.Fatal("Add admitted a refused peer")
	}
	if got.Name != "gw.site-b" || got.Gateway != "" {
		t.Errorf("a hello without a gateway: admit saw %+v", got)
	}
}

// TestModeMismatch: a tun end and a tap end refuse each other, naming both
// modes.
func TestModeMismatch(t *testing.T) {
	a := newNode(t, "a", Config{Mode: wire.Tun, Addrs: pfx("10.77.0.1/24")})
	b := newNode(t, "b", Config{Mode: wire.Tap})
	ra, rb := connect(t, a, b, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	for _, err := range []error{ra.err, rb.err} {
		if err == nil || !strings.Contains(err.Error(), "mode mismatch") ||
			!strings.Contains(err.Error(), "runs tun") || !strings.Contains(err.Error(), "runs tap") {
			t.Errorf("Add: %v", err)
		}
	}
}

// TestDuplicate: both ends dial each other at once; exactly one flow
// survives at both ends, the one dialled by the end whose name sorts
// first, whichever order the flows come up in.
func TestDuplicate(t *testing.T) {
	for _, order := range []string{"a-first", "b-first", "together"} {
		t.Run(order, func(t *testing.T) {
			a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24")})
			b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
			adm := admitAs(PeerConfig{})
			fa1, fb1 := linktest.Pipe(testSDU) // a dials: the winner
			fb2, fa2 := linktest.Pipe(testSDU) // b dials
			var aDials, bDials [2]addResult
			switch order {
			case "a-first":
				aDials[0], aDials[1] = connectOn(t, a, b, fa1, fb1, adm, adm)
				bDials[0], bDials[1] = connectOn(t, b, a, fb2, fa2, adm, adm)
			case "b-first":
				bDials[0], bDials[1] = connectOn(t, b, a, fb2, fa2, adm, adm)
				aDials[0], aDials[1] = connectOn(t, a, b, fa1, fb1, adm, adm)
			default:
				done := make(chan struct{})
				go func() { bDials[0], bDials[1] = connectOn(t, b, a, fb2, fa2, adm, adm); close(done) }()
				aDials[0], aDials[1] = connectOn(t, a, b, fa1, fb1, adm, adm)
				<-done
			}
			if aDials[0].err != nil || aDials[1].err != nil {
				t.Fatalf("a's flow lost: %v, %v", aDials[0].err, aDials[1].err)
			}
			select {
			case <-fa2.Ended():
			case <-time.After(5 * time.Second):
				t.Fatal("b's flow still open")
			}
			for _, r := range bDials {
				err := r.err
				if err == nil {
					<-r.p.Done()
					err = r.p.Err()
				}
				if !errors.Is(err, ErrDuplicate) {
					t.Errorf("b's flow ended with %v, want ErrDuplicate", err)
				}
			}
			waitFor(t, 5*time.Second, "one peer each", func() bool {
				return len(a.l.Status().Peers) == 1 && len(b.l.Status().Peers) == 1 &&
					a.l.Peer("gw.b") == aDials[0].p && b.l.Peer("gw.a") == aDials[1].p
			})
			pkt := ipPacket("10.77.0.1", "10.77.0.2", nil)
			a.host.Send(pkt)
			b.expect(t, pkt)
		})
	}
}

// TestDeadPeer: a peer from which nothing arrives for four echo intervals
// is declared dead, its flow closed; a live pair measures its RTT.
func TestDeadPeer(t *testing.T) {
	const echo = 20 * time.Millisecond
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24"), Echo: echo})
	h, p, err := handPeer(t, b, wire.Msg{}, admitAs(PeerConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	h.next() // hello
	if m := h.next(); m.Type != wire.Echo {
		t.Errorf("after the hello, %v; want an echo", m.Type)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("silent peer not declared dead")
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "nothing received for") {
		t.Errorf("Err = %v", err)
	}
	select {
	case <-h.f.Ended():
	default:
		t.Error("the dead peer's flow is open")
	}

	// A live pair, with intervals long enough that a loaded machine does
	// not starve a goroutine for four of them.
	const live = 100 * time.Millisecond
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24"), Echo: live})
	c := newNode(t, "gw.c", Config{Addrs: pfx("10.77.0.3/24"), Echo: live})
	mustConnect(t, a, c, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	waitFor(t, 5*time.Second, "an RTT", func() bool { return a.peerStatus(t, "gw.c").RTT > 0 })
	time.Sleep(10 * live) // live peers answer: nobody dies
	if a.l.Peer("gw.c") == nil || c.l.Peer("gw.a") == nil {
		t.Error("a live pair was declared dead")
	}
}

// TestMalformedControl: malformed and unexpected control messages and
// invalid SDUs are dropped and counted; the flow stays up.
func TestMalformedControl(t *testing.T) {
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
	h, p, err := handPeer(t, b, wire.Msg{Addrs: pfx("10.77.0.1/24")}, admitAs(PeerConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	good := ipPacket("10.77.0.1", "10.77.0.2", nil)
	h.send([]byte{0, 1, 1}, // a hello lacking everything
		[]byte{0, 1, 5, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9}, // a reply to no echo
		[]byte{0x01, 1, 2, 3},                            // a frame on a tun link
		[]byte{0x77},                                     // no kind
		good)
	b.expect(t, good)
	st := b.peerStatus(t, "hand")
	if st.Drops["bad-control"] != 2 || st.Drops["malformed"] != 2 {
		t.Errorf("drops %v, want 2 bad-control, 2 malformed", st.Drops)
	}
	if p.Err() != nil {
		t.Errorf("peer ended: %v", p.Err())
	}
}

// TestRemoveAndClose: Remove sends the reason; Close ends every peer.
func TestRemoveAndClose(t *testing.T) {
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24")})
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
	pa, pb := mustConnect(t, a, b, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	b.l.Remove("gw.a", "removed from the configuration")
	<-pa.Done()
	if err := pa.Err(); err == nil || !strings.Contains(err.Error(), "refused by gw.b: removed from the configuration") {
		t.Errorf("a's peer: %v", err)
	}
	<-pb.Done()
	pa, _ = mustConnect(t, a, b, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	a.l.Close()
	<-pa.Done()
	fa, _ := linktest.Pipe(testSDU)
	if !errors.Is(pa.Err(), ErrClosed) {
		t.Errorf("after Close: %v", pa.Err())
	}
	if _, err := a.l.Add(context.Background(), fa, true, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
}

// TestPeerRemove: Peer.Remove ends that peer's flow with the reason, and
// a later call on it leaves alone the flow that has taken the name since
// (an idle close racing a new flow must not end the new one).
func TestPeerRemove(t *testing.T) {
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24")})
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
	old, _ := mustConnect(t, a, b, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	old.Remove("idle")
	<-old.Done()
	if err := old.Err(); err == nil || !strings.Contains(err.Error(), "removed: idle") {
		t.Errorf("removed peer: %v", err)
	}
	waitFor(t, 5*time.Second, "gw.a gone at gw.b", func() bool { return b.l.Peer("gw.a") == nil })
	now, _ := mustConnect(t, a, b, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	old.Remove("idle") // ends what it ends at once: nothing, here
	select {
	case <-now.Done():
		t.Fatalf("the old peer's Remove ended the new flow: %v", now.Err())
	default:
	}
	if a.l.Peer("gw.b") != now {
		t.Fatal("the new flow is not gw.b's peer")
	}
}

// TestUpdate: routes move between peers atomically, and a conflict
// changes nothing.
func TestUpdate(t *testing.T) {
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24")})
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
	c := newNode(t, "gw.c", Config{Addrs: pfx("10.77.0.3/24")})
	mustConnect(t, a, b, admitAs(PeerConfig{Routes: pfx("10.2.0.0/24")}), admitAs(PeerConfig{}))
	mustConnect(t, a, c, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	err := a.l.Update([]PeerConfig{{Name: "gw.c", Routes: pfx("10.2.0.0/24")}})
	if err == nil || !strings.Contains(err.Error(), "10.2.0.0/24") || !strings.Contains(err.Error(), "gw.b") {
		t.Errorf("conflicting Update: %v", err)
	}
	if err := a.l.Update([]PeerConfig{{Name: "gw.b"}, {Name: "gw.c", Routes: pfx("10.2.0.0/24")}}); err != nil {
		t.Fatal(err)
	}
	pkt := ipPacket("10.77.0.1", "10.2.0.1", nil)
	a.host.Send(pkt)
	c.expect(t, pkt)
	if got := a.peerStatus(t, "gw.c").Routes; !slices.Equal(got, pfx("10.2.0.0/24")) {
		t.Errorf("c's routes %v", got)
	}
}

// TestMTU: the device's MTU follows the smallest flow; tap leaves room for
// the tag and an Ethernet header with a VLAN tag.
func TestMTU(t *testing.T) {
	for _, c := range []struct {
		mode wire.Mode
		want int
	}{{wire.Tun, 1300}, {wire.Tap, 1300 - 19}} {
		var told []int
		var mu sync.Mutex
		a := newNode(t, "a", Config{Mode: c.mode, Addrs: pfx("10.77.0.1/24"),
			OnMTU: func(m int) { mu.Lock(); told = append(told, m); mu.Unlock() }})
		b := newNode(t, "b", Config{Mode: c.mode, Addrs: pfx("10.77.0.2/24")})
		fa, fb := linktest.Pipe(1300)
		if r, _ := connectOn(t, a, b, fa, fb, admitAs(PeerConfig{}), admitAs(PeerConfig{})); r.err != nil {
			t.Fatal(r.err)
		}
		if m, _ := a.l.cfg.Device.MTU(); m != c.want || a.l.Status().MTU != c.want {
			t.Errorf("%v: MTU %d, status %d, want %d", c.mode, m, a.l.Status().MTU, c.want)
		}
		mu.Lock()
		if len(told) != 1 || told[0] != c.want {
			t.Errorf("%v: OnMTU got %v", c.mode, told)
		}
		mu.Unlock()
		if c.mode == wire.Tun { // a packet over the MTU the flow carries
			a.host.Send(ipPacket("10.77.0.1", "10.77.0.2", make([]byte, 1300)))
			ans := expectICMP(t, a, "10.77.0.2", "10.77.0.1", 4, 0)
			if mtu := int(ans[26])<<8 | int(ans[27]); mtu != 1300 {
				t.Errorf("too big announces MTU %d, want 1300", mtu)
			}
			if got := a.l.Status().Drops["too-big"]; got != 1 {
				t.Errorf("too-big drops %d", got)
			}
			b.expectNone(t)
		}
	}
}

// TestLeaseRenewed: the server acquires a client's lease again at a third
// of its time while the client is up.
func TestLeaseRenewed(t *testing.T) {
	pl, err := pool.Open(pool.Config{Prefixes: pfx("10.77.0.128/25"), Lease: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := newNode(t, "office", Config{Addrs: pfx("10.77.0.1/24"), Pool: pl})
	c := newNode(t, "laptop", Config{})
	mustConnect(t, c, srv, admitAs(PeerConfig{}), admitAs(PeerConfig{Lease: true}))
	first := pl.Leases()[0].Expires
	waitFor(t, 5*time.Second, "a renewed lease", func() bool { return pl.Leases()[0].Expires.After(first) })
}

// TestTapMesh: three tap sites in a full mesh. A broadcast reaches each
// other site once and never comes back; a unicast to a learned MAC goes to
// its site only; a MAC learned behind one site cannot move to another,
// nor can a peer take over a MAC of this side.
func TestTapMesh(t *testing.T) {
	var n [3]*node
	for i, name := range []string{"site.a", "site.b", "site.c"} {
		n[i] = newNode(t, name, Config{Mode: wire.Tap})
	}
	adm := admitAs(PeerConfig{})
	mustConnect(t, n[0], n[1], adm, adm)
	mustConnect(t, n[0], n[2], adm, adm)
	mustConnect(t, n[1], n[2], adm, adm)
	a, b, c := n[0], n[1], n[2]

	bc := frame(broadcast, hostMAC(1), "who has 10.0.0.2")
	a.host.Send(bc)
	b.expect(t, bc)
	c.expect(t, bc)
	a.expectNone(t)
	b.expectNone(t)
	c.expectNone(t)

	uni := frame(hostMAC(1), hostMAC(2), "10.0.0.2 is at 02:..:02")
	b.host.Send(uni)
	a.expect(t, uni)
	c.expectNone(t)
	if st := b.peerStatus(t, "site.a"); st.TxPackets != 1 {
		t.Errorf("b sent %d frames to a, want the one unicast", st.TxPackets)
	}

	// c claims a's MAC: b has it behind a, a has it on its own side.
	spoof := frame(broadcast, hostMAC(1), "I am 02:..:01 now")
	c.host.Send(spoof)
	waitFor(t, 5*time.Second, "mac-moved at a and b", func() bool {
		return a.peerStatus(t, "site.c").Drops["mac-moved"] == 1 && b.peerStatus(t, "site.c").Drops["mac-moved"] == 1
	})
	a.expectNone(t)
	b.expectNone(t)
	// Unicast to a's MAC from b still goes to a.
	b.host.Send(uni)
	a.expect(t, uni)
	c.expectNone(t)
	if st := b.l.macs.Stats(); st.Refused != 1 {
		t.Errorf("b's MAC table: %+v", st)
	}
}

// TestMSSClamp: with MSSClamp, a TCP SYN's MSS is lowered to fit the MTU
// the flows give the device.
func TestMSSClamp(t *testing.T) {
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24"), MSSClamp: true})
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24")})
	fa, fb := linktest.Pipe(1300)
	if r, _ := connectOn(t, a, b, fa, fb, admitAs(PeerConfig{}), admitAs(PeerConfig{})); r.err != nil {
		t.Fatal(r.err)
	}
	syn := ipPacket("10.77.0.1", "10.77.0.2", nil)[:20]
	syn[9] = 6 // TCP
	syn = append(syn, 0x0f, 0xa0, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
		6<<4, 0x02, 0xff, 0xff, 0, 0, 0, 0, // 24-byte header, SYN
		2, 4, 0x05, 0xb4) // MSS 1460
	syn[3] = byte(len(syn))
	syn[10], syn[11] = 0, 0
	sum := checksum(syn[:20])
	syn[10], syn[11] = byte(sum>>8), byte(sum)
	a.host.Send(syn)
	got, err := b.host.Recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if mss := int(got[42])<<8 | int(got[43]); mss != 1300-40 {
		t.Errorf("MSS %d after the link, want %d", mss, 1300-40)
	}
}

// TestAddressConflict: a peer whose hello address another peer holds is
// refused, the reason naming the address and the other peer.
func TestAddressConflict(t *testing.T) {
	b := newNode(t, "office", Config{Addrs: pfx("10.77.0.1/24")})
	if _, _, err := handPeer(t, b, wire.Msg{Name: "one", Addrs: pfx("10.77.0.5/24")}, admitAs(PeerConfig{})); err != nil {
		t.Fatal(err)
	}
	h, _, err := handPeer(t, b, wire.Msg{Name: "two", Addrs: pfx("10.77.0.5/24")}, admitAs(PeerConfig{}))
	if err == nil || !strings.Contains(err.Error(), "10.77.0.5/32") || !strings.Contains(err.Error(), "peer one") {
		t.Fatalf("second peer with one address: %v", err)
	}
	h.next() // hello
	if m := h.next(); m.Type != wire.Refuse || !strings.Contains(m.Reason, "10.77.0.5/32") {
		t.Errorf("the refused peer got %+v", m)
	}
}

// TestBadHello: a first control message that is not a valid hello, or is
// of another version, fails Add saying so.
func TestBadHello(t *testing.T) {
	b := newNode(t, "office", Config{Addrs: pfx("10.77.0.1/24")})
	for _, c := range []struct {
		sdu  []byte
		want string
	}{
		{[]byte{0, 1, 1, 1, 0, 1, 1}, "bad hello: ovpn hello: lacks name"},
		{[]byte{0, 2, 1}, "speaks another version of ovpn; upgrade one end"},
	} {
		fl, fh := linktest.Pipe(testSDU)
		fh.WriteBatch([][]byte{ipPacket("10.77.0.5", "10.77.0.1", nil), c.sdu}) // data first: ignored
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := b.l.Add(ctx, fl, false, admitAs(PeerConfig{}))
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Add after % x: %v, want %q", c.sdu, err, c.want)
		}
		select {
		case <-fh.Ended():
		default:
			t.Error("flow left open")
		}
	}
	// No hello at all: Add ends with ctx.
	fl, _ := linktest.Pipe(testSDU)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.l.Add(ctx, fl, false, admitAs(PeerConfig{})); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("Add without a hello: %v", err)
	}
}
