package mac

import (
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/internal/fakeclock"
)

func newTable(cfg Config) (*Table[string], *fakeclock.Clock) {
	c := fakeclock.New(time.Unix(1_800_000_000, 0))
	cfg.Now = c.Now
	return New[string](cfg), c
}

var (
	macA  = Addr{0x02, 0, 0, 0, 0, 0xa}
	macB  = Addr{0x02, 0, 0, 0, 0, 0xb}
	bcast = Addr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mcast = Addr{0x01, 0x00, 0x5e, 0, 0, 1}    // IPv4 multicast
	mcst6 = Addr{0x33, 0x33, 0xff, 0, 0, 1}    // IPv6 solicited-node
	stp   = Addr{0x01, 0x80, 0xc2, 0, 0, 0x00} // bridge group address
)

func TestLearnLookup(t *testing.T) {
	tb, _ := newTable(Config{})
	if r := tb.Learn(macA, "site.b"); r != Learned {
		t.Fatalf("first Learn = %v, want Learned", r)
	}
	if r := tb.Learn(macA, "site.b"); r != Refreshed {
		t.Fatalf("second Learn = %v, want Refreshed", r)
	}
	if p, ok := tb.Lookup(macA); !ok || p != "site.b" {
		t.Errorf("Lookup(A) = %q, %v; want site.b", p, ok)
	}
	if _, ok := tb.Lookup(macB); ok {
		t.Error("Lookup of an unknown MAC found a peer")
	}
	for _, g := range []Addr{bcast, mcast, mcst6, stp} {
		if r := tb.Learn(g, "site.b"); r != Ignored {
			t.Errorf("Learn(%v) = %v, want Ignored", g, r)
		}
		if _, ok := tb.Lookup(g); ok {
			t.Errorf("Lookup(%v) found a peer for a group address", g)
		}
	}
	if r := tb.Learn(Addr{}, "site.b"); r != Ignored {
		t.Errorf("Learn(zero) = %v, want Ignored", r)
	}
	if s := tb.Stats(); s.Entries != 1 || s.Learned != 1 {
		t.Errorf("Stats = %+v, want 1 entry, 1 learned", s)
	}
}

func TestAgeing(t *testing.T) {
	tb, c := newTable(Config{Age: 10 * time.Second})
	tb.Learn(macA, "site.b")
	c.Add(9 * time.Second)
	tb.Learn(macA, "site.b") // refreshes
	c.Add(9 * time.Second)
	if _, ok := tb.Lookup(macA); !ok {
		t.Fatal("entry aged out though refreshed within its age")
	}
	c.Add(time.Second)
	if _, ok := tb.Lookup(macA); ok {
		t.Fatal("entry still found after its age")
	}
	tb.Sweep()
	if s := tb.Stats(); s.Entries != 0 || s.Expired != 1 {
		t.Errorf("after Sweep: %+v, want 0 entries, 1 expired", s)
	}
}

func TestDefaultAge(t *testing.T) {
	tb, c := newTable(Config{})
	tb.Learn(macA, "site.b")
	c.Add(DefaultAge - time.Second)
	if _, ok := tb.Lookup(macA); !ok {
		t.Fatal("entry aged out before DefaultAge")
	}
	c.Add(time.Second)
	if _, ok := tb.Lookup(macA); ok {
		t.Fatal("entry outlived DefaultAge")
	}
}

func TestMove(t *testing.T) {
	for _, c := range []struct {
		name      string
		allow     bool
		wait      time.Duration
		want      Result
		wantPeer  string
		wantCount func(Stats) uint64
	}{
		{"refused", false, 0, Refused, "site.b", func(s Stats) uint64 { return s.Refused }},
		{"allowed", true, 0, Moved, "site.c", func(s Stats) uint64 { return s.Moved }},
		{"aged out", false, 11 * time.Second, Learned, "site.c", func(s Stats) uint64 { return s.Learned - 1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb, clk := newTable(Config{Age: 10 * time.Second, AllowMove: c.allow})
			tb.Learn(macA, "site.b")
			clk.Add(c.wait)
			if r := tb.Learn(macA, "site.c"); r != c.want {
				t.Fatalf("Learn from another peer = %v, want %v", r, c.want)
			}
			if p, _ := tb.Lookup(macA); p != c.wantPeer {
				t.Errorf("MAC is behind %q, want %q", p, c.wantPeer)
			}
			if n := c.wantCount(tb.Stats()); n != 1 {
				t.Errorf("counter = %d, want 1 (%+v)", n, tb.Stats())
			}
		})
	}
}

func TestEvictOldest(t *testing.T) {
	tb, c := newTable(Config{Max: 3})
	macs := []Addr{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 4}}
	for _, m := range macs[:3] {
		tb.Learn(m, "site.b")
		c.Add(time.Second)
	}
	tb.Learn(macs[0], "site.b") // the oldest is seen again: keep it
	tb.Learn(macs[3], "site.c")
	if _, ok := tb.Lookup(macs[1]); ok {
		t.Error("the least recently seen entry was not evicted")
	}
	for _, m := range []Addr{macs[0], macs[2], macs[3]} {
		if _, ok := tb.Lookup(m); !ok {
			t.Errorf("%v was evicted, want %v evicted", m, macs[1])
		}
	}
	if s := tb.Stats(); s.Entries != 3 || s.Evicted != 1 {
		t.Errorf("Stats = %+v, want 3 entries, 1 evicted", s)
	}
	// A full table drops aged-out entries before live ones.
	c.Add(DefaultAge)
	tb.Learn(macs[1], "site.b")
	if s := tb.Stats(); s.Entries != 1 || s.Evicted != 1 || s.Expired != 3 {
		t.Errorf("Stats = %+v, want 1 entry, 1 evicted, 3 expired", s)
	}
}

// TestFloodBounded sends many source MACs through a small table: it stays
// at its bound and counts what it evicted.
func TestFloodBounded(t *testing.T) {
	tb, _ := newTable(Config{Max: 64})
	for i := range 10000 {
		tb.Learn(Addr{2, 0, 0, 0, byte(i >> 8), byte(i)}, "attacker")
	}
	if s := tb.Stats(); s.Entries != 64 || s.Evicted != 10000-64 || len(tb.q) != 64 {
		t.Errorf("Stats = %+v, queue %d; want 64 entries, %d evicted", s, len(tb.q), 10000-64)
	}
}

func TestRemovePeer(t *testing.T) {
	tb, _ := newTable(Config{})
	tb.Learn(macA, "site.b")
	tb.Learn(macB, "site.c")
	tb.RemovePeer("site.b")
	if _, ok := tb.Lookup(macA); ok {
		t.Error("MAC of a removed peer still found")
	}
	if _, ok := tb.Lookup(macB); !ok {
		t.Error("RemovePeer removed another peer's MAC")
	}
	if r := tb.Learn(macA, "site.c"); r != Learned {
		t.Errorf("Learn after RemovePeer = %v, want Learned", r)
	}
}

func TestFlood(t *testing.T) {
	peers := []string{"site.a", "site.b", "site.c"}
	for _, c := range []struct {
		from string
		want []string
	}{
		{"site.b", []string{"site.a", "site.c"}},
		{"", peers}, // from the local tap: to every peer
	} {
		got := Flood(nil, peers, c.from)
		if len(got) != len(c.want) {
			t.Fatalf("Flood from %q = %v, want %v", c.from, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Flood from %q = %v, want %v", c.from, got, c.want)
			}
		}
	}
	buf := make([]string, 0, 8)
	if n := testing.AllocsPerRun(100, func() { Flood(buf[:0], peers, "site.a") }); n != 0 {
		t.Errorf("Flood allocates %v times with room in dst", n)
	}
}

func TestAllocs(t *testing.T) {
	tb := New[int](Config{})
	tb.Learn(macA, 1)
	if n := testing.AllocsPerRun(1000, func() {
		tb.Lookup(macA)
		tb.Lookup(bcast)
		tb.Learn(macA, 1)
	}); n != 0 {
		t.Errorf("Lookup and Learn of a known MAC allocate %v times per run, want 0", n)
	}
}

func TestConcurrent(t *testing.T) {
	tb := New[int](Config{Max: 100})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				m := Addr{2, 0, 0, 0, byte(g), byte(i % 150)}
				tb.Learn(m, g)
				tb.Lookup(m)
				if i%500 == 0 {
					tb.Sweep()
					tb.RemovePeer((g + 1) % 4)
				}
			}
		}()
	}
	wg.Wait()
	if s := tb.Stats(); s.Entries > 100 {
		t.Errorf("table grew past its bound: %+v", s)
	}
}

func BenchmarkLookup(b *testing.B) {
	tb := New[int](Config{})
	for i := range 1000 {
		tb.Learn(Addr{2, 0, 0, 0, byte(i >> 8), byte(i)}, i%8)
	}
	m := Addr{2, 0, 0, 0, 1, 7}
	b.ReportAllocs()
	for b.Loop() {
		tb.Lookup(m)
	}
}

func BenchmarkLearnKnown(b *testing.B) {
	tb := New[int](Config{})
	for i := range 1000 {
		tb.Learn(Addr{2, 0, 0, 0, byte(i >> 8), byte(i)}, i%8)
	}
	m := Addr{2, 0, 0, 0, 1, 7}
	p, _ := tb.Lookup(m)
	b.ReportAllocs()
	for b.Loop() {
		tb.Learn(m, p)
	}
}
