package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
)

// SetAddrs makes the interface's addresses exactly addrs (each with its
// prefix length: the kernel adds the connected route), adding what is
// missing and removing what is not listed (IPv6 link-local addresses are
// kept). Errors name the interface and the address.
//
// An address listed with another prefix length than it has is replaced.
// Removals come first, and what is missing is computed again after them:
// removing a primary IPv4 address can take its secondaries with it.
// IPv6 addresses go through duplicate address detection as the kernel
// does it for the interface (none on a tun, which has no link layer).
func (i Iface) SetAddrs(addrs []netip.Prefix) error {
	if err := check("address", addrs); err != nil {
		return err
	}
	l, err := i.link()
	if err != nil {
		return err
	}
	have, err := i.addrs(l)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range have {
		if p, _ := prefix(a.IPNet); !slices.Contains(addrs, p) {
			if err := netlink.AddrDel(l, &a); err != nil {
				errs = append(errs, fmt.Errorf("netcfg: %s: remove address %s: %w", i.Name, p, err))
			}
		}
	}
	if have, err = i.addrs(l); err != nil {
		return err
	}
	for _, p := range addrs {
		if slices.ContainsFunc(have, func(a netlink.Addr) bool { q, _ := prefix(a.IPNet); return q == p }) {
			continue
		}
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: ipnet(p)}); err != nil {
			errs = append(errs, fmt.Errorf("netcfg: %s: add address %s: %w", i.Name, p, err))
		}
		have = append(have, netlink.Addr{IPNet: ipnet(p)}) // listed twice: added once
	}
	return errors.Join(errs...)
}

// Addrs returns the interface's addresses that SetAddrs manages: all but
// IPv6 link-local ones.
func (i Iface) Addrs() ([]netip.Prefix, error) {
	l, err := i.link()
	if err != nil {
		return nil, err
	}
	have, err := i.addrs(l)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(have))
	for _, a := range have {
		p, _ := prefix(a.IPNet)
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefix)
	return out, nil
}

// addrs lists the interface's managed addresses.
func (i Iface) addrs(l netlink.Link) ([]netlink.Addr, error) {
	all, err := retry(func() ([]netlink.Addr, error) { return netlink.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("netcfg: list addresses of %s: %w", i.Name, err)
	}
	return slices.DeleteFunc(all, func(a netlink.Addr) bool {
		p, ok := prefix(a.IPNet)
		return !ok || p.Addr().Is6() && p.Addr().IsLinkLocalUnicast()
	}), nil
}

// comparePrefix orders IPv4 before IPv6, then by address and length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
