package main

// The link's names for the DNS bridge (resolver.Names). Skeleton: the
// on-demand part replaces the bodies below.

import (
	"context"
	"errors"
	"net/netip"
	"time"
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
// the layer that admits this end. It implements resolver.Names.
type dnsNames struct {
	d *daemon
}

// newDNSNames returns the names of d's link.
func newDNSNames(d *daemon) *dnsNames { return &dnsNames{d: d} }

// Lookup implements resolver.Names.
func (n *dnsNames) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	return nil, errors.New("not built yet")
}

// Reverse implements resolver.Names.
func (n *dnsNames) Reverse(addr netip.Addr) (string, bool) { return "", false }

// entries lists the names answered on demand whose flows are up.
func (n *dnsNames) entries() []dnsEntry { return nil }

// refusals lists the latest refusals, newest first.
func (n *dnsNames) refusals() []dnsRefusal { return nil }
