package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"o7s.dev/ouroboros/overlay/wire"
)

// tunOnly says why [dns] and [[publish]] need a tun link.
const tunOnly = `only for mode = "tun": names are answered with addresses routed through a peer, and a tap link bridges Ethernet frames by MAC, with no routes`

// checkDNS checks [dns] against the mode and its addresses against each
// other.
func (ld *loader) checkDNS(l *Link) {
	d := l.DNS
	if d == nil {
		return
	}
	if l.Interface.Mode == wire.Tap {
		ld.fail("[dns]", "", errors.New(tunOnly))
	}
	for _, u := range d.Upstream {
		switch {
		case u.Addr().IsUnspecified():
			ld.fail("[dns] upstream", "", fmt.Errorf("%s: the unspecified address; give a resolver's address", u))
		case slices.Contains(d.Listen, u):
			ld.fail("[dns] upstream", "", fmt.Errorf("%s is also in [dns] listen: the bridge would forward queries to itself", u))
		}
	}
}

// checkPublish checks the [[publish]] entries' names and addresses
// against each other, this end's name and addresses, and the peers.
func (ld *loader) checkPublish(l *Link) {
	if len(l.Publish) > 0 && l.Interface.Mode == wire.Tap {
		ld.fail("[[publish]]", "", errors.New(tunOnly))
	}
	names := make(map[string]int)
	owner := make(map[netip.Addr]int) // address → index of its entry
	for i, p := range l.Publish {
		ref := "[[publish]] " + strconv.Itoa(i+1)
		if j, dup := names[p.Name]; dup {
			ld.fail(ref+" name", "", fmt.Errorf("%q is also [[publish]] %d", p.Name, j+1))
		}
		names[p.Name] = i
		switch {
		case p.Name == l.Name:
			ld.fail(ref+" name", "", fmt.Errorf("%q is this endpoint's own name", p.Name))
		case l.Peer(p.Name) != nil:
			ld.fail(ref+" name", "", fmt.Errorf("%q is the name of a [[peer]]: that endpoint registers it itself", p.Name))
		}
		for _, a := range p.Address {
			if j, dup := owner[a]; dup {
				ld.fail(ref+" address", "", fmt.Errorf("%s is also an address of %q ([[publish]] %d); an address belongs to one host", a, l.Publish[j].Name, j+1))
				continue
			}
			owner[a] = i
			if err := hostOutside(l, a); err != nil {
				ld.fail(ref+" address", "", err)
			}
		}
	}
}

// hostOutside says why a published address cannot be a host behind this
// end: it is this end's own, on the tunnel's subnet, or behind a peer.
func hostOutside(l *Link, a netip.Addr) error {
	for _, own := range l.Interface.Address {
		switch {
		case own.Addr() == a:
			return fmt.Errorf("%s is this end's own tunnel address, answered as %q already", a, l.Name)
		case own.Contains(a):
			return fmt.Errorf("%s is inside the tunnel's subnet %s: hosts there are reached through the link, not behind this end", a, own.Masked())
		}
	}
	for _, p := range l.Peers {
		for _, r := range p.Routes {
			if r.Contains(a) {
				return fmt.Errorf("%s is inside %s, a route of peer %q: that host is behind the peer, not behind this end", a, r, p.Name)
			}
		}
	}
	return nil
}
