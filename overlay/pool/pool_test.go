package pool

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/internal/fakeclock"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)) }

func open(t *testing.T, cfg Config, c *fakeclock.Clock) *Pool {
	t.Helper()
	cfg.Now = c.Now
	p, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func acquire(t *testing.T, p *Pool, name string, fams Family) Lease {
	t.Helper()
	l, err := p.Acquire(name, fams)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", name, err)
	}
	return l
}

var (
	v4 = netip.MustParsePrefix("10.77.0.128/25")
	v6 = netip.MustParsePrefix("fd77::/64")
)

func TestSameNameSameAddress(t *testing.T) {
	c := newClock()
	p := open(t, Config{Prefixes: []netip.Prefix{v6, v4}, Lease: time.Hour}, c)
	a := acquire(t, p, "laptop.alice", IPv4|IPv6)
	if len(a.Addrs) != 2 || !a.Addrs[0].Addr().Is4() || a.Addrs[0].Bits() != 25 || a.Addrs[1].Bits() != 64 {
		t.Fatalf("lease %v: want an IPv4 /25 then an IPv6 /64 address", a.Addrs)
	}
	if !v4.Contains(a.Addrs[0].Addr()) || !v6.Contains(a.Addrs[1].Addr()) {
		t.Fatalf("lease %v is outside the pool", a.Addrs)
	}
	if !a.Expires.Equal(c.Now().Add(time.Hour)) {
		t.Errorf("expires %v, want an hour from now", a.Expires)
	}
	b := acquire(t, p, "laptop.bob", IPv4|IPv6)
	if b.Addrs[0] == a.Addrs[0] || b.Addrs[1] == a.Addrs[1] {
		t.Errorf("two names share an address: %v and %v", a.Addrs, b.Addrs)
	}
	c.Add(50 * time.Minute)
	again := acquire(t, p, "laptop.alice", IPv4|IPv6)
	if fmt.Sprint(again.Addrs) != fmt.Sprint(a.Addrs) {
		t.Errorf("same name got %v, then %v", a.Addrs, again.Addrs)
	}
	if !again.Expires.Equal(c.Now().Add(time.Hour)) {
		t.Error("Acquire did not renew the lease")
	}
}

func TestFamilies(t *testing.T) {
	c := newClock()
	p := open(t, Config{Prefixes: []netip.Prefix{v4}}, c)
	if l := acquire(t, p, "a", IPv4|IPv6); len(l.Addrs) != 1 {
		t.Errorf("IPv4-only pool granted %v", l.Addrs)
	}
	if _, err := p.Acquire("b", IPv6); err == nil || !strings.Contains(err.Error(), "no prefix of the families") {
		t.Errorf("Acquire of IPv6 from an IPv4 pool = %v", err)
	}
	// Asking later for another family keeps the first.
	p = open(t, Config{Prefixes: []netip.Prefix{v4, v6}}, c)
	l4 := acquire(t, p, "a", IPv4)
	l := acquire(t, p, "a", IPv4|IPv6)
	if len(l.Addrs) != 2 || l.Addrs[0] != l4.Addrs[0] {
		t.Errorf("adding IPv6 to %v gave %v", l4.Addrs, l.Addrs)
	}
	if l6 := acquire(t, p, "a", IPv6); len(l6.Addrs) != 1 || l6.Addrs[0] != l.Addrs[1] {
		t.Errorf("asking for IPv6 only gave %v, want [%v]", l6.Addrs, l.Addrs[1])
	}
	if got := p.Leases(); len(got) != 1 || len(got[0].Addrs) != 2 {
		t.Errorf("leases %v: want a's two addresses still leased", got)
	}
}

// TestNeverNetworkBroadcastReserved exhausts a small pool: every usable
// address goes out once, and never the network, broadcast or reserved ones.
func TestNeverNetworkBroadcastReserved(t *testing.T) {
	for _, c := range []struct {
		prefix   string
		reserved []string
		usable   int
	}{
		{"10.0.0.0/29", []string{"10.0.0.1"}, 5},
		{"10.0.0.0/30", nil, 2},
		{"fd00::/125", []string{"fd00::1", "fd00::2"}, 4},
	} {
		clk := newClock()
		pf := netip.MustParsePrefix(c.prefix)
		var reserved []netip.Addr
		for _, r := range c.reserved {
			reserved = append(reserved, netip.MustParseAddr(r))
		}
		p := open(t, Config{Prefixes: []netip.Prefix{pf}, Reserved: reserved}, clk)
		seen := map[netip.Addr]bool{}
		for i := range c.usable {
			a := acquire(t, p, fmt.Sprint("client", i), IPv4|IPv6).Addrs[0].Addr()
			if seen[a] {
				t.Errorf("%s: %v handed out twice", c.prefix, a)
			}
			seen[a] = true
		}
		first, last := pf.Addr(), addrAt(pf, uint64(1)<<(pf.Addr().BitLen()-pf.Bits())-1)
		for _, bad := range append(reserved, first, last) {
			if seen[bad] {
				t.Errorf("%s: handed out %v", c.prefix, bad)
			}
		}
		_, err := p.Acquire("one.too.many", IPv4|IPv6)
		if err == nil || !strings.Contains(err.Error(), "exhausted") {
			t.Errorf("%s: Acquire past the pool's size = %v, want exhausted", c.prefix, err)
		}
	}
}

func TestExpiry(t *testing.T) {
	clk := newClock()
	p := open(t, Config{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/30")}, Lease: time.Hour}, clk)
	a := acquire(t, p, "a", IPv4)
	acquire(t, p, "b", IPv4) // the pool is now full
	if _, err := p.Acquire("c", IPv4); err == nil {
		t.Fatal("a full pool granted an address")
	}
	clk.Add(time.Hour + time.Second)
	acquire(t, p, "b", IPv4) // b renews; a's lease has expired
	c := acquire(t, p, "c", IPv4)
	if c.Addrs[0] != a.Addrs[0] {
		t.Errorf("c got %v, want a's expired %v", c.Addrs, a.Addrs)
	}
	if l, err := p.Acquire("a", IPv4); err == nil {
		t.Errorf("a got %v from a pool full of live leases", l.Addrs)
	}
}

// TestExpiredKeptForOwner checks that a late client gets its old address
// back while never-leased ones remain for others.
func TestExpiredKeptForOwner(t *testing.T) {
	clk := newClock()
	p := open(t, Config{Prefixes: []netip.Prefix{v4}, Lease: time.Hour}, clk)
	a := acquire(t, p, "a", IPv4)
	clk.Add(90 * time.Minute)
	for i := range 50 {
		acquire(t, p, fmt.Sprint("other", i), IPv4)
	}
	if again := acquire(t, p, "a", IPv4); again.Addrs[0] != a.Addrs[0] {
		t.Errorf("late client got %v, want its old %v", again.Addrs, a.Addrs)
	}
	// After a second lease period, the expired lease is forgotten.
	clk.Add(3 * time.Hour)
	acquire(t, p, "z", IPv4)
	for _, l := range p.Leases() {
		if l.Name == "a" {
			t.Error("a lease two periods past its expiry is still remembered")
		}
	}
}

func TestRelease(t *testing.T) {
	clk := newClock()
	p := open(t, Config{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/30")}}, clk)
	acquire(t, p, "a", IPv4)
	acquire(t, p, "b", IPv4)
	if err := p.Release("a"); err != nil {
		t.Fatal(err)
	}
	if err := p.Release("nobody"); err != nil {
		t.Fatal(err)
	}
	acquire(t, p, "c", IPv4)
	if n := len(p.Leases()); n != 2 {
		t.Errorf("%d leases, want 2", n)
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, c := range []struct {
		prefixes []string
		want     string
	}{
		{nil, "no prefix"},
		{[]string{"10.0.0.1/24"}, "host bits are set; did you mean 10.0.0.0/24"},
		{[]string{"10.0.0.0/31"}, "too small"},
		{[]string{"fd00::/127"}, "too small"},
		{[]string{"10.0.0.0/24", "10.1.0.0/24"}, "one prefix per family"},
	} {
		var pfs []netip.Prefix
		for _, s := range c.prefixes {
			pfs = append(pfs, netip.MustParsePrefix(s))
		}
		if _, err := Open(Config{Prefixes: pfs}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%v) = %v, want error containing %q", c.prefixes, err, c.want)
		}
	}
	if _, err := Open(Config{Prefixes: []netip.Prefix{v4}}); err != nil {
		t.Error(err)
	}
	p, _ := Open(Config{Prefixes: []netip.Prefix{v4}})
	if _, err := p.Acquire("", IPv4); err == nil {
		t.Error("Acquire with no name succeeded")
	}
}

func TestPersist(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ovpn0.leases")
	clk := newClock()
	cfg := Config{Prefixes: []netip.Prefix{v4, v6}, Lease: time.Hour, File: file}
	p := open(t, cfg, clk)
	a := acquire(t, p, "laptop.alice", IPv4|IPv6)
	b := acquire(t, p, "laptop.bob", IPv4)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lease file: %v, %v; want mode 0600", fi, err)
	}
	clk.Add(30 * time.Minute)
	q := open(t, cfg, clk) // a restart
	if got := q.Leases(); len(got) != 2 || fmt.Sprint(got[0].Addrs) != fmt.Sprint(a.Addrs) || !got[0].Expires.Equal(a.Expires) {
		t.Fatalf("after restart: %+v, want alice %v and bob", got, a.Addrs)
	}
	if again := acquire(t, q, "laptop.bob", IPv4); again.Addrs[0] != b.Addrs[0] {
		t.Errorf("bob got %v after restart, had %v", again.Addrs, b.Addrs)
	}
	if c := acquire(t, q, "laptop.carol", IPv4|IPv6); c.Addrs[0] == a.Addrs[0] || c.Addrs[1] == a.Addrs[1] {
		t.Errorf("carol got alice's address %v after restart", c.Addrs)
	}
	// A pool changed since the file was written drops what is no longer its.
	r := open(t, Config{Prefixes: []netip.Prefix{v6}, File: file, Reserved: []netip.Addr{a.Addrs[1].Addr()}}, clk)
	for _, l := range r.Leases() {
		if l.Name == "laptop.bob" || l.Name == "laptop.alice" {
			t.Errorf("lease %+v kept though its address is no longer in the pool", l)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestCorruptFile(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
	}{
		{"garbage", "{not json", "invalid character"},
		{"truncated", `{"version":1,"leases":[{"name":"a"`, "unexpected end"},
		{"version", `{"version":2,"leases":[]}`, "version 2"},
		{"no name", `{"version":1,"leases":[{"addrs":["10.77.0.200"]}]}`, "without a name"},
		{"bad addr", `{"version":1,"leases":[{"name":"a","addrs":["10.77.0.999"]}]}`, "10.77.0.999"},
		{"twice", `{"version":1,"leases":[{"name":"a","addrs":["10.77.0.200"],"expires":"2026-12-03T16:00:00Z"},{"name":"a","addrs":["10.77.0.201"]}]}`, `two leases for "a"`},
		{"shared", `{"version":1,"leases":[{"name":"a","addrs":["10.77.0.200"],"expires":"2026-12-03T16:00:00Z"},{"name":"b","addrs":["10.77.0.200"],"expires":"2026-12-03T16:00:00Z"}]}`, "leased to both"},
		{"no expiry", `{"version":1,"leases":[{"name":"a","addrs":["10.77.0.200"]}]}`, "no expiry"},
		{"two v4", `{"version":1,"leases":[{"name":"a","addrs":["10.77.0.200","10.77.0.201"],"expires":"2026-12-03T16:00:00Z"}]}`, "two addresses of one family"},
	} {
		file := filepath.Join(t.TempDir(), "leases")
		if err := os.WriteFile(file, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Config{Prefixes: []netip.Prefix{v4}, File: file})
		if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open = %v, want an error naming %s and containing %q", c.name, err, file, c.want)
		}
		if b, _ := os.ReadFile(file); string(b) != c.body {
			t.Errorf("%s: Open changed the corrupt file", c.name)
		}
	}
}

func TestNotSaved(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "leases") // its directory does not exist
	p, err := Open(Config{Prefixes: []netip.Prefix{v4}, File: file})
	if err != nil {
		t.Fatal(err)
	}
	l, err := p.Acquire("a", IPv4)
	if !errors.Is(err, ErrNotSaved) || len(l.Addrs) != 1 {
		t.Errorf("Acquire with an unwritable file = %v, %v; want the lease and ErrNotSaved", l, err)
	}
}

// TestHugeV6Pool checks that allocation in a /64 is bounded and stable.
func TestHugeV6Pool(t *testing.T) {
	clk := newClock()
	p := open(t, Config{Prefixes: []netip.Prefix{netip.MustParsePrefix("fd77::/48")}}, clk)
	q := open(t, Config{Prefixes: []netip.Prefix{netip.MustParsePrefix("fd77::/48")}}, clk)
	for i := range 100 {
		name := fmt.Sprint("laptop", i)
		a, b := acquire(t, p, name, IPv6), acquire(t, q, name, IPv6)
		if a.Addrs[0] != b.Addrs[0] {
			t.Errorf("%s got %v from one pool and %v from a fresh one", name, a.Addrs, b.Addrs)
		}
	}
}

// TestConcurrent runs clients on several goroutines, under -race: no
// address is ever held by two live leases.
func TestConcurrent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leases")
	p := open(t, Config{Prefixes: []netip.Prefix{v4, v6}, File: file}, newClock())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				name := fmt.Sprintf("laptop%d.%d", g, i%10)
				if _, err := p.Acquire(name, IPv4|IPv6); err != nil {
					t.Error(err)
				}
				if i%7 == 0 {
					p.Release(name)
				}
			}
		}()
	}
	wg.Wait()
	seen := map[netip.Prefix]string{}
	for _, l := range p.Leases() {
		for _, a := range l.Addrs {
			if prev, ok := seen[a]; ok {
				t.Errorf("%v leased to %s and %s", a, prev, l.Name)
			}
			seen[a] = l.Name
		}
	}
}

// FuzzLeaseFile checks that reading any lease file fails with an error or
// yields leases that survive a write and a read unchanged.
func FuzzLeaseFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"leases":[{"name":"a","addrs":["10.77.0.200","fd77::5"],"expires":"2026-12-03T16:00:00Z"}]}`))
	f.Add([]byte(`{"version":1,"leases":[]}`))
	f.Add([]byte(`{"version":1,"leases":[{"name":"b","addrs":["fd77::9"],"expires":"2026-12-03T16:00:00.5+02:00"}]}`))
	f.Add([]byte(`{"version":1,"leases":[{"name":"a","addrs":["10.77.0.128"],"expires":"2026-12-03T16:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "leases")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := Config{Prefixes: []netip.Prefix{v4, v6}, File: file, Reserved: []netip.Addr{netip.MustParseAddr("10.77.0.129")}}
		p, err := Open(cfg)
		if err != nil {
			if !strings.Contains(err.Error(), file) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		before := p.Leases()
		for _, l := range before {
			for _, a := range l.Addrs {
				if !p.contains(a.Addr()) || a.Addr() == netip.MustParseAddr("10.77.0.129") {
					t.Fatalf("loaded a lease of %v, which the pool may not hand out", a)
				}
			}
		}
		p.mu.Lock()
		err = p.save()
		p.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		q, err := Open(cfg)
		if err != nil {
			t.Fatalf("reading back what was written: %v", err)
		}
		if after := q.Leases(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("leases changed through a write:\n%v\n%v", before, after)
		}
	})
}
