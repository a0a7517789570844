package eth

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"o7s.dev/ouroboros/stack/ipcp/ipcptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/shim"
	"o7s.dev/ouroboros/stack/qos"
)

// The tests below run as root, between two network namespaces joined by
// a veth pair; they skip otherwise.

// pair is one IPCP in each namespace of a lab.
type pair struct {
	lab  *lab
	ipcp [2]*IPCP
	host [2]*ipcptest.Host
}

func newPair(t *testing.T, typ ipcp.Type, opts map[string]string) *pair {
	t.Helper()
	p := &pair{lab: newLab(t)}
	for i, ns := range p.lab.ns {
		p.host[i] = ipcptest.NewHost(256)
		p.ipcp[i] = New([]string{"a", "b"}[i], typ, p.host[i], nil)
		t.Cleanup(func() { p.ipcp[i].Close() })
		err := inNetns(ns, func() error { return p.ipcp[i].Bootstrap(t.Context(), "lan", opts) })
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// flow allocates a flow from a to "srv" (registered in b) and returns both
// ends.
func (p *pair) flow(t *testing.T) (a, b *ipcptest.Port) {
	t.Helper()
	h := p.ipcp[1].Hash().Sum("srv")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	a = ipcptest.NewPort(256)
	if reply, err := p.ipcp[0].Alloc(ctx, "srv", h, qos.Raw, []byte("kex"), a); err != nil || string(reply) != "re:kex" {
		t.Fatalf("alloc: %v, data back %q", err, reply)
	}
	select {
	case b = <-p.host[1].Ports:
	case <-ctx.Done():
		t.Fatal("the flow did not arrive")
	}
	return a, b
}

// exchange sends sdu from one end to the other and checks it arrives.
func exchange(t *testing.T, from, to *ipcptest.Port, sdu []byte) {
	t.Helper()
	from.In <- sdu
	select {
	case got := <-to.Out:
		if !bytes.Equal(got, sdu) {
			t.Fatalf("sent %d bytes, got %d: % x", len(sdu), len(got), got[:min(len(got), 16)])
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("an SDU of %d bytes did not arrive", len(sdu))
	}
}

// waitDown waits for the port to be reported down and returns the reason
// and how long it took.
func waitDown(t *testing.T, p *ipcptest.Port, within time.Duration) ctrl.Reason {
	t.Helper()
	select {
	case r := <-p.Reasons:
		return r
	case <-time.After(within):
		t.Fatalf("the flow was not reported down within %v", within)
		return ""
	}
}

func TestVeth(t *testing.T) {
	layerTypes := []struct {
		typ  ipcp.Type
		opts map[string]string
	}{
		{ipcp.EthDIX, map[string]string{"dev": labDev, "ethertype": "0xA00E"}},
		{ipcp.EthLLC, map[string]string{"dev": labDev, "hash": "SHA3_384"}},
	}
	for _, lt := range layerTypes {
		t.Run(string(lt.typ), func(t *testing.T) {
			p := newPair(t, lt.typ, lt.opts)
			checkInfo(t, p, lt.typ)
			h := p.ipcp[1].Hash().Sum("srv")
			if err := p.ipcp[1].Register(h); err != nil {
				t.Fatal(err)
			}
			t.Run("query", func(t *testing.T) { testQuery(t, p) })
			t.Run("flow", func(t *testing.T) { testFlow(t, p) })
			t.Run("link", func(t *testing.T) { testLinkDown(t, p) })
			t.Run("recreated", func(t *testing.T) { testRecreated(t, p) })
			t.Run("garbage", func(t *testing.T) { testGarbage(t, p) })
		})
	}
}

func checkInfo(t *testing.T, p *pair, typ ipcp.Type) {
	info := p.ipcp[0].Info()
	mac := p.lab.mac(t, 0)
	if info.State != ipcp.StateBootstrapped || info.Layer != "lan" || info.Type != typ || info.Detail != labDev+" ("+mac.String()+")" {
		t.Errorf("info: %+v", info)
	}
	if _, ok := info.Counters["malformed"]; !ok {
		t.Errorf("no counters: %+v", info)
	}
	want := map[ipcp.Type]int{ipcp.EthDIX: 1500 - 2 - 4, ipcp.EthLLC: 1500 - 3 - 4}[typ]
	if got := p.ipcp[0].MaxSDU(); got != want {
		t.Errorf("MaxSDU %d, want %d", got, want)
	}
	err := inNetns(p.lab.ns[0], func() error { return p.ipcp[0].Bootstrap(t.Context(), "lan", map[string]string{"dev": labDev}) })
	if code(err) != ctrl.CodeExists {
		t.Errorf("second bootstrap: %v", err)
	}
}

func testQuery(t *testing.T, p *pair) {
	a := p.ipcp[0]
	start := time.Now()
	if !a.Reachable(t.Context(), "srv", a.Hash().Sum("srv")) {
		t.Fatal("srv is not reachable")
	}
	t.Logf("query answered in %v", time.Since(start))
	m, err := a.resolve(t.Context(), "srv", a.Hash().Sum("srv"))
	if err != nil || m != p.lab.mac(t, 1) {
		t.Errorf("srv resolved to %v, %v; want %v", m, err, p.lab.mac(t, 1))
	}
	start = time.Now()
	if a.Reachable(t.Context(), "nobody", a.Hash().Sum("nobody")) {
		t.Fatal("an unregistered name is reachable")
	}
	if d := time.Since(start); d > queryTimeout+500*time.Millisecond {
		t.Errorf("an unanswered query took %v", d)
	}
}

func testFlow(t *testing.T, p *pair) {
	a, b := p.flow(t)
	exchange(t, a, b, []byte("ping"))
	exchange(t, b, a, []byte("pong"))
	exchange(t, a, b, []byte{1}) // padded to 60 bytes on the wire
	big := make([]byte, p.ipcp[0].MaxSDU())
	for i := range big {
		big[i] = byte(i)
	}
	exchange(t, a, b, big)
	exchange(t, b, a, big)
	if n := p.ipcp[0].Flows(); n != 1 {
		t.Errorf("%d flows", n)
	}
	close(a.In) // the application deallocates
	if r := waitDown(t, b, 2*time.Second); r != ctrl.ReasonPeer {
		t.Errorf("the peer saw the flow end with %q", r)
	}
	waitDown(t, a, time.Second)
}

func testLinkDown(t *testing.T, p *pair) {
	a, b := p.flow(t)
	exchange(t, a, b, []byte("before"))
	start := time.Now()
	p.lab.ip(t, "-n", p.lab.ns[0], "link", "set", labDev, "down")
	// a's end went down by hand; b's lost its carrier.
	for i, port := range []*ipcptest.Port{a, b} {
		if r := waitDown(t, port, time.Second); r != ctrl.ReasonDown {
			t.Errorf("end %d: reason %q, want %q", i, r, ctrl.ReasonDown)
		}
		t.Logf("end %d down after %v", i, time.Since(start))
	}
	for i, ip := range p.ipcp {
		if d := ip.Info().Detail; !strings.HasSuffix(d, " link down") {
			t.Errorf("ipcp %d: detail %q while down", i, d)
		}
		if ip.Flows() != 0 {
			t.Errorf("ipcp %d: %d flows while down", i, ip.Flows())
		}
	}
	start = time.Now()
	if p.ipcp[0].Reachable(t.Context(), "srv", p.ipcp[0].Hash().Sum("srv")) || time.Since(start) > 100*time.Millisecond {
		t.Error("a name is reachable over a down link, or took long to say not")
	}
	p.lab.ip(t, "-n", p.lab.ns[0], "link", "set", labDev, "up")
	waitReachable(t, p)
	a, b = p.flow(t)
	exchange(t, a, b, []byte("after"))
	exchange(t, b, a, []byte("after too"))
	close(a.In)
	waitDown(t, b, 2*time.Second)
}

// waitReachable waits for both IPCPs to see the link back and for srv to
// answer.
func waitReachable(t *testing.T, p *pair) {
	t.Helper()
	h := p.ipcp[0].Hash().Sum("srv")
	deadline := time.Now().Add(5 * time.Second)
	for !p.ipcp[0].up.Load() || !p.ipcp[1].up.Load() || !p.ipcp[0].Reachable(t.Context(), "srv", h) {
		if time.Now().After(deadline) {
			t.Fatal("srv is not reachable after the link came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testRecreated deletes the veth pair and creates it again: the sockets
// lost their interfaces and must be bound to the new ones.
func testRecreated(t *testing.T, p *pair) {
	a, b := p.flow(t)
	p.lab.ip(t, "-n", p.lab.ns[0], "link", "del", labDev)
	waitDown(t, a, 1500*time.Millisecond)
	waitDown(t, b, 1500*time.Millisecond)
	p.lab.link(t)
	waitReachable(t, p)
	a, b = p.flow(t)
	exchange(t, a, b, []byte("new link"))
	exchange(t, b, a, []byte("new link too"))
	if d, mac := p.ipcp[1].Info().Detail, p.lab.mac(t, 1); d != labDev+" ("+mac.String()+")" {
		t.Errorf("detail %q after the new link came up, want the new MAC %v", d, mac)
	}
	close(a.In)
	waitDown(t, b, 2*time.Second)
}

// testGarbage sends frames from a raw socket in a's namespace to b: other
// protocols' frames, frames for other hosts, and frames of random bytes
// with the layer's framing. The first two kinds are ignored, the last
// dropped and counted.
func testGarbage(t *testing.T, p *pair) {
	fr := p.ipcp[1].conn.fr
	dst, src := p.lab.mac(t, 1), p.lab.mac(t, 0)
	var fd int
	err := inNetns(p.lab.ns[0], func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		st, err := readLink(fd, labDev)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: st.index})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	send := func(b []byte) {
		if _, err := unix.Write(fd, b); err != nil {
			t.Fatal(err)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	counted := func() uint64 {
		var n uint64
		for _, v := range p.ipcp[1].Counters() {
			n += v
		}
		return n
	}
	base := counted()
	// Ignored: another ethertype or SAP, another host, valid frames all.
	other := frame(fr, dst, src, []byte{0, 0, 0, 1, 2}, 60)
	if fr.llc {
		other[14] = 0x42 // spanning tree's SAP
	} else {
		other[12], other[13] = 0x88, 0xB5
	}
	send(other)
	send(frame(fr, MAC{0x02, 9, 9, 9, 9, 9}, src, []byte{0, 0, 0, 1, 2}, 60))
	// Counted: our framing, random contents.
	const n = 40
	for i := range n {
		b := random(fr.header() + rnd.IntN(200))
		h := frame(fr, dst, src, nil, 0)
		copy(b, h[:ethHeader+1]) // addresses, our type or an 802.3 length, our DSAP
		if fr.llc {
			b[13] = byte(rnd.Uint32()) // a random length
			if i%2 == 0 {
				copy(b[ethHeader:], h[ethHeader:]) // a whole LLC header
			}
		}
		send(b)
	}
	deadline := time.Now().Add(2 * time.Second)
	for counted() < base+n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := counted() - base; got != n {
		t.Errorf("%d of %d bad frames counted (%v)", got, n, p.ipcp[1].Counters())
	}
	t.Logf("counters: %v", p.ipcp[1].Counters())
	// The layer still works.
	a, b := p.flow(t)
	exchange(t, a, b, []byte("still here"))
	close(a.In)
	waitDown(t, b, 2*time.Second)
}

func TestBootstrapErrors(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		opts map[string]string
		code ctrl.Code
		msg  string
	}{
		{map[string]string{"dev": "nope0"}, ctrl.CodeNotFound, `ipcp e: no network interface "nope0" here`},
		{map[string]string{"dev": "lo"}, ctrl.CodeInvalid, "ipcp e: lo is not an Ethernet interface"},
	}
	for _, tt := range tests {
		p := New("e", ipcp.EthDIX, ipcptest.NewHost(256), nil)
		err := inNetns(l.ns[0], func() error { return p.Bootstrap(t.Context(), "lan", tt.opts) })
		if code(err) != tt.code || !strings.HasPrefix(err.Error(), tt.msg) {
			t.Errorf("%v: got %v, want %s: %s...", tt.opts, err, tt.code, tt.msg)
		}
		if p.Info().State != ipcp.StateCreated {
			t.Errorf("%v: state %s after a failed bootstrap", tt.opts, p.Info().State)
		}
		p.Close()
	}
	l.ip(t, "-n", l.ns[0], "link", "set", labDev, "mtu", "128")
	p := New("e", ipcp.EthLLC, ipcptest.NewHost(256), nil)
	defer p.Close()
	err := inNetns(l.ns[0], func() error { return p.Bootstrap(t.Context(), "lan", map[string]string{"dev": labDev}) })
	if code(err) != ctrl.CodeInvalid || !strings.Contains(err.Error(), "MTU 128") {
		t.Errorf("MTU 128: %v", err)
	}
}

// TestBootstrapDown checks that an IPCP bootstrapped on a down interface
// allocates flows once it comes up.
func TestBootstrapDown(t *testing.T) {
	l := newLab(t)
	l.ip(t, "-n", l.ns[0], "link", "set", labDev, "down")
	p := &pair{lab: l}
	for i, ns := range l.ns {
		p.host[i] = ipcptest.NewHost(256)
		p.ipcp[i] = New([]string{"a", "b"}[i], ipcp.EthDIX, p.host[i], nil)
		t.Cleanup(func() { p.ipcp[i].Close() })
		if err := inNetns(ns, func() error { return p.ipcp[i].Bootstrap(t.Context(), "lan", map[string]string{"dev": labDev}) }); err != nil {
			t.Fatal(err)
		}
	}
	p.ipcp[1].Register(p.ipcp[1].Hash().Sum("srv"))
	if d := p.ipcp[0].Info().Detail; !strings.HasSuffix(d, "link down") {
		t.Errorf("detail %q", d)
	}
	l.ip(t, "-n", l.ns[0], "link", "set", labDev, "up")
	waitReachable(t, p)
	a, b := p.flow(t)
	exchange(t, a, b, []byte("hello"))
}

// TestNoAllocs checks that moving frames allocates nothing.
func TestNoAllocs(t *testing.T) {
	for _, fr := range []framing{dix, llc} {
		l := newLab(t)
		var c [2]*conn
		var st [2]linkState
		for i, ns := range l.ns {
			err := inNetns(ns, func() error {
				var err error
				c[i], st[i], err = open(labDev, fr)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c[i].Close()
		}
		const k = 8
		out := make([]shim.Msg[MAC], k)
		in := make([]shim.Msg[MAC], k)
		for i := range k {
			out[i] = shim.Msg[MAC]{Buf: make([]byte, 100), N: 20 + i, Addr: st[1].mac}
			in[i].Buf = make([]byte, c[1].MTU())
		}
		move := func() {
			if n, err := c[0].WriteBatch(out); n != k || err != nil {
				t.Fatalf("wrote %d, %v", n, err)
			}
			for got := 0; got < k; {
				n, err := c[1].ReadBatch(in)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range in[:n] {
					if m.Addr != st[0].mac || m.N < 20 || m.N >= 20+k {
						t.Fatalf("got %d bytes from %v", m.N, m.Addr)
					}
				}
				got += n
			}
		}
		move()
		if a := testing.AllocsPerRun(100, move); a != 0 {
			t.Errorf("llc=%v: %v allocations per batch", fr.llc, a)
		}
	}
}

func code(err error) ctrl.Code {
	var ce *ctrl.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}
