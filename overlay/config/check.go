package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"o7s.dev/ouroboros/overlay/wire"
)

// minMTU6 is the least MTU of an interface with IPv6 (RFC 8200).
const minMTU6 = 1280

// check applies the rules between options, once each value is read; given
// holds the Refs of the options the file or environment set.
func (ld *loader) check(l *Link, given map[string]bool) {
	ld.checkInterface(l, given)
	ld.checkPeers(l)
	ld.checkAccept(l, given)
	ld.checkDNS(l)
	ld.checkPublish(l)
	switch {
	case len(l.Interface.Address) == 0 && len(l.Peers) == 0:
		ld.fail("[interface] address", "", errors.New("empty, so the link asks a peer's pool for one, but there is no [[peer]] to ask; give an address, or a [[peer]]"))
	case len(l.Peers) == 0 && len(l.Accept.Names) == 0:
		ld.fail("[[peer]]", "", errors.New("none, and no [accept] names: nobody could connect; add a [[peer]], or [accept] names"))
	}
}

// checkInterface fills in the device and checks the keys that depend on
// the mode and the addresses.
func (ld *loader) checkInterface(l *Link, given map[string]bool) {
	in := &l.Interface
	if in.Device == "" {
		if err := checkDevice(l.Link); err != nil {
			ld.fail("[interface] device", "", fmt.Errorf("not set, and the link's name %q is not an interface name (at most 15 bytes); set it", l.Link))
		}
		in.Device = l.Link
	}
	if in.Mode != wire.Tap {
		for _, k := range []string{"[interface] allow_move", "[interface] mac_age"} {
			if given[k] {
				ld.fail(k, "", errors.New(`only for mode = "tap"`))
			}
		}
	}
	if in.MTU != 0 && in.MTU < minMTU6 && (hasV6(in.Address) || hasV6(l.Accept.Pool)) {
		ld.fail("[interface] mtu", "", fmt.Errorf("%d: IPv6 needs at least %d; raise it, or use 0 (derived)", in.MTU, minMTU6))
	}
}

// checkPeers checks the peers' names and routes against each other and
// the interface.
func (ld *loader) checkPeers(l *Link) {
	names := make(map[string]int)
	owner := make(map[netip.Prefix]int) // route → index of its peer
	for i, p := range l.Peers {
		ref := "[[peer]] " + strconv.Itoa(i+1)
		if j, dup := names[p.Name]; dup {
			ld.fail(ref+" name", "", fmt.Errorf("%q is also [[peer]] %d", p.Name, j+1))
		}
		names[p.Name] = i
		if p.Name == l.Name {
			ld.fail(ref+" name", "", fmt.Errorf("%q is this endpoint's own name", p.Name))
		}
		if len(p.Routes) > 0 && l.Interface.Mode == wire.Tap {
			ld.fail(ref+" routes", "", errors.New(`only for mode = "tun": a tap link carries Ethernet frames, routed by MAC`))
		}
		for _, r := range p.Routes {
			if j, dup := owner[r]; dup {
				ld.fail(ref+" routes", "", fmt.Errorf("%s is also a route of peer %q ([[peer]] %d); a prefix belongs to one peer", r, l.Peers[j].Name, j+1))
				continue
			}
			owner[r] = i
			if a, own := subnetOf(l.Interface.Address, r); own {
				ld.fail(ref+" routes", "", fmt.Errorf("%s is the interface's own subnet (address %s), routed through it already", r, a))
			}
			if pf, in := overlapping(l.Accept.Pool, r); in {
				ld.fail(ref+" routes", "", fmt.Errorf("%s overlaps the [accept] pool %s", r, pf))
			}
		}
	}
}

// checkAccept checks the pool against the interface's addresses.
func (ld *loader) checkAccept(l *Link, given map[string]bool) {
	var fam [2]netip.Prefix
	for _, pf := range l.Accept.Pool {
		f := family(pf.Addr())
		if fam[f].IsValid() {
			ld.fail("[accept] pool", "", fmt.Errorf("%s and %s: at most one prefix per address family", fam[f], pf))
			continue
		}
		fam[f] = pf
		if pf.Bits() > pf.Addr().BitLen()-2 {
			ld.fail("[accept] pool", "", fmt.Errorf("%s holds no address to hand out; want a /%d or shorter", pf, pf.Addr().BitLen()-2))
			continue
		}
		var inside bool
		for _, a := range l.Interface.Address {
			if pf.Contains(a.Addr()) {
				ld.fail("[accept] pool", "", fmt.Errorf("%s holds the interface's own address %s; make the pool a part of the subnet without it", pf, a.Addr()))
			}
			inside = inside || (a.Bits() <= pf.Bits() && a.Contains(pf.Addr()))
		}
		if !inside {
			ld.fail("[accept] pool", "", fmt.Errorf("%s is inside no subnet of [interface] address; a client needs the pool within this end's subnet to reach its tunnel address", pf))
		}
	}
	if given["[accept] lease"] && len(l.Accept.Pool) == 0 {
		ld.fail("[accept] lease", "", errors.New("set, but there is no [accept] pool to lease from"))
	}
}

// subnetOf reports whether r is the subnet of one of addrs, and which.
func subnetOf(addrs []netip.Prefix, r netip.Prefix) (netip.Prefix, bool) {
	for _, a := range addrs {
		if a.Masked() == r {
			return a, true
		}
	}
	return netip.Prefix{}, false
}

// overlapping returns the prefix of pfs that overlaps r, if any.
func overlapping(pfs []netip.Prefix, r netip.Prefix) (netip.Prefix, bool) {
	for _, pf := range pfs {
		if pf.Overlaps(r) {
			return pf, true
		}
	}
	return netip.Prefix{}, false
}

// hasV6 reports whether pfs holds an IPv6 prefix.
func hasV6(pfs []netip.Prefix) bool {
	for _, p := range pfs {
		if p.Addr().Is6() {
			return true
		}
	}
	return false
}

// family is 0 for IPv4, 1 for IPv6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}
