package netcfg

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netns moves the test's goroutine into a fresh network namespace. The
// goroutine stays locked to its thread, so the thread ends with the test
// (never going back to the pool in the wrong namespace) and the namespace
// with it.
func netns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces")
	}
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
}

// veth makes a veth pair, name and name+"p", and sets both up (so that
// name has a carrier and its IPv6 link-local address); it returns name.
func veth(t *testing.T, name string) Iface {
	t.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	if err := netlink.LinkAdd(v); err != nil {
		t.Fatalf("add veth %s: %v", name, err)
	}
	for _, n := range []string{name + "p", name} {
		if err := (Iface{Name: n}).Up(); err != nil {
			t.Fatal(err)
		}
	}
	return Iface{Name: name}
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for k, p := range s {
		out[k] = netip.MustParsePrefix(p)
	}
	return out
}

func sorted(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, comparePrefix)
	return ps
}

// allAddrs lists every address of the interface, link-local ones too.
func allAddrs(t *testing.T, name string) []netip.Prefix {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	as, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for _, a := range as {
		p, _ := prefix(a.IPNet)
		out = append(out, p)
	}
	return out
}

func hasLinkLocal(ps []netip.Prefix) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Addr().IsLinkLocalUnicast() })
}

func TestSetAddrs(t *testing.T) {
	netns(t)
	i := veth(t, "ov0")
	if !hasLinkLocal(allAddrs(t, "ov0")) {
		// The dummy got its fe80:: address when set up; without it
		// the test would not show that SetAddrs keeps it.
		t.Fatal("no IPv6 link-local address to keep")
	}
	for _, step := range []struct {
		name string
		set  []netip.Prefix
	}{
		{"first", prefixes("10.77.0.1/24", "fd77::1/64")},
		{"again", prefixes("10.77.0.1/24", "fd77::1/64")},
		{"changed", prefixes("10.77.0.2/24", "fd77::2/64", "10.78.0.1/16")},
		{"new prefix length", prefixes("10.77.0.2/25", "fd77::2/56", "10.78.0.1/16")},
		{"listed twice", prefixes("10.77.0.2/25", "10.77.0.2/25")},
		{"none", nil},
	} {
		if err := i.SetAddrs(step.set); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got, err := i.Addrs()
		if err != nil {
			t.Fatal(err)
		}
		want := sorted(slices.Compact(sorted(step.set)))
		if !slices.Equal(got, want) {
			t.Errorf("%s: addresses %v, want %v", step.name, got, want)
		}
		if !hasLinkLocal(allAddrs(t, "ov0")) {
			t.Errorf("%s: the IPv6 link-local address was removed", step.name)
		}
	}
}

func TestSetAddrsErrors(t *testing.T) {
	netns(t)
	i := veth(t, "ov0")
	err := Iface{Name: "nosuch0"}.SetAddrs(prefixes("10.0.0.1/24"))
	if err == nil || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("missing interface: %v, want an error naming it", err)
	}
	err = i.SetAddrs([]netip.Prefix{{}})
	if err == nil {
		t.Error("an invalid prefix was accepted")
	}
	// A multicast address cannot be an interface address: the kernel
	// refuses it, and the error names the interface and the address.
	err = i.SetAddrs(prefixes("10.77.0.1/24", "ff05::1/64"))
	if err == nil || !strings.Contains(err.Error(), "ov0") || !strings.Contains(err.Error(), "ff05::1/64") {
		t.Errorf("refused address: %v, want an error naming ov0 and ff05::1/64", err)
	}
	if got, _ := i.Addrs(); !slices.Equal(got, prefixes("10.77.0.1/24")) {
		t.Errorf("the valid address was not set beside the refused one: %v", got)
	}
}

func TestSetRoutes(t *testing.T) {
	netns(t)
	i := veth(t, "ov0")
	if err := i.SetAddrs(prefixes("10.77.0.1/24", "fd77::1/64")); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name      string
		set, want []netip.Prefix
	}{
		{"first", prefixes("10.2.0.0/24", "fd02::/48", "192.168.50.0/24"), nil},
		{"again", prefixes("10.2.0.0/24", "fd02::/48", "192.168.50.0/24"), nil},
		{"changed", prefixes("10.2.0.0/24", "10.3.0.0/16", "fd03::/64"), nil},
		{"host bits and twice", prefixes("10.2.0.9/24", "10.2.0.0/24"), prefixes("10.2.0.0/24")},
		{"default routes", prefixes("0.0.0.0/0", "::/0"), nil},
		{"the connected prefix", prefixes("10.77.0.0/24"), []netip.Prefix{}},
		{"none", nil, nil},
	} {
		if err := i.SetRoutes(step.set); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got, err := i.Routes()
		if err != nil {
			t.Fatal(err)
		}
		want := step.want
		if want == nil {
			want = sorted(step.set)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: routes %v, want %v", step.name, got, want)
		}
	}
	// The kernel's connected routes stayed: the addresses still reach.
	for _, a := range []string{"10.77.0.9", "fd77::9"} {
		rs, err := netlink.RouteGet(netip.MustParseAddr(a).AsSlice())
		if err != nil || len(rs) == 0 {
			t.Errorf("no route to %s after SetRoutes: %v", a, err)
		}
	}
}

func TestSetRoutesConflict(t *testing.T) {
	netns(t)
	i, other := veth(t, "ov0"), veth(t, "lan0")
	if err := other.SetRoutes(prefixes("10.9.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if err := other.SetAddrs(prefixes("10.8.0.1/24")); err != nil {
		t.Fatal(err)
	}
	err := i.SetRoutes(prefixes("10.9.0.0/24", "10.2.0.0/24", "10.8.0.0/24"))
	for _, s := range []string{"ov0", "lan0", "10.9.0.0/24", "10.8.0.0/24"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("conflicting routes: error %v, want one naming %s", err, s)
		}
	}
	if got, _ := i.Routes(); !slices.Equal(got, prefixes("10.2.0.0/24")) {
		t.Errorf("routes of ov0 %v, want only the one without a conflict", got)
	}
	if got, _ := other.Routes(); !slices.Equal(got, prefixes("10.9.0.0/24")) {
		t.Errorf("routes of lan0 %v: the other interface's route was touched", got)
	}
	// Removing every route of ov0 leaves lan0's alone.
	if err := i.SetRoutes(nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := other.Routes(); !slices.Equal(got, prefixes("10.9.0.0/24")) {
		t.Errorf("routes of lan0 %v after ov0's were removed", got)
	}
}

func TestSetRoutesDownInterface(t *testing.T) {
	netns(t)
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ov0"}, PeerName: "ov0p"}); err != nil {
		t.Fatal(err)
	}
	err := Iface{Name: "ov0"}.SetRoutes(prefixes("10.2.0.0/24"))
	if err == nil || !strings.Contains(err.Error(), "ov0") || !strings.Contains(err.Error(), "10.2.0.0/24") {
		t.Errorf("route through a down interface: %v, want an error naming both", err)
	}
}

// routeChanges returns the routes added ("+prefix") and removed
// ("-prefix") on the interface while f ran. It waits for a sentinel route
// change on another interface (the veth peer, name+"p") to know that it has
// seen every event f caused.
func routeChanges(t *testing.T, i Iface, f func()) []string {
	t.Helper()
	ch, done := make(chan netlink.RouteUpdate, 64), make(chan struct{})
	defer close(done)
	if err := netlink.RouteSubscribe(ch, done); err != nil {
		t.Fatal(err)
	}
	f()
	sentinel, peer := netip.MustParsePrefix("10.254.254.0/24"), Iface{Name: i.Name + "p"}
	if err := peer.SetRoutes([]netip.Prefix{sentinel}); err != nil {
		t.Fatal(err)
	}
	l, err := netlink.LinkByName(i.Name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for u := range ch {
		p, _ := dst(u.Route)
		if p == sentinel {
			break
		}
		if u.LinkIndex == l.Attrs().Index && managed(u.Route, l.Attrs().Index) {
			sign := "+"
			if u.Type == unix.RTM_DELROUTE {
				sign = "-"
			}
			out = append(out, sign+p.String())
		}
	}
	if err := peer.SetRoutes(nil); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestSetRoutesByDifference(t *testing.T) {
	netns(t)
	i := veth(t, "ov0")
	set := func(s ...string) func() {
		return func() {
			if err := i.SetRoutes(prefixes(s...)); err != nil {
				t.Fatal(err)
			}
		}
	}
	set("10.2.0.0/24", "fd02::/48", "192.168.50.0/24")()
	if got := routeChanges(t, i, set("10.2.0.0/24", "fd02::/48", "192.168.50.0/24")); len(got) != 0 {
		t.Errorf("the same routes again changed %v, want nothing", got)
	}
	got := routeChanges(t, i, set("10.2.0.0/24", "10.3.0.0/16", "fd02::/48"))
	if want := []string{"+10.3.0.0/16", "-192.168.50.0/24"}; !slices.Equal(got, want) {
		t.Errorf("changes %v, want only %v", got, want)
	}
}

// TestSetAddrsUsableAtOnce: on an interface without ARP (as a tun is),
// IPv6 addresses are in use when SetAddrs returns: not tentative, and
// with the local route that delivers packets to them.
func TestSetAddrsUsableAtOnce(t *testing.T) {
	netns(t)
	i, l := noARP(t, "ov0")
	for round, addrs := range [][]netip.Prefix{prefixes("fd77::1/64", "fd78::1/64"), prefixes("fd77::2/64")} {
		if err := i.SetAddrs(addrs); err != nil {
			t.Fatal(err)
		}
		as, err := netlink.AddrList(l, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Flags&unix.IFA_F_TENTATIVE != 0 && !a.IP.IsLinkLocalUnicast() { // the kernel's own goes through DAD
				t.Errorf("round %d: %v still tentative", round, a.IPNet)
			}
		}
		checkLocal(t, fmt.Sprintf("round %d", round), addrs)
	}
}

// TestSetAddrsBeforeUp: addresses set on an interface that is down (as
// `ovpn up` does before it sets it up) are in use when Up returns, and
// SetAddrs does not wait for what the kernel does only at up.
func TestSetAddrsBeforeUp(t *testing.T) {
	netns(t)
	i, l := noARP(t, "ov0")
	if err := netlink.LinkSetDown(l); err != nil {
		t.Fatal(err)
	}
	addrs := prefixes("fd77::1/64", "10.77.0.1/24")
	start := time.Now()
	if err := i.SetAddrs(addrs); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("SetAddrs on a down interface took %v", took)
	}
	if err := i.Up(); err != nil {
		t.Fatal(err)
	}
	checkLocal(t, "after Up", addrs)
}

// noARP makes a veth pair (see veth) with ARP off on name, as a tun has.
func noARP(t *testing.T, name string) (Iface, netlink.Link) {
	t.Helper()
	i := veth(t, name)
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetARPOff(l); err != nil {
		t.Fatal(err)
	}
	return i, l
}

// checkLocal checks that packets to each address are delivered locally.
func checkLocal(t *testing.T, when string, addrs []netip.Prefix) {
	t.Helper()
	for _, p := range addrs {
		rs, err := netlink.RouteGet(p.Addr().AsSlice())
		if err != nil || len(rs) == 0 || rs[0].Type != unix.RTN_LOCAL {
			t.Errorf("%s: packets to %s are not delivered locally: %v %v", when, p.Addr(), rs, err)
		}
	}
}

// TestRoutedElsewhere: an address of this host, or one another interface
// routes (not by a default route), would be taken over by a host route
// through ours; one that only the default route or our own routes cover
// would not.
func TestRoutedElsewhere(t *testing.T) {
	netns(t)
	i, lan := veth(t, "ov0"), veth(t, "lan0")
	if err := lan.SetAddrs(prefixes("10.8.0.1/24", "fd08::1/64")); err != nil {
		t.Fatal(err)
	}
	if err := i.SetAddrs(prefixes("10.77.0.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := i.SetRoutes(prefixes("10.2.0.0/24")); err != nil {
		t.Fatal(err)
	}
	l, err := lan.link()
	if err != nil {
		t.Fatal(err)
	}
	def := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: netip.MustParseAddr("10.8.0.254").AsSlice()}
	if err := netlink.RouteAdd(def); err != nil {
		t.Fatalf("default route: %v", err)
	}
	for addr, want := range map[string]string{
		"10.8.0.1":   "10.8.0.1 is an address of this host",
		"10.77.0.1":  "10.77.0.1 is an address of this host",
		"10.8.0.254": "10.8.0.254 is routed through lan0 (10.8.0.0/24)",
		"fd08::53":   "fd08::53 is routed through lan0 (fd08::/64)",
		"10.2.0.5":   "", // routed through ov0 itself
		"10.77.0.9":  "", // ov0's own subnet
		"192.0.2.1":  "", // only the default route
	} {
		got, err := i.RoutedElsewhere(netip.MustParseAddr(addr))
		if err != nil || got != want {
			t.Errorf("RoutedElsewhere(%s) = %q, %v; want %q", addr, got, err, want)
		}
	}
}
