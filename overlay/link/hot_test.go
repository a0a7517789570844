package link

import (
	"errors"
	"os"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/link/linktest"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/tunif"
	"o7s.dev/ouroboros/tunif/tuntest"
)

// drain reads n's host until it closes, allocating nothing per packet,
// and counts what it read.
func drain(n *node) *int64counter {
	c := new(int64counter)
	bufs, sizes := make([][]byte, tuntest.BatchSize), make([]int, tuntest.BatchSize)
	for i := range bufs {
		bufs[i] = make([]byte, tunif.Headroom+tunif.MaxPacket)
	}
	go func() {
		for {
			k, err := n.host.Read(bufs, sizes, tunif.Headroom)
			c.Add(int64(k))
			if errors.Is(err, os.ErrClosed) {
				return
			}
		}
	}()
	return c
}

// hotPair is two connected nodes of mode, with echoes too rare to run
// during a measurement, b's host drained.
func hotPair(t testing.TB, mode wire.Mode) (a, b *node, pa, pb *Peer, got *int64counter) {
	fa, fb := linktest.Pipe(testSDU)
	return hotPairOn(t, mode, fa, fb)
}

// hotPairOn is hotPair over the flow whose ends are fa and fb.
func hotPairOn(t testing.TB, mode wire.Mode, fa, fb Flow) (a, b *node, pa, pb *Peer, got *int64counter) {
	a = newNode(t, "gw.a", Config{Mode: mode, Addrs: pfx("10.77.0.1/24"), Echo: time.Hour})
	b = newNode(t, "gw.b", Config{Mode: mode, Addrs: pfx("10.77.0.2/24"), Echo: time.Hour})
	ad := admitAs(PeerConfig{})
	ra, rb := connectOn(t, a, b, fa, fb, ad, ad)
	if ra.err != nil || rb.err != nil {
		t.Fatal(ra.err, rb.err)
	}
	return a, b, ra.p, rb.p, drain(b)
}

// testPacket is what the hot-path tests send from a to b.
func testPacket(mode wire.Mode) []byte {
	if mode == wire.Tap {
		return frame(hostMAC(2), hostMAC(1), string(make([]byte, 1000)))
	}
	return ipPacket("10.77.0.1", "10.77.0.2", make([]byte, 1000))
}

// TestZeroAllocs: forwarding a batch from the device to a peer, and from a
// peer to the device, allocates nothing in steady state.
func TestZeroAllocs(t *testing.T) {
	for _, mode := range []wire.Mode{wire.Tun, wire.Tap} {
		a, _, _, pb, got := hotPair(t, mode)
		pkt := testPacket(mode)
		const n = 32

		r := newDevReader(a.l) // Run's own is blocked reading a's device
		for i := range n {
			r.sizes[i] = copy(r.bufs[i][devOff:], pkt)
		}
		if allocs := testing.AllocsPerRun(200, func() { r.forward(n) }); allocs != 0 {
			t.Errorf("%v: device to peer: %v allocations per batch of %d", mode, allocs, n)
		}

		pr := newPeerReader(pb) // the peer's own is blocked reading its flow
		sdu := pkt
		if mode == wire.Tap {
			sdu = append([]byte{wire.EthernetTag}, pkt...)
		}
		for i := range n {
			pr.lens[i] = copy(pr.rbufs[i], sdu)
		}
		if allocs := testing.AllocsPerRun(200, func() { pr.receive(n) }); allocs != 0 {
			t.Errorf("%v: peer to device: %v allocations per batch of %d", mode, allocs, n)
		}
		if got.Load() == 0 {
			t.Errorf("%v: nothing reached b's host", mode)
		}
	}
}

// BenchmarkLinkPair: packets per second from one host through two Links
// over an in-memory flow to the other host; raw: over a raw flow through
// an IRM in the test process (local layer).
func BenchmarkLinkPair(b *testing.B) {
	for _, c := range []struct {
		name string
		mode wire.Mode
		raw  bool
	}{{"tun", wire.Tun, false}, {"tap", wire.Tap, false}, {"tun-raw", wire.Tun, true}} {
		b.Run(c.name, func(b *testing.B) {
			fa, fb := Flow(nil), Flow(nil)
			if c.raw {
				fa, fb = rawFlows(b)
			} else {
				fa, fb = linktest.Pipe(testSDU)
			}
			mode := c.mode
			a, _, _, _, got := hotPairOn(b, mode, fa, fb)
			pkt := testPacket(mode)
			bufs := make([][]byte, tuntest.BatchSize)
			for i := range bufs {
				bufs[i] = append(make([]byte, tunif.Headroom, tunif.Headroom+len(pkt)), pkt...)
			}
			b.SetBytes(int64(len(pkt)))
			b.ResetTimer()
			start := time.Now()
			for sent := 0; sent < b.N; sent += len(bufs) {
				k := min(len(bufs), b.N-sent)
				if _, err := a.host.Write(bufs[:k], tunif.Headroom); err != nil {
					b.Fatal(err)
				}
				for i := range bufs[:k] { // Write may change them
					bufs[i] = bufs[i][:tunif.Headroom+len(pkt)]
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for got.Load() < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d packets arrived", got.Load(), b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
		})
	}
}

// FuzzPeerRead feeds random SDUs to the peer-read path of a tun and a tap
// link (the first byte picks): whatever a peer sends, nothing panics, and
// what is dropped is counted.
func FuzzPeerRead(f *testing.F) {
	var readers [2]*peerReader
	for i, mode := range []wire.Mode{wire.Tun, wire.Tap} {
		_, _, _, pb, _ := hotPair(f, mode)
		readers[i] = newPeerReader(pb)
	}
	f.Add([]byte{0, 0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2})
	f.Add(append([]byte{1, 1}, frame(broadcast, hostMAC(3), "x")...))
	f.Add([]byte{0, 0, 1, 4, 8, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{1, 0, 1, 3, 7, 0, 2, 'n', 'o'})
	f.Add([]byte{0, 0x60})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		r := readers[data[0]&1]
		r.lens[0] = copy(r.rbufs[0], data[1:])
		r.receive(1)
	})
}
