package main

// A published name's answer, at the end that looked it up (docs/ovpn.md,
// "Publishing legacy hosts"): the flow to the name reached an endpoint
// that publishes it for a host behind it, and its hello says so (Gateway).
//
//	checkAnswer: the name dialled, proven (authenticate), private host addresses
//	learn: the gateway up (a peer, or dialled on demand)
//	       ─► no address held by another peer or in this end's subnets
//	       ─► the addresses routed through the gateway: engine and kernel

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/resolver"
	"o7s.dev/ouroboros/stack/flow"
)

// checkAnswer checks what a published name's answer h, on a flow dialled
// to name, says by itself: it is for name, proven (authentication on: the
// gateway's irmd presented a certificate for name that a CA of this host
// trusts), and gives private host addresses behind a gateway that is
// neither name nor this end, and whose name a lookup could dial. learn
// checks the rest against the routes.
func checkAnswer(cfg *config.Link, name string, proof flow.Peer, h link.Hello) (*dnsEntry, error) {
	switch {
	case h.Name != name:
		return nil, fmt.Errorf("dialled %s, but the answer is for %s", name, h.Name)
	case cfg.Authenticate && proof.Name != name:
		return nil, fmt.Errorf("the answer for %s is not proven: its gateway presented no certificate for %s that a CA of this host trusts (irmd.conf [name.%q] on the gateway)",
			name, name, name)
	case h.Gateway == name || h.Gateway == cfg.Name:
		return nil, fmt.Errorf("the answer for %s names %s as its gateway", name, h.Gateway)
	case strings.ContainsFunc(h.Gateway, unicode.IsControl):
		// The gateway is dialled by this name: no lookup allocates one
		// with control characters (names.go), nor does an answer.
		return nil, fmt.Errorf("the answer for %s names a gateway with control characters, %q", name, h.Gateway)
	case cfg.Interface.Mode != wire.Tun:
		return nil, fmt.Errorf("%s is a published host: routing to it needs [interface] mode = \"tun\"", name)
	case len(h.Addrs) == 0:
		return nil, fmt.Errorf("the answer for %s gives no address", name)
	}
	addrs := make([]netip.Addr, 0, len(h.Addrs))
	for _, a := range h.Addrs {
		switch addr := a.Addr().Unmap(); {
		case a.Bits() != addr.BitLen():
			return nil, fmt.Errorf("the answer for %s gives %s, not a host address", name, a)
		case !addr.IsPrivate():
			return nil, fmt.Errorf("the answer for %s gives %s, which is not a private address (10/8, 172.16/12, 192.168/16, fc00::/7): a published host may not take a public address over", name, addr)
		default:
			addrs = append(addrs, addr)
		}
	}
	return &dnsEntry{Name: name, Gateway: h.Gateway, Addrs: addrs}, nil
}

// gatewayKey is the key of the lookup of a gateway in onDemand.calls: a
// byte no name has, so that it never joins the lookup of a name (which
// may learn a published name and wait for its gateway: a cycle).
const gatewayKey = "\x00gateway "

// learn makes a published name's answer e usable: its gateway up, its
// addresses routed through the gateway. It returns the addresses.
func (d *daemon) learn(ctx context.Context, name string, e dnsEntry) ([]netip.Addr, error) {
	g := e.Gateway
	if d.link.Peer(g) == nil {
		_, err := d.od.do(ctx, gatewayKey+g, func() ([]netip.Addr, error) { return d.resolveGateway(g) })
		if errors.Is(err, resolver.ErrRefused) {
			return nil, d.refusal(name, fmt.Errorf("published by %s, which refused this end: %v", g, err))
		}
		if err != nil {
			return nil, fmt.Errorf("%s is published by %s, which cannot be reached: %v", name, g, err)
		}
	}
	d.od.routeMu.Lock()
	defer d.od.routeMu.Unlock()
	cfg := d.config()
	gp := d.link.Peer(g)
	if gp == nil {
		return nil, fmt.Errorf("%s is published by %s, whose flow ended just now", name, g)
	}
	if err := d.overlap(cfg, e); err != nil {
		return nil, d.refusal(name, err)
	}
	e.Since = time.Now()
	d.od.mu.Lock()
	old, had := d.od.published[name]
	d.od.published[name] = e
	d.od.mu.Unlock()
	if err := d.link.Update([]link.PeerConfig{d.gatewayConfig(cfg, g)}); err != nil {
		d.od.mu.Lock()
		if had {
			d.od.published[name] = old
		} else {
			delete(d.od.published, name)
		}
		d.od.mu.Unlock()
		return nil, fmt.Errorf("cannot route %s through %s: %w", name, g, err)
	}
	d.watchPeer(gp, g)
	d.applyKernelRoutes()
	return slices.Clone(e.Addrs), nil
}

// resolveGateway sets up a flow to the gateway g of a published name: an
// endpoint, admitted as any name on demand; an answer for a published
// name is refused.
func (d *daemon) resolveGateway(g string) ([]netip.Addr, error) {
	if p := d.link.Peer(g); p != nil {
		return hostAddrs(p.Status().Addrs), nil
	}
	ctx, cancel := context.WithTimeout(d.ctx, allocTimeout+helloTimeout)
	defer cancel()
	return d.dialOnDemand(ctx, g, false)
}

// overlap says why e's addresses may not be routed through its gateway:
// one lies in this end's subnets, is a host this end publishes, is held
// by another peer (up, or a [[peer]] entry), is published by another
// gateway, is an address of this host or is routed through another of its
// interfaces.
func (d *daemon) overlap(cfg *config.Link, e dnsEntry) error {
	st := d.link.Status()
	holds := func(ps []netip.Prefix, a netip.Addr) (netip.Prefix, bool) {
		for _, p := range ps {
			if p.Masked().Contains(a) {
				return p, true
			}
		}
		return netip.Prefix{}, false
	}
	for _, a := range e.Addrs {
		if p, ok := holds(st.Addrs, a); ok {
			return fmt.Errorf("the answer gives %s, in this end's subnet %s", a, p.Masked())
		}
		for _, peer := range st.Peers {
			if peer.Name == e.Gateway {
				continue
			}
			if p, ok := holds(peer.Routes, a); ok {
				return fmt.Errorf("the answer gives %s, which peer %s holds (%s)", a, peer.Name, p)
			}
			if slices.ContainsFunc(peer.Addrs, func(p netip.Prefix) bool { return p.Addr() == a }) {
				return fmt.Errorf("the answer gives %s, the tunnel address of peer %s", a, peer.Name)
			}
		}
		for _, peer := range cfg.Peers {
			if p, ok := holds(peer.Routes, a); ok && peer.Name != e.Gateway {
				return fmt.Errorf("the answer gives %s, in the routes of [[peer]] %s (%s)", a, peer.Name, p)
			}
		}
		if pub := ownPublished(cfg, a); pub != "" {
			return fmt.Errorf("the answer gives %s, the address of %s, a host behind this end ([[publish]])", a, pub)
		}
		if other, ok := d.od.publishedElsewhere(e, a); ok {
			return fmt.Errorf("the answer gives %s, which %s publishes as %s", a, other.Gateway, other.Name)
		}
		// The host's own routes: a /32 through the tunnel would beat the
		// LAN's route to its router or resolver, and take them over.
		why, err := d.routedElsewhere(a)
		if err != nil {
			return fmt.Errorf("cannot check the host's routes for %s: %w", a, err)
		}
		if why != "" {
			return fmt.Errorf("the answer gives %s: %s", a, why)
		}
	}
	return nil
}

// ownPublished returns the [[publish]] name of cfg whose host has a, or
// "": a host behind this end is reached on its LAN, not through a peer.
func ownPublished(cfg *config.Link, a netip.Addr) string {
	for _, p := range cfg.Publish {
		if slices.Contains(p.Address, a) {
			return p.Name
		}
	}
	return ""
}

// publishedElsewhere returns a published name learned, other than e's,
// that has a through another gateway.
func (o *onDemand) publishedElsewhere(e dnsEntry, a netip.Addr) (dnsEntry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, x := range o.published {
		if x.Name != e.Name && x.Gateway != e.Gateway && slices.Contains(x.Addrs, a) {
			return x, true
		}
	}
	return dnsEntry{}, false
}

// gatewayConfig is the engine's configuration of the peer g: its [[peer]]
// routes and the published addresses learned through it.
func (d *daemon) gatewayConfig(cfg *config.Link, g string) link.PeerConfig {
	pc := link.PeerConfig{Name: g, Lease: len(cfg.Accept.Pool) > 0}
	if p := cfg.Peer(g); p != nil {
		pc.Routes = slices.Clone(p.Routes)
	}
	pc.Routes = append(pc.Routes, d.od.routesVia(g, cfg)...)
	return pc
}

// routesVia lists the host prefixes of the published names learned
// through g that its [[peer]] routes do not cover already.
func (o *onDemand) routesVia(g string, cfg *config.Link) []netip.Prefix {
	var own []netip.Prefix
	if p := cfg.Peer(g); p != nil {
		own = p.Routes
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []netip.Prefix
	for _, e := range o.published {
		if e.Gateway != g {
			continue
		}
		for _, a := range e.Addrs {
			covered := slices.ContainsFunc(own, func(p netip.Prefix) bool { return p.Masked().Contains(a) })
			if h := netip.PrefixFrom(a, a.BitLen()); !covered && !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}
