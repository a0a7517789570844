package link

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/tool/tooltest"
	"o7s.dev/ouroboros/overlay/link/linktest"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/tunif/tuntest"
)

var (
	_ Flow = (*linktest.End)(nil)
	_ Flow = (*flow.Flow)(nil) // what the ovpn command hands over
)

const testSDU = 1400

// node is a Link in a test, with the device end the test drives as the
// kernel would (host).
type node struct {
	l    *Link
	host *tuntest.Device
	errc chan error // Run's result
}

// newNode starts a Link named name; cfg's Name, Mode (tun if 0), Device
// and Log are filled in.
func newNode(t testing.TB, name string, cfg Config) *node {
	t.Helper()
	dev, host := tuntest.NewPair(1500)
	cfg.Name, cfg.Device = name, dev
	if cfg.Mode == 0 {
		cfg.Mode = wire.Tun
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			cfg.Log = slog.Default().With("node", name)
		}
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{l: l, host: host, errc: make(chan error, 1)}
	go func() { n.errc <- l.Run(context.Background()) }()
	t.Cleanup(func() {
		l.Close()
		host.Close()
		if err := <-n.errc; err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
	})
	return n
}

// admitAs returns an Admit that gives every peer pc (Name: the claim if
// empty).
func admitAs(pc PeerConfig) Admit {
	return func(h Hello) (PeerConfig, error) {
		out := pc
		if out.Name == "" {
			out.Name = h.Name
		}
		return out, nil
	}
}

type addResult struct {
	p   *Peer
	err error
}

// connect runs Add on both ends of a new pipe at once, a dialling.
func connect(t testing.TB, a, b *node, adA, adB Admit) (pa, pb addResult) {
	t.Helper()
	fa, fb := linktest.Pipe(testSDU)
	return connectOn(t, a, b, fa, fb, adA, adB)
}

func connectOn(t testing.TB, a, b *node, fa, fb Flow, adA, adB Admit) (pa, pb addResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := make(chan addResult, 1)
	go func() {
		p, err := b.l.Add(ctx, fb, false, adB)
		c <- addResult{p, err}
	}()
	p, err := a.l.Add(ctx, fa, true, adA)
	return addResult{p, err}, <-c
}

// mustConnect is connect for a pair that must come up.
func mustConnect(t testing.TB, a, b *node, adA, adB Admit) (*Peer, *Peer) {
	t.Helper()
	ra, rb := connect(t, a, b, adA, adB)
	if ra.err != nil || rb.err != nil {
		t.Fatalf("connect: dialler: %v; acceptor: %v", ra.err, rb.err)
	}
	return ra.p, rb.p
}

var waitFor = tooltest.WaitFor

// ipPacket builds a UDP packet from src to dst with payload.
func ipPacket(src, dst string, payload []byte) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	udp := binary.BigEndian.AppendUint16(nil, 4000)
	udp = binary.BigEndian.AppendUint16(udp, 5000)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(payload)))
	udp = append(udp, 0, 0) // no checksum (IPv4); the engine does not check it
	udp = append(udp, payload...)
	if s.Is4() {
		h := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(udp)))
		h = append(h, s.AsSlice()...)
		h = append(h, d.AsSlice()...)
		binary.BigEndian.PutUint16(h[10:], checksum(h))
		return append(h, udp...)
	}
	h := []byte{0x60, 0, 0, 0, 0, 0, 17, 64}
	binary.BigEndian.PutUint16(h[4:], uint16(len(udp)))
	h = append(h, s.AsSlice()...)
	h = append(h, d.AsSlice()...)
	return append(h, udp...)
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// frame builds an Ethernet frame from src to dst MAC.
func frame(dst, src [6]byte, payload string) []byte {
	f := append(append(dst[:], src[:]...), 0x88, 0xb5) // local experimental EtherType
	return append(f, payload...)
}

var broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func hostMAC(i byte) [6]byte { return [6]byte{0x02, 0, 0, 0, 0, i} }

// expect waits for pkt at n's host.
func (n *node) expect(t *testing.T, want []byte) {
	t.Helper()
	got, err := n.host.Recv(5 * time.Second)
	if err != nil {
		t.Fatalf("waiting for % x: %v", want[:min(len(want), 24)], err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got\n% x\nwant\n% x", got, want)
	}
}

// expectNone checks that nothing more reaches n's host for a while.
func (n *node) expectNone(t *testing.T) {
	t.Helper()
	if got, err := n.host.Recv(100 * time.Millisecond); !errors.Is(err, tuntest.ErrTimeout) {
		t.Fatalf("unexpected packet at %s: % x (%v)", n.l.cfg.Name, got, err)
	}
}

// peerStatus returns the status of n's peer name.
func (n *node) peerStatus(t *testing.T, name string) PeerStatus {
	t.Helper()
	for _, ps := range n.l.Status().Peers {
		if ps.Name == name {
			return ps
		}
	}
	t.Fatalf("%s has no peer %s up", n.l.cfg.Name, name)
	return PeerStatus{}
}

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// handEnd is a peer driven by hand: the test writes and reads its SDUs.
type handEnd struct {
	t testing.TB
	f *linktest.End
}

func (h handEnd) send(sdus ...[]byte) {
	h.t.Helper()
	if _, err := h.f.WriteBatch(sdus); err != nil {
		h.t.Fatal(err)
	}
}

func (h handEnd) sendMsg(m wire.Msg) {
	h.t.Helper()
	b, err := wire.Append(nil, &m)
	if err != nil {
		h.t.Fatal(err)
	}
	h.send(b)
}

// next returns the next control message, skipping data.
func (h handEnd) next() wire.Msg {
	h.t.Helper()
	bufs, lens := [][]byte{make([]byte, testSDU)}, []int{0}
	for {
		if _, err := h.f.ReadBatch(bufs, lens); err != nil {
			h.t.Fatalf("hand end: %v", err)
		}
		sdu := bufs[0][:lens[0]]
		if wire.Classify(sdu) != wire.Control {
			continue
		}
		m, err := wire.Parse(sdu)
		if err != nil {
			h.t.Fatalf("hand end: %v", err)
		}
		return m
	}
}

// handPeer connects a hand end to n: it sends hello (Name "hand" if
// empty, n's mode if 0) and returns once n's Add returned.
func handPeer(t testing.TB, n *node, hello wire.Msg, admit Admit) (handEnd, *Peer, error) {
	t.Helper()
	fl, fh := linktest.Pipe(testSDU)
	h := handEnd{t, fh}
	hello.Type = wire.Hello
	if hello.Name == "" {
		hello.Name = "hand"
	}
	if hello.Mode == 0 {
		hello.Mode = n.l.cfg.Mode
	}
	h.sendMsg(hello)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := n.l.Add(ctx, fl, false, admit)
	return h, p, err
}

type int64counter = atomic.Int64
