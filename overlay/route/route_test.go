package route

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// table builds the table used by the lookup tests: overlapping IPv4 and
// IPv6 prefixes held by three peers.
func table(t testing.TB) *Table[string] {
	t.Helper()
	tb := New[string]()
	for p, ps := range map[string][]string{
		"gw.b":      {"10.2.0.0/16", "10.77.0.2/32", "fd02::/48", "fd77::2/128"},
		"gw.c":      {"10.2.3.0/24", "10.77.0.3/32", "fd02:0:0:3::/64"},
		"gw.all":    {"0.0.0.0/0", "::/0"},
		"laptop.al": {"10.77.0.130/32", "fd77::82/128"},
	} {
		if err := tb.Set(p, pfx(ps...)); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

func TestLookup(t *testing.T) {
	tb := table(t)
	for _, c := range []struct {
		dst, peer string
	}{
		{"10.2.0.1", "gw.b"},
		{"10.2.255.255", "gw.b"},
		{"10.2.3.4", "gw.c"}, // longer prefix inside gw.b's
		{"10.2.4.4", "gw.b"},
		{"10.77.0.2", "gw.b"},
		{"10.77.0.3", "gw.c"},
		{"10.77.0.4", "gw.all"},
		{"10.77.0.130", "laptop.al"},
		{"192.0.2.1", "gw.all"},
		{"fd02::1", "gw.b"},
		{"fd02:0:0:3::9", "gw.c"},
		{"fd02:0:0:4::9", "gw.b"},
		{"fd77::2", "gw.b"},
		{"fd77::82", "laptop.al"},
		{"2001:db8::1", "gw.all"},
		{"::ffff:10.2.3.4", "gw.all"}, // a mapped address is IPv6
	} {
		got, ok := tb.Lookup(netip.MustParseAddr(c.dst))
		if !ok || got != c.peer {
			t.Errorf("Lookup(%s) = %q, %v; want %q", c.dst, got, ok, c.peer)
		}
	}
}

func TestLookupMiss(t *testing.T) {
	tb := New[string]()
	if err := tb.Set("gw.b", pfx("10.2.0.0/16", "fd02::/48")); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"10.3.0.1", "fd03::1", "::ffff:10.2.0.1"} {
		if p, ok := tb.Lookup(netip.MustParseAddr(dst)); ok {
			t.Errorf("Lookup(%s) = %q, want no peer", dst, p)
		}
	}
}

func TestAllowed(t *testing.T) {
	tb := table(t)
	for _, c := range []struct {
		peer, src string
		want      bool
	}{
		{"gw.b", "10.2.0.9", true},
		{"gw.b", "10.2.3.9", false}, // belongs to gw.c's longer prefix
		{"gw.c", "10.2.3.9", true},
		{"gw.c", "10.2.4.9", false},
		{"laptop.al", "10.77.0.130", true},
		{"laptop.al", "10.77.0.131", false}, // spoofing a neighbour
		{"laptop.al", "10.77.0.2", false},   // spoofing a gateway
		{"laptop.al", "fd77::82", true},
		{"laptop.al", "fd77::83", false},
		{"gw.b", "fd02:0:0:3::1", false},
		{"gw.all", "192.0.2.1", true},
		{"nobody", "192.0.2.1", false},
	} {
		if got := tb.Allowed(c.peer, netip.MustParseAddr(c.src)); got != c.want {
			t.Errorf("Allowed(%s, %s) = %v, want %v", c.peer, c.src, got, c.want)
		}
	}
}

func TestSetRefuses(t *testing.T) {
	for _, c := range []struct {
		prefix, want string
	}{
		{"10.2.0.0/16", "already held by peer gw.b"},
		{"fd02::/48", "already held by peer gw.b"},
		{"10.9.0.1/24", "host bits are set; did you mean 10.9.0.0/24"},
		{"fd09::1/64", "host bits are set; did you mean fd09::/64"},
	} {
		tb := New[string]()
		if err := tb.Set("gw.b", pfx("10.2.0.0/16", "fd02::/48")); err != nil {
			t.Fatal(err)
		}
		p := netip.MustParsePrefix(c.prefix)
		err := tb.Set("gw.c", []netip.Prefix{netip.MustParsePrefix("10.3.0.0/16"), p})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Set(%s) = %v, want error containing %q", c.prefix, err, c.want)
		}
		// Nothing changed: gw.c's other prefix did not land.
		if _, ok := tb.Lookup(netip.MustParseAddr("10.3.0.1")); ok {
			t.Errorf("Set(%s) failed but changed the table", c.prefix)
		}
		if q, _ := tb.Lookup(netip.MustParseAddr("10.2.0.1")); q != "gw.b" {
			t.Errorf("Set(%s) failed but took 10.2.0.0/16 from gw.b: %q", c.prefix, q)
		}
	}
	if err := New[string]().Set("x", []netip.Prefix{{}}); err == nil {
		t.Error("Set of the zero prefix succeeded")
	}
}

// TestSetReplaces checks that a reload replaces a peer's prefixes as a whole
// and frees the ones it no longer holds for others.
func TestSetReplaces(t *testing.T) {
	tb := New[string]()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tb.Set("gw.b", pfx("10.2.0.0/16", "10.2.0.0/16", "fd02::/48")))
	if got := tb.Prefixes("gw.b"); len(got) != 2 {
		t.Errorf("Prefixes kept repeats: %v", got)
	}
	must(tb.Set("gw.b", pfx("10.4.0.0/16")))
	if _, ok := tb.Lookup(netip.MustParseAddr("10.2.0.1")); ok {
		t.Error("old prefix still routed after Set replaced it")
	}
	if _, ok := tb.Lookup(netip.MustParseAddr("fd02::1")); ok {
		t.Error("old IPv6 prefix still routed after Set replaced it")
	}
	must(tb.Set("gw.c", pfx("10.2.0.0/16"))) // freed by the reload
	must(tb.Set("gw.b", nil))
	if _, ok := tb.Lookup(netip.MustParseAddr("10.4.0.1")); ok {
		t.Error("Set(nil) left the peer's prefix")
	}
	must(tb.Set("gw.b", pfx("10.4.0.0/16")))
	tb.Remove("gw.b")
	tb.Remove("gw.b")
	if _, ok := tb.Lookup(netip.MustParseAddr("10.4.0.1")); ok {
		t.Error("Remove left the peer's prefix")
	}
	if q, _ := tb.Lookup(netip.MustParseAddr("10.2.0.1")); q != "gw.c" {
		t.Errorf("Remove of gw.b touched gw.c: %q", q)
	}
}

// TestConcurrentReload checks, under -race, that lookups during reloads see
// a peer's old set or its new one, never neither.
func TestConcurrentReload(t *testing.T) {
	tb := New[string]()
	a, b := pfx("10.1.0.0/16", "fd01::/48"), pfx("10.1.0.0/16", "10.9.0.0/16", "fd01::/48")
	if err := tb.Set("gw", a); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst4, dst6 := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fd01::7")
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !tb.Allowed("gw", dst4) || !tb.Allowed("gw", dst6) {
					t.Error("a prefix in both the old and the new set was missing during a reload")
					return
				}
			}
		}()
	}
	for i := range 2000 {
		set := a
		if i%2 == 0 {
			set = b
		}
		if err := tb.Set("gw", set); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestLookupAllocs(t *testing.T) {
	tb := table(t)
	d4, d6 := netip.MustParseAddr("10.2.3.4"), netip.MustParseAddr("fd02:0:0:3::9")
	if n := testing.AllocsPerRun(1000, func() {
		tb.Lookup(d4)
		tb.Lookup(d6)
		tb.Allowed("gw.c", d4)
		tb.Allowed("gw.c", d6)
	}); n != 0 {
		t.Errorf("Lookup and Allowed allocate %v times per run, want 0", n)
	}
}

// bigTable is a table of n clients with one /32 and one /128 each, plus
// site routes of a few lengths, as a concentrator holds.
func bigTable(b *testing.B, n int) *Table[int] {
	tb := New[int]()
	for i := range n {
		v4 := netip.AddrFrom4([4]byte{10, 77, byte(i >> 8), byte(i)})
		v6 := netip.AddrFrom16([16]byte{0xfd, 0x77, 14: byte(i >> 8), 15: byte(i)})
		if err := tb.Set(i, []netip.Prefix{netip.PrefixFrom(v4, 32), netip.PrefixFrom(v6, 128)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := tb.Set(-1, pfx("10.0.0.0/8", "10.2.0.0/16", "10.2.3.0/24", "fd00::/8", "fd02::/48", "fd02:0:0:3::/64")); err != nil {
		b.Fatal(err)
	}
	return tb
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 1000} {
		tb := bigTable(b, n)
		for _, dst := range []string{"10.77.0.5", "10.2.3.4", "fd77::5", "fd02:0:0:3::9"} {
			a := netip.MustParseAddr(dst)
			b.Run(fmt.Sprintf("peers=%d/dst=%s", n, dst), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					tb.Lookup(a)
				}
			})
		}
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	tb := bigTable(b, 1000)
	a := netip.MustParseAddr("10.77.0.5")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tb.Allowed(5, a)
		}
	})
}

// TestUpdate checks a reload that changes several peers at once.
func TestUpdate(t *testing.T) {
	tb := New[string]()
	if err := tb.Update(map[string][]netip.Prefix{
		"gw.b": pfx("10.2.0.0/16", "fd02::/48"),
		"gw.c": pfx("10.3.0.0/16"),
		"gw.d": pfx("10.4.0.0/16"),
	}); err != nil {
		t.Fatal(err)
	}
	// Move 10.2.0.0/16 from gw.b to gw.c, remove gw.d, leave nothing else.
	if err := tb.Update(map[string][]netip.Prefix{
		"gw.b": pfx("fd02::/48"),
		"gw.c": pfx("10.3.0.0/16", "10.2.0.0/16"),
		"gw.d": nil,
	}); err != nil {
		t.Fatalf("moving a prefix between peers in one update: %v", err)
	}
	for dst, want := range map[string]string{"10.2.0.1": "gw.c", "fd02::1": "gw.b", "10.3.0.1": "gw.c", "10.4.0.1": ""} {
		if got, _ := tb.Lookup(netip.MustParseAddr(dst)); got != want {
			t.Errorf("after update, Lookup(%s) = %q, want %q", dst, got, want)
		}
	}
	for _, c := range []struct {
		name    string
		changes map[string][]netip.Prefix
	}{
		{"two changed peers claim one prefix", map[string][]netip.Prefix{"gw.x": pfx("10.9.0.0/16"), "gw.y": pfx("10.9.0.0/16")}},
		{"an unchanged peer holds it", map[string][]netip.Prefix{"gw.x": pfx("10.9.0.0/16", "fd02::/48")}},
		{"a changed peer keeps it", map[string][]netip.Prefix{"gw.b": pfx("fd02::/48", "10.8.0.0/16"), "gw.x": pfx("fd02::/48")}},
		{"one invalid prefix", map[string][]netip.Prefix{"gw.x": pfx("10.9.0.0/16"), "gw.b": {{}}}},
	} {
		if err := tb.Update(c.changes); err == nil {
			t.Errorf("%s: Update succeeded", c.name)
		}
		if _, ok := tb.Lookup(netip.MustParseAddr("10.9.0.1")); ok {
			t.Errorf("%s: a failed Update changed the table", c.name)
		}
		if got := tb.Prefixes("gw.b"); len(got) != 1 || got[0] != netip.MustParsePrefix("fd02::/48") {
			t.Errorf("%s: a failed Update changed gw.b to %v", c.name, got)
		}
	}
}

// TestUpdateMoveAtomic checks, under -race, that a prefix moved back and
// forth between two peers is always held by one of them.
func TestUpdateMoveAtomic(t *testing.T) {
	tb := New[string]()
	if err := tb.Set("a", pfx("10.1.0.0/16")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		dst := netip.MustParseAddr("10.1.2.3")
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, ok := tb.Lookup(dst); !ok {
				t.Error("a moved prefix was held by neither peer for a moment")
				return
			}
		}
	}()
	for i := range 2000 {
		from, to := "a", "b"
		if i%2 == 1 {
			from, to = to, from
		}
		if err := tb.Update(map[string][]netip.Prefix{from: nil, to: pfx("10.1.0.0/16")}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
}
