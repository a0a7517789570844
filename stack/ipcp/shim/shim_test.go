package shim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/ipcptest"
	"o7s.dev/ouroboros/stack/qos"
)

// memNet connects transports by string addresses; a datagram to "*" goes
// to everyone else.
type memNet struct {
	mu    sync.Mutex
	nodes map[string]*memTr
}

type memTr struct {
	net  *memNet
	addr string
	in   chan Msg[string]
	done chan struct{}
	once sync.Once
}

func (n *memNet) add(addr string) *memTr {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &memTr{net: n, addr: addr, in: make(chan Msg[string], 256), done: make(chan struct{})}
	n.nodes[addr] = t
	return t
}

func (t *memTr) MTU() int { return 1500 }
func (t *memTr) Close() error {
	t.once.Do(func() { close(t.done) })
	return nil
}

func (t *memTr) ReadBatch(msgs []Msg[string]) (int, error) {
	select {
	case m := <-t.in:
		msgs[0].N = copy(msgs[0].Buf, m.Buf[:m.N])
		msgs[0].Addr = m.Addr
		return 1, nil
	case <-t.done:
		return 0, io.EOF
	}
}

func (t *memTr) WriteBatch(msgs []Msg[string]) (int, error) {
	for _, m := range msgs {
		b := append([]byte(nil), m.Buf[:m.N]...)
		t.net.mu.Lock()
		var to []*memTr
		for a, n := range t.net.nodes {
			if (m.Addr == "*" && a != t.addr) || a == m.Addr {
				to = append(to, n)
			}
		}
		t.net.mu.Unlock()
		for _, n := range to {
			select {
			case n.in <- Msg[string]{Buf: b, N: len(b), Addr: t.addr}:
			default: // full: lost
			}
		}
	}
	return len(msgs), nil
}

func startCore(t *testing.T, net *memNet, addr string, h ipcp.Host) *Core[string] {
	return startCoreWith(t, net, addr, h, nil)
}

// startCoreWith starts a core whose config cfg (if not nil) may change.
func startCoreWith(t *testing.T, net *memNet, addr string, h ipcp.Host, cfg func(*Config[string])) *Core[string] {
	conf := Config[string]{Name: addr, Type: "test", Host: h, Keepalive: time.Hour}
	if cfg != nil {
		cfg(&conf)
	}
	c := New(conf, nil)
	resolve := func(ctx context.Context, name string, hash []byte) (string, error) {
		return c.Query(ctx, hash, "*", time.Minute)
	}
	c.Start(net.add(addr), resolve, ipcp.SHA3_256)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFlowAcrossCores(t *testing.T) {
	net := &memNet{nodes: map[string]*memTr{}}
	h := ipcptest.NewHost(16)
	a := startCore(t, net, "a", h)
	b := startCore(t, net, "b", h)
	hash := ipcp.SHA3_256.Sum("srv")
	b.Register(hash)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !a.Reachable(ctx, "srv", hash) {
		t.Fatal("srv not reachable by query")
	}
	pa := ipcptest.NewPort(16)
	reply, err := a.Alloc(ctx, "srv", hash, qos.Raw, []byte("key exchange"), pa)
	if err != nil {
		t.Fatal(err)
	}
	if string(reply) != "re:key exchange" {
		t.Fatalf("the allocation's data came back as %q", reply)
	}
	pb := <-h.Ports
	pa.In <- []byte("hello")
	if got := <-pb.Out; !bytes.Equal(got, []byte("hello")) {
		t.Fatalf("got %q", got)
	}
	pb.In <- []byte("back")
	if got := <-pa.Out; !bytes.Equal(got, []byte("back")) {
		t.Fatalf("got %q", got)
	}
	// Hostile input: a forged datagram for a's flow from another address,
	// garbage, and another version are dropped and counted.
	evil := net.add("evil")
	for eid := range a.flows {
		d := []byte{byte(eid >> 24), byte(eid >> 16), byte(eid >> 8), byte(eid), 'x'}
		evil.WriteBatch([]Msg[string]{{Buf: d, N: len(d), Addr: "a"}})
	}
	for _, junk := range [][]byte{{1}, {0, 0, 0, 0, 9, 1}, {0, 0, 0, 0, Version, 77}, {0, 0, 0, 0, Version, 1, 0}} {
		evil.WriteBatch([]Msg[string]{{Buf: junk, N: len(junk), Addr: "a"}})
	}
	deadline := time.Now().Add(2 * time.Second)
	for a.stats.WrongSource.Load() < 1 || a.stats.Malformed.Load() < 3 || a.stats.WrongVersion.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("counters %v", a.Counters())
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case got := <-pa.Out:
		t.Fatalf("forged datagram delivered: %q", got)
	default:
	}
	// Deallocation reaches the peer.
	close(pa.In)
	select {
	case r := <-pb.Reasons:
		if r != ctrl.ReasonPeer {
			t.Fatalf("peer told %v", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("deallocation not seen by the peer")
	}
}

func TestAllocToUnregisteredNameFails(t *testing.T) {
	net := &memNet{nodes: map[string]*memTr{}}
	h := ipcptest.NewHost(16)
	a := startCore(t, net, "a", h)
	startCore(t, net, "b", h)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := a.Alloc(ctx, "nobody", ipcp.SHA3_256.Sum("nobody"), qos.Raw, nil, ipcptest.NewPort(16))
	var ce *ctrl.Error
	if !errors.As(err, &ce) || ce.Code != ctrl.CodeUnreachable {
		t.Fatalf("err = %v, want unreachable", err)
	}
}

// refusingHost refuses every flow, as irmd does when the request lacks a
// key exchange its policy requires.
type refusingHost struct{}

func (refusingHost) Arrived(context.Context, ipcp.IPCP, string, []byte, qos.Spec, []byte) (ipcp.Port, []byte, error) {
	return nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, `flows to "srv" are encrypted`)
}

func TestRefusalReasonReachesTheRequester(t *testing.T) {
	net := &memNet{nodes: map[string]*memTr{}}
	a := startCore(t, net, "a", ipcptest.NewHost(16))
	b := startCore(t, net, "b", refusingHost{})
	hash := ipcp.SHA3_256.Sum("srv")
	b.Register(hash)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := a.Alloc(ctx, "srv", hash, qos.Raw, nil, ipcptest.NewPort(16))
	if err == nil || !strings.Contains(err.Error(), "are encrypted") {
		t.Fatalf("err = %v: the peer's reason is lost", err)
	}
}

func FuzzManagement(f *testing.F) {
	for _, m := range []mgmt{
		{code: codeFlowReq, srcEID: 7, qos: qos.Data, hash: make([]byte, 32)},
		{code: codeFlowReply, srcEID: 1, dstEID: 2},
		{code: codeFlowReply, result: resultRefused, reason: "flows to \"x\" are encrypted"},
		{code: codeDealloc, dstEID: 3}, {code: codeQuery, hash: []byte{1, 2, 3}},
		{code: codeFlowReq, srcEID: 7, token: 9, secret: [secretLen]byte{1}, cookie: make([]byte, secretLen), hash: []byte{1}, data: []byte("oap")},
		{code: codeKeepalive, dstEID: 4, token: 1 << 60}, {code: codeCookie, dstEID: 5, secret: [secretLen]byte{2}},
	} {
		f.Add(encodeMgmt(nil, &m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m mgmt
		if err := decodeMgmt(b, &m); err != nil {
			return
		}
		again := encodeMgmt(nil, &m)
		var m2 mgmt
		if err := decodeMgmt(again, &m2); err != nil || m2.code != m.code || m2.srcEID != m.srcEID ||
			m2.dstEID != m.dstEID || !bytes.Equal(m2.hash, m.hash) || m2.qos != m.qos ||
			m2.token != m.token || m2.secret != m.secret || !bytes.Equal(m2.cookie, m.cookie) || !bytes.Equal(m2.data, m.data) {
			t.Fatalf("round trip of %x: %+v then %+v (%v)", b, m, m2, err)
		}
	})
}
