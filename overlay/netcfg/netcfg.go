// Package netcfg sets an interface's addresses and routes through netlink
// (github.com/vishvananda/netlink), for the ovpn command: what `ovpn up`
// adds, `ovpn down` removes, and `ovpn reload` changes by difference.
//
// Every call works on the network namespace of the calling thread: a caller
// that switches namespaces locks its goroutine to the thread first. Calls
// are idempotent: a second call with the same arguments changes nothing.
package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Iface is one interface, by name, in the calling thread's network namespace.
type Iface struct{ Name string }

// dumpRetries bounds the retries of a netlink dump that the kernel
// interrupted because the table changed while it was read.
const dumpRetries = 5

// link looks the interface up, with an error naming it.
func (i Iface) link() (netlink.Link, error) {
	l, err := netlink.LinkByName(i.Name)
	if err != nil {
		return nil, fmt.Errorf("netcfg: interface %q: %w", i.Name, err)
	}
	return l, nil
}

// Up sets the interface up.
//
// If it is running then (a tun has a carrier while its device is open),
// Up returns once the IPv6 addresses SetAddrs added without duplicate
// address detection are in use, as SetAddrs does for a running interface.
func (i Iface) Up() error {
	l, err := i.link()
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("netcfg: set %s up: %w", i.Name, err)
	}
	if l, err = i.link(); err != nil || !ready(l) {
		return err
	}
	addrs, err := i.noDAD(l)
	if err != nil {
		return err
	}
	return i.waitLocal(addrs)
}

// retry runs a netlink dump again while the kernel reports it interrupted.
func retry[T any](dump func() ([]T, error)) ([]T, error) {
	for range dumpRetries - 1 {
		v, err := dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return dump()
}

// prefix converts a netlink address or destination; ok is false for nil.
func prefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if bits != a.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

// ipnet converts a prefix for netlink, keeping the address's host bits (an
// interface address is one host in its prefix).
func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// check refuses invalid prefixes and IPv4-mapped IPv6 ones, which the
// kernel would take for IPv4, naming what the list is for.
func check(what string, ps []netip.Prefix) error {
	for _, p := range ps {
		if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return fmt.Errorf("netcfg: %s %q: not an IPv4 or IPv6 prefix", what, p)
		}
	}
	return nil
}
