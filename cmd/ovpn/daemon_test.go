package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/overlay/link/linktest"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/tunif/tuntest"
)

// The daemon's tests run its loops and the real engine on in-memory
// devices (tuntest) and flows (linktest), without irmd: a daemon's alloc
// is replaced by a pipe whose far end the other daemon accepts.

// proved is an in-memory flow with what a key exchange would have proved.
type proved struct {
	*linktest.End
	proof flow.Peer
}

func (p proved) Peer() flow.Peer { return p.proof }

// Name is the name the flow was allocated to: "" for this end's own.
func (p proved) Name() string { return "" }

// linkConf is a link file for the endpoint name, the device given (one no
// host has, so that the daemon's netlink calls find nothing to change),
// with the [[peer]] and [accept] lines given.
func linkConf(name, addr, dev, rest string) string {
	return fmt.Sprintf(`name = %q
layer = "corp"

[interface]
device = %q
address = [%q]
%s`, name, dev, addr, rest)
}

// testDaemon loads text as the file LINK.toml and makes a daemon of it
// on an in-memory device, started without irmd.
func testDaemon(t *testing.T, link_, text string) *daemon {
	t.Helper()
	d, _ := testDaemonDev(t, link_, text)
	return d
}

// testDaemonDev is testDaemon, and returns the kernel's end of its device
// too: what it sends the daemon reads from its interface.
func testDaemonDev(t *testing.T, link_, text string) (*daemon, *tuntest.Device) {
	t.Helper()
	path := filepath.Join(t.TempDir(), link_+".toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil)).With("end", cfg.Name)
	d := newDaemon(cfg, t.TempDir(), log)
	d.alloc = func(context.Context, string) (peerFlow, error) { return nil, errors.New("name unreachable") }
	d.routedElsewhere = func(netip.Addr) (string, error) { return "", nil } // the host's routes are not the test's
	dev, kernel := tuntest.NewPair(1400)
	d.link, err = link.New(link.Config{Name: cfg.Name, Mode: cfg.Interface.Mode, Device: dev,
		Addrs: cfg.Interface.Address, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return d, kernel
}

// rewrite replaces d's config file with text.
func rewrite(t *testing.T, d *daemon, text string) {
	t.Helper()
	if err := os.WriteFile(d.config().File, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// reach makes a's allocations to b's name reach b, which accepts them;
// each end proves the other's name as a CA would. It returns the count
// of allocations.
func reach(a, b *daemon) *atomic.Int32 {
	var n atomic.Int32
	a.alloc = func(_ context.Context, name string) (peerFlow, error) {
		if name != b.config().Name {
			return nil, errors.New("name unreachable")
		}
		n.Add(1)
		x, y := linktest.Pipe(1400)
		go b.addAccepted(b.ctx, proved{y, flow.Peer{Name: a.config().Name}})
		return proved{x, flow.Peer{Name: name}}, nil
	}
	return &n
}

// run starts the daemons, the last first, and stops them at the test's end.
func run2(t *testing.T, ds ...*daemon) {
	for i := len(ds) - 1; i >= 0; i-- {
		ds[i].start(nil)
		t.Cleanup(ds[i].stop)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func upOn(d *daemon, peer string) bool { return d.link.Peer(peer) != nil }

// A dialled peer comes up; when its flow ends it is dialled again at once.
func TestDaemonDialsAndRedials(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[[peer]]\nname = \"gw.b\"\nroutes = [\"10.2.0.0/24\"]\n"))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"gw.*\"]\n"))
	allocs := reach(a, b)
	run2(t, a, b)
	waitUntil(t, "gw.b up on gw.a", func() bool { return upOn(a, "gw.b") && upOn(b, "gw.a") })
	st := a.status()
	if len(st.Peers) != 1 || st.Peers[0].State != "up" || !st.Peers[0].Proven || prefixes(st.Peers[0].Routes) != "10.2.0.0/24" {
		t.Fatalf("gw.a's status: %+v", st.Peers)
	}
	b.link.Remove("gw.a", "test: flow cut")
	waitUntil(t, "gw.b up again", func() bool { return allocs.Load() == 2 && upOn(a, "gw.b") && upOn(b, "gw.a") })
}

// When both ends have a [[peer]] entry for each other, one flow is kept
// (when both flows come up at once, the one gw.a dialled, gw.a sorting
// first; when one is up first, the other end does not dial), and neither
// loop dials while it is up.
func TestDaemonBothDialOneFlow(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[[peer]]\nname = \"gw.b\"\n"))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[[peer]]\nname = \"gw.a\"\n"))
	na, nb := reach(a, b), reach(b, a)
	run2(t, a, b)
	waitUntil(t, "one flow, dialled by one end", func() bool {
		sa, sb := a.link.Status(), b.link.Status()
		return len(sa.Peers) == 1 && len(sb.Peers) == 1 && sa.Peers[0].Dialled != sb.Peers[0].Dialled
	})
	before := na.Load() + nb.Load()
	time.Sleep(300 * time.Millisecond) // a loop that dialled while its peer is up would dial here
	if after := na.Load() + nb.Load(); after != before || before > 3 {
		t.Fatalf("allocations: %d, then %d; want no more than one each, and a retry, and none once up", before, after)
	}
}

// A refused dialler backs off and shows why in its status; the accepting
// end logs its reason.
func TestDaemonRefusedPeerShowsWhy(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[[peer]]\nname = \"gw.b\"\n"))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"laptop.*\"]\n"))
	allocs := reach(a, b)
	run2(t, a, b)
	var p peerStatus
	waitUntil(t, "gw.a to show the refusal", func() bool {
		st := a.status()
		p = st.Peers[0]
		return p.LastError != ""
	})
	if p.State != "connecting" || !strings.Contains(p.LastError, "refused by gw.b") ||
		!strings.Contains(p.LastError, "no [[peer]] entry and no [accept] names pattern matches gw.a") ||
		p.NextAttempt.IsZero() {
		t.Fatalf("gw.a's status of gw.b: %+v", p)
	}
	waitUntil(t, "a second attempt", func() bool { return allocs.Load() >= 2 })
	// (gw.a sees gw.b up for the moment between its own exchange and
	// gw.b's refusal; gw.b never lets gw.a up.)
	if upOn(b, "gw.a") {
		t.Fatal("a refused peer is up")
	}
}

// reload: a peer removed is disconnected and no longer dialled; added
// again it is dialled; a change of its routes keeps its flow.
func TestDaemonReload(t *testing.T) {
	peerB := "[[peer]]\nname = \"gw.b\"\nroutes = [\"10.2.0.0/24\"]\n"
	confA := linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", peerB)
	a := testDaemon(t, "a", confA)
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"gw.*\"]\n"))
	reach(a, b)
	run2(t, a, b)
	waitUntil(t, "gw.b up", func() bool { return upOn(a, "gw.b") })

	rewrite(t, a, linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[accept]\nnames = [\"laptop.*\"]\n"))
	if err := a.reload(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "gw.b down on both ends", func() bool { return !upOn(a, "gw.b") && !upOn(b, "gw.a") })
	if len(a.dials) != 0 || len(a.status().Peers) != 0 {
		t.Fatalf("gw.b removed, but still dialled or shown: %v %+v", a.dials, a.status().Peers)
	}

	rewrite(t, a, confA)
	if err := a.reload(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "gw.b up again", func() bool { return upOn(a, "gw.b") })
	p := a.link.Peer("gw.b")

	rewrite(t, a, strings.Replace(confA, "10.2.0.0/24", "10.2.0.0/16", 1))
	if err := a.reload(); err != nil {
		t.Fatal(err)
	}
	if a.link.Peer("gw.b") != p {
		t.Fatal("a change of routes replaced the peer's flow")
	}
	if st := a.status(); prefixes(st.Peers[0].Routes) != "10.2.0.0/16" {
		t.Fatalf("routes after reload: %v", st.Peers[0].Routes)
	}

	rewrite(t, a, strings.Replace(confA, `layer = "corp"`, `layer = "other"`, 1))
	if err := a.reload(); err == nil || !strings.Contains(err.Error(), "layer: cannot change live") {
		t.Fatalf("reload of a new layer: %v", err)
	}
	rewrite(t, a, "name = ")
	if err := a.reload(); err == nil || a.link.Peer("gw.b") != p {
		t.Fatalf("a broken file: %v; the peer must stay", err)
	}
}

// reload judges the peers that are up by the new rules: a pattern removed
// disconnects the peers it admitted.
func TestDaemonReloadRevokes(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[[peer]]\nname = \"gw.b\"\n"))
	confB := linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"gw.*\"]\n")
	b := testDaemon(t, "b", confB)
	reach(a, b)
	run2(t, a, b)
	waitUntil(t, "gw.a up on gw.b", func() bool { return upOn(b, "gw.a") })
	rewrite(t, b, strings.Replace(confB, `"gw.*"`, `"laptop.*"`, 1))
	if err := b.reload(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "gw.a down on gw.b, and its retries refused", func() bool {
		st := a.status()
		return !upOn(b, "gw.a") && strings.Contains(st.Peers[0].LastError, "no [accept] names pattern matches gw.a")
	})
}

// Flows whose hello never comes hold at most maxPending goroutines: the
// next is closed at once, and a slot frees when one of them ends.
func TestDaemonBoundsPendingHellos(t *testing.T) {
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"gw.*\"]\n"))
	run2(t, b)
	var silent []*linktest.End
	for range maxPending {
		x, y := linktest.Pipe(1400)
		silent = append(silent, x)
		if !b.take(b.ctx, proved{y, flow.Peer{}}) {
			t.Fatal("a flow refused before the bound")
		}
	}
	x, y := linktest.Pipe(1400)
	if b.take(b.ctx, proved{y, flow.Peer{}}) {
		t.Fatal("a flow taken beyond the bound")
	}
	select {
	case <-x.Ended():
	default:
		t.Fatal("the flow beyond the bound was not closed")
	}
	silent[0].Close()
	waitUntil(t, "a free slot", func() bool {
		_, y := linktest.Pipe(1400)
		return b.take(b.ctx, proved{y, flow.Peer{}})
	})
}
