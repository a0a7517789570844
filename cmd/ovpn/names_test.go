package main

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/resolver"
)

// publishWeb is a [[publish]] entry for web.a at 10.1.0.5 and fd01::5.
const publishWeb = "[[publish]]\nname = \"web.a\"\naddress = [\"10.1.0.5\", \"fd01::5\"]\n"

// lookup looks name up through d's names, within a few seconds.
func lookup(t *testing.T, d *daemon, name string) ([]netip.Addr, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return newDNSNames(d).Lookup(ctx, name)
}

func addrsOf(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// The bridge answers this end's own name, its [[publish]] hosts and the
// peers that are up, and the reverse of each of their addresses, with
// no flow set up.
func TestNamesLookupKnown(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a",
		"[[peer]]\nname = \"gw.b\"\nroutes = [\"10.2.0.0/24\"]\n"+publishWeb))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"gw.*\"]\n"))
	allocs := reach(a, b)
	run2(t, a, b)
	waitUntil(t, "gw.b up on gw.a", func() bool { return upOn(a, "gw.b") })
	before := allocs.Load()
	for name, want := range map[string]string{
		"gw.a":  "10.77.0.1",
		"web.a": "10.1.0.5,fd01::5",
		"gw.b":  "10.77.0.2",
	} {
		got, err := lookup(t, a, name)
		if err != nil || addrsOf(got) != want {
			t.Errorf("Lookup(%s) = %v, %v; want %s", name, got, err, want)
		}
	}
	if n := allocs.Load(); n != before {
		t.Errorf("lookups of known names allocated %d flows", n-before)
	}
	names := newDNSNames(a)
	for addr, want := range map[string]string{"10.77.0.1": "gw.a", "fd01::5": "web.a", "10.1.0.5": "web.a", "10.77.0.2": "gw.b"} {
		if got, ok := names.Reverse(netip.MustParseAddr(addr)); !ok || got != want {
			t.Errorf("Reverse(%s) = %q, %v; want %s", addr, got, ok, want)
		}
	}
	if got, ok := names.Reverse(netip.MustParseAddr("10.77.0.9")); ok {
		t.Errorf("Reverse of an address no one holds = %q", got)
	}
}

// With [dns] on_demand = false, a name that is not up is REFUSED, and no
// flow is allocated.
func TestNamesOnDemandOff(t *testing.T) {
	a := testDaemon(t, "a", linkConf("gw.a", "10.77.0.1/24", "ovpntest-a", "[dns]\non_demand = false\n[accept]\nnames = [\"laptop.*\"]\n"))
	b := testDaemon(t, "b", linkConf("gw.b", "10.77.0.2/24", "ovpntest-b", "[accept]\nnames = [\"gw.*\"]\n"))
	allocs := reach(a, b)
	run2(t, a, b)
	_, err := lookup(t, a, "gw.b")
	if !errors.Is(err, resolver.ErrRefused) || !strings.Contains(err.Error(), "on_demand is false") {
		t.Fatalf("Lookup with on_demand off: %v", err)
	}
	if allocs.Load() != 0 {
		t.Fatal("a flow was allocated with on_demand off")
	}
}
