package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"o7s.dev/ouroboros/overlay/wire"
)

// Plan describes, one line per action, what `ovpn up` would do: the
// interface, the name's registration, each peer with its routes and how it
// is authenticated, and the accept rules with the pool.
func (l *Link) Plan() []string {
	in := &l.Interface
	out := []string{fmt.Sprintf("link %s, from %s", l.Link, l.File)}
	iface := fmt.Sprintf("interface %s: %s", in.Device, in.Mode)
	if len(in.Address) == 0 {
		iface += ", addresses from a peer's pool"
	} else {
		iface += ", addresses " + joined(in.Address)
	}
	if in.MTU == 0 {
		iface += ", mtu derived from the flows' MaxSDU"
	} else {
		iface += ", mtu " + strconv.Itoa(in.MTU)
	}
	if in.MSSClamp {
		iface += ", TCP MSS clamped"
	}
	if in.Mode == wire.Tap {
		iface += fmt.Sprintf(", MACs age after %s", durString(in.MACAge))
		if in.AllowMove {
			iface += " and may move between peers"
		}
	}
	out = append(out, iface)
	out = append(out, fmt.Sprintf("register name %q in layer %q and accept flows for it", l.Name, l.Layer))
	for _, p := range l.Peers {
		line := fmt.Sprintf("peer %q: dial it (raw QoS, encrypted)", p.Name)
		if len(p.Routes) > 0 {
			line += ", routes " + joined(p.Routes)
		}
		out = append(out, line+"; "+l.proof(p))
	}
	out = append(out, l.acceptPlan()...)
	out = append(out, l.publishPlan()...)
	return append(out, l.dnsPlan()...)
}

// proof says how a peer's name is proven.
func (l *Link) proof(p Peer) string {
	switch {
	case !l.Authenticate && p.Fingerprint != "":
		return "not authenticated (authenticate = false; its pinned fingerprint is ignored)"
	case !l.Authenticate:
		return "not authenticated (authenticate = false)"
	case p.Fingerprint != "":
		return "authenticated by the pinned certificate fingerprint " + p.Fingerprint
	}
	return "authenticated by a name certificate from a CA irmd trusts"
}

// acceptPlan describes who may dial in and the pool.
func (l *Link) acceptPlan() []string {
	var out []string
	switch {
	case len(l.Accept.Names) == 0:
		out = append(out, "accept only the peers above")
	case l.Authenticate:
		out = append(out, "accept, besides the peers above, names proven by a CA irmd trusts that match "+quoted(l.Accept.Names))
	default:
		out = append(out, "accept, besides the peers above, names claimed (not proven) that match "+quoted(l.Accept.Names))
	}
	if len(l.Accept.Pool) > 0 {
		out = append(out, fmt.Sprintf("hand out addresses from %s to peers that ask, leases of %s kept in %s",
			joined(l.Accept.Pool), durString(l.Accept.Lease), l.LeaseFile()))
	}
	return out
}

// Warnings returns what `ovpn up` and `ovpn check` warn of: settings that
// load but weaken the link.
func (l *Link) Warnings() []string {
	var out []string
	if !l.Authenticate {
		out = append(out, "authenticate = false: peers' names are taken as claimed, so anyone who can reach this layer can pose as a peer; for labs only")
		for i, p := range l.Peers {
			if p.Fingerprint != "" {
				out = append(out, fmt.Sprintf("[[peer]] %d fingerprint: ignored, as authenticate = false", i+1))
			}
		}
	}
	out = append(out, l.dnsWarnings()...)
	for i, p := range l.Peers {
		for _, r := range p.Routes {
			if r.Bits() == 0 {
				out = append(out, fmt.Sprintf("[[peer]] %d routes: %s sends all %s traffic to %q: the underlay's own packets to the peer must keep a more specific route outside the link",
					i+1, r, familyName(r.Addr()), p.Name))
			}
		}
	}
	return out
}

func familyName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// joined writes xs separated by spaces.
func joined[T fmt.Stringer](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, " ")
}

// quoted writes words quoted, separated by spaces.
func quoted(words []string) string {
	s := make([]string, len(words))
	for i, w := range words {
		s[i] = strconv.Quote(w)
	}
	return strings.Join(s, " ")
}
