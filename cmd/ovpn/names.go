package main

// The link's names for the DNS bridge (resolver.Names): what a query for
// NAME.DOMAIN is answered from.
//
//	NAME is ─► this end's name: its tunnel addresses
//	        ─► one of its [[publish]] names: that host's addresses
//	        ─► a peer that is up: its tunnel addresses
//	        ─► a published name learned on demand, its gateway up: its addresses
//	        ─► else, [dns] on_demand: a flow to NAME now (ondemand.go)

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/resolver"
)

// dnsEntry is one name the bridge answered from a flow it set up on
// demand, as `ovpn status` shows it.
type dnsEntry struct {
	Name string `json:"name"`
	// Gateway is the endpoint that publishes Name for a host behind it;
	// "" when Name is an ovpn endpoint itself.
	Gateway string       `json:"gateway,omitempty"`
	Addrs   []netip.Addr `json:"addresses"`
	Since   time.Time    `json:"since"`
}

// dnsRefusal is a recent lookup a name refused, and why.
type dnsRefusal struct {
	Name   string    `json:"name"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// dnsNames answers the bridge's questions from the link: this end, its
// [[publish]] hosts, the peers that are up, and (on demand) any name in
// the layer that admits this end. It implements resolver.Names. It keeps
// no state of its own: what it learns on demand is the daemon's (d.od), so
// that any number of dnsNames of one daemon agree.
type dnsNames struct {
	d *daemon
}

// newDNSNames returns the names of d's link.
func newDNSNames(d *daemon) *dnsNames { return &dnsNames{d: d} }

var _ resolver.Names = (*dnsNames)(nil)

// Lookup implements resolver.Names: the addresses of name, from what is up
// or, with [dns] on_demand, from a flow set up to it now. Errors wrap
// resolver.ErrNoName (the layer has no such name) or resolver.ErrRefused
// (the name refused this end, or on_demand is off).
func (n *dnsNames) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	if addrs, ok := n.d.known(name); ok {
		return addrs, nil
	}
	if name == "" || strings.ContainsFunc(name, unicode.IsControl) {
		// No name holds them; and the lookups of gateways (gatewayKey)
		// are keyed by one.
		return nil, fmt.Errorf("%w: %q: no name is empty or holds control characters", resolver.ErrNoName, name)
	}
	if !onDemandOn(n.d.config()) {
		return nil, fmt.Errorf("%w: no flow to %s, and [dns] on_demand is false", resolver.ErrRefused, name)
	}
	return n.d.od.lookup(ctx, n.d, name)
}

// Reverse implements resolver.Names: the name that holds addr among this
// end, its [[publish]] hosts, the peers that are up and the published
// names learned.
func (n *dnsNames) Reverse(addr netip.Addr) (string, bool) {
	addr = addr.Unmap()
	cfg := n.d.config()
	st := n.d.link.Status()
	if slices.ContainsFunc(st.Addrs, func(p netip.Prefix) bool { return p.Addr() == addr }) {
		return cfg.Name, true
	}
	for _, p := range cfg.Publish {
		if slices.Contains(p.Address, addr) {
			return p.Name, true
		}
	}
	for _, p := range st.Peers {
		if slices.ContainsFunc(p.Addrs, func(a netip.Prefix) bool { return a.Addr() == addr }) {
			return p.Name, true
		}
	}
	return n.d.od.reverse(addr)
}

// entries lists the names answered on demand whose flows are up.
func (n *dnsNames) entries() []dnsEntry { return n.d.od.entries(n.d.link) }

// refusals lists the latest refusals, newest first.
func (n *dnsNames) refusals() []dnsRefusal { return n.d.od.refusalList() }

// known returns the addresses of name from what this end knows without
// setting anything up: its own name, its [[publish]] names, the peers that
// are up, and the published names learned whose gateway is up.
func (d *daemon) known(name string) ([]netip.Addr, bool) {
	cfg := d.config()
	if name == cfg.Name {
		return hostAddrs(d.link.Status().Addrs), true
	}
	for _, p := range cfg.Publish {
		if p.Name == name {
			return slices.Clone(p.Address), true
		}
	}
	if p := d.link.Peer(name); p != nil {
		return d.routedAddrs(p.Status()), true
	}
	return d.od.learnedAddrs(d.link, name)
}

// routedAddrs returns the tunnel addresses of a peer that this end routes
// to it: those in this end's subnets and those in the peer's routes. The
// others are claims the engine does not route: an answer with them would
// send the client nowhere.
func (d *daemon) routedAddrs(p link.PeerStatus) []netip.Addr {
	own := d.link.Status().Addrs
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Masked().Contains(a) })
	}
	out := make([]netip.Addr, 0, len(p.Addrs))
	for _, a := range p.Addrs {
		if in(own, a.Addr()) || in(p.Routes, a.Addr()) {
			out = append(out, a.Addr())
		}
	}
	return out
}

// hostAddrs returns the addresses of prefixes, without their lengths.
func hostAddrs(ps []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Addr())
	}
	return out
}

// onDemandOn says whether a lookup may set a flow up: [dns] on_demand,
// true when the section is absent (the names are then only used by tests
// and by the published answers).
func onDemandOn(cfg *config.Link) bool { return cfg.DNS == nil || cfg.DNS.OnDemand }
