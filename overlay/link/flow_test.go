package link

import (
	"context"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/irm/irmtest"
	"o7s.dev/ouroboros/stack/qos"
)

// rawFlows allocates a raw flow between two attachments of this process
// through an in-process IRM: what the ovpn command hands the engine.
func rawFlows(t testing.TB) (dialled, accepted *flow.Flow) {
	t.Helper()
	h := irmtest.Start(t, irmtest.Options{})
	h.Serve(t, "gw.b")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	attach := func() *flow.Process {
		p, err := flow.Attach(ctx, flow.Config{RunDir: h.RunDir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	srv, cli := attach(), attach()
	got := make(chan *flow.Flow, 1)
	go func() {
		f, err := srv.Accept(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- f
	}()
	f, err := cli.Alloc(ctx, "gw.b", qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s == nil {
		t.FailNow()
	}
	return f, s
}

// TestOverRawFlows: two Links over a real raw flow (irmd in the test
// process): packets both ways, tap frames, and a peer closing its end is
// seen by the other at once.
func TestOverRawFlows(t *testing.T) {
	for _, mode := range []wire.Mode{wire.Tun, wire.Tap} {
		fa, fb := rawFlows(t)
		a := newNode(t, "gw.a", Config{Mode: mode, Addrs: pfx("10.77.0.1/24")})
		b := newNode(t, "gw.b", Config{Mode: mode, Addrs: pfx("10.77.0.2/24")})
		pa, pb := connectOn(t, a, b, fa, fb, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
		if pa.err != nil || pb.err != nil {
			t.Fatalf("%v: %v, %v", mode, pa.err, pb.err)
		}
		for range 3 {
			ab, ba := testPacket(mode), ipPacket("10.77.0.2", "10.77.0.1", []byte("back"))
			if mode == wire.Tap {
				ba = frame(hostMAC(1), hostMAC(2), "back")
			}
			a.host.Send(ab)
			b.expect(t, ab)
			b.host.Send(ba)
			a.expect(t, ba)
		}
		if m, _ := a.l.cfg.Device.MTU(); m != a.l.mtuFor(fa.MaxSDU()) {
			t.Errorf("%v: MTU %d for a flow of MaxSDU %d", mode, m, fa.MaxSDU())
		}
		b.l.Close()
		select {
		case <-pa.p.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: a did not see b's flow end", mode)
		}
		if err := pa.p.Err(); err == nil || !strings.Contains(err.Error(), "gw.b") {
			t.Errorf("%v: a's peer ended with %v", mode, err)
		}
	}
}
