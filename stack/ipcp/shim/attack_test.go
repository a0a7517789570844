package shim

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/ipcptest"
	"o7s.dev/ouroboros/stack/qos"
)

// flowPair allocates a flow from a to b and returns the cores and both
// ends' ports.
func flowPair(t *testing.T, cfg func(*Config[string])) (net *memNet, a, b *Core[string], pa, pb *ipcptest.Port) {
	t.Helper()
	net = &memNet{nodes: map[string]*memTr{}}
	h := ipcptest.NewHost(16)
	a, b = startCoreWith(t, net, "a", h, cfg), startCoreWith(t, net, "b", h, cfg)
	hash := ipcp.SHA3_256.Sum("srv")
	b.Register(hash)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pa = ipcptest.NewPort(16)
	if _, err := a.Alloc(ctx, "srv", hash, qos.Raw, nil, pa); err != nil {
		t.Fatal(err)
	}
	return net, a, b, pa, <-h.Ports
}

func onlyFlow(c *Core[string]) *flow[string] {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.flows {
		return f
	}
	return nil
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestForgedDeallocChangesNothing: a DEALLOC with the flow's endpoint id,
// sent from the peer's own address (an on-path attacker sees both, and the
// tokens), but without the peer's secret, is dropped and counted; the
// peer's real DEALLOC still ends the flow.
func TestForgedDeallocChangesNothing(t *testing.T) {
	net, _, b, pa, pb := flowPair(t, nil)
	fb := onlyFlow(b)
	spoof := net.add("a2")
	forge := func(m *mgmt) {
		d := encodeMgmt(nil, m)
		// Deliver straight into b as if from "a", the peer's address.
		b.management("a", d)
		spoof.WriteBatch([]Msg[string]{{Buf: d, N: len(d), Addr: "b"}}) // and from a wrong address
	}
	forge(&mgmt{code: codeDealloc, dstEID: fb.local, secret: fb.peerCommit}) // the commit is not the secret
	forge(&mgmt{code: codeKeepalive, dstEID: fb.local, token: fb.peerToken}) // b's token for a, not a's for b
	waitUntil(t, "forged messages counted", func() bool { return b.stats.Forged.Load() >= 2 })
	pa.In <- []byte("still here")
	if got := <-pb.Out; string(got) != "still here" {
		t.Fatalf("got %q", got)
	}
	select {
	case r := <-pb.Reasons:
		t.Fatalf("a forged message ended the flow (%v)", r)
	default:
	}
	close(pa.In)
	select {
	case <-pb.Reasons:
	case <-time.After(3 * time.Second):
		t.Fatal("the real deallocation did not end the flow")
	}
}

// TestSilentPeerEndsFlow: keepalives hold an idle flow; when the peer
// vanishes (no DEALLOC), the flow ends after the dead timeout.
func TestSilentPeerEndsFlow(t *testing.T) {
	const dead = 300 * time.Millisecond
	net, _, _, pa, pb := flowPair(t, func(c *Config[string]) { c.Dead = dead })
	time.Sleep(3 * dead) // idle: only keepalives
	select {
	case r := <-pa.Reasons:
		t.Fatalf("an idle live flow ended (%v): keepalives are not sent or not heard", r)
	case r := <-pb.Reasons:
		t.Fatalf("an idle live flow ended at the responder (%v)", r)
	default:
	}
	net.mu.Lock()
	delete(net.nodes, "b") // b vanishes
	net.mu.Unlock()
	select {
	case r := <-pa.Reasons:
		if r != ctrl.ReasonPeer {
			t.Fatalf("reason %v", r)
		}
	case <-time.After(10 * dead):
		t.Fatal("the flow to a vanished peer did not end")
	}
}

// testCore is a core whose transport is a memTr, driven by calling its
// receive path directly (no routineRead).
func testCore(t *testing.T) (*Core[string], *memTr) {
	net := &memNet{nodes: map[string]*memTr{}}
	c := New(Config[string]{Name: "b", Type: "test", Host: ipcptest.NewHost(16)}, nil)
	c.tr = net.add("b")
	sink := net.add("x")
	c.Register(ipcp.SHA3_256.Sum("srv"))
	return c, sink
}

func flowReq(eid uint32, cookie []byte) []byte {
	return encodeMgmt(nil, &mgmt{code: codeFlowReq, srcEID: eid, hash: ipcp.SHA3_256.Sum("srv"), cookie: cookie})
}

// TestCookieUnderLoad: with the queue filling, a request without a cookie
// gets only a COOKIE; repeated with it, it is queued; a cookie from another
// address or another request is refused.
func TestCookieUnderLoad(t *testing.T) {
	c, x := testCore(t)
	for range queueLen / 4 {
		c.queue <- request[string]{}
	}
	c.management("x", flowReq(7, nil))
	if len(c.queue) != queueLen/4 || c.stats.Challenged.Load() != 1 {
		t.Fatalf("queued %d, challenged %d", len(c.queue), c.stats.Challenged.Load())
	}
	var got Msg[string]
	select {
	case got = <-x.in:
	default:
		t.Fatal("no COOKIE sent")
	}
	var m mgmt
	if err := decodeMgmt(got.Buf[:got.N], &m); err != nil || m.code != codeCookie || m.dstEID != 7 {
		t.Fatalf("answer %+v, %v", m, err)
	}
	cookie := m.secret[:]
	c.management("y", flowReq(7, cookie)) // another address
	c.management("x", flowReq(8, cookie)) // another request
	if c.stats.BadCookie.Load() != 2 {
		t.Fatalf("bad cookies counted %d, want 2", c.stats.BadCookie.Load())
	}
	c.management("x", flowReq(7, cookie))
	if len(c.queue) != queueLen/4+1 {
		t.Fatalf("the request with its cookie was not queued (%v)", c.Counters())
	}
}

// TestRequestFloodIsBounded: a flood from one source holds at most
// sourceHeld places in the queue, however slow the answers; spoofed
// sources beyond freeRate get cookies; the queue never grows beyond
// queueLen and no goroutine is started.
func TestRequestFloodIsBounded(t *testing.T) {
	c, _ := testCore(t)
	for i := range uint32(10_000) {
		c.management("x", flowReq(i+1, nil))
	}
	if n := len(c.queue); n != sourceHeld {
		t.Fatalf("one source queued %d requests, want %d", n, sourceHeld)
	}
	if c.stats.RateLimited.Load() == 0 && c.stats.Challenged.Load() == 0 {
		t.Fatalf("nothing limited: %v", c.Counters())
	}
	for i := range uint32(10_000) {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], i)
		c.management(string(a[:]), flowReq(i+1, nil))
	}
	if n := len(c.queue); n > sourceHeld+freeBurst {
		t.Fatalf("spoofed sources queued %d requests", n-sourceHeld)
	}
	if c.stats.Challenged.Load() < 9000 {
		t.Fatalf("spoofed requests were not challenged: %v", c.Counters())
	}
}

// discard is a transport that counts what it sends and sends nowhere.
type discard struct{ sent int }

func (*discard) ReadBatch([]Msg[string]) (int, error) { return 0, io.EOF }
func (d *discard) WriteBatch(m []Msg[string]) (int, error) {
	d.sent += len(m)
	return len(m), nil
}
func (*discard) MTU() int     { return 1500 }
func (*discard) Close() error { return nil }

// BenchmarkSpoofedFlood is what one flow request of a spoofed-source flood
// costs the responder's receive path under load: parse, name check, the
// source's answer budget and, within it, one MAC and one COOKIE sent (to a
// transport that discards it). Spoofed sources cycle over 65 536
// addresses; cookies/op says how many got an answer.
func BenchmarkSpoofedFlood(b *testing.B) {
	c := New(Config[string]{Name: "b", Type: "test", Host: ipcptest.NewHost(16)}, nil)
	tr := &discard{}
	c.tr = tr
	c.Register(ipcp.SHA3_256.Sum("srv"))
	for range queueLen / 4 {
		c.queue <- request[string]{} // under load
	}
	addrs := make([]string, 1<<16)
	for i := range addrs {
		addrs[i] = fmt.Sprint(i)
	}
	reqs := make([][]byte, 1024)
	for i := range reqs {
		reqs[i] = flowReq(uint32(i+1), nil)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.management(addrs[i%len(addrs)], reqs[i%len(reqs)])
	}
	b.ReportMetric(float64(c.stats.Challenged.Load())/float64(b.N), "challenged/op")
	b.ReportMetric(float64(tr.sent)/float64(b.N), "cookies/op")
}
