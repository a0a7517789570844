package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
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
// does it for the interface, except on one without ARP (a tun, which has
// no link layer and no neighbours): there the kernel would skip it but
// still leave the address tentative, unusable, until a work queue gets to
// it; such addresses are added without it, and SetAddrs returns once
// packets to them are delivered (their local route is in place) if the
// interface is up and running, or else Up does when it sets it up.
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
	var added []netip.Addr // IPv6 ones to wait for
	for _, p := range addrs {
		if slices.ContainsFunc(have, func(a netlink.Addr) bool { q, _ := prefix(a.IPNet); return q == p }) {
			continue
		}
		a := newAddr(l, p)
		if err := netlink.AddrAdd(l, a); err != nil {
			errs = append(errs, fmt.Errorf("netcfg: %s: add address %s: %w", i.Name, p, err))
		} else if a.Flags&unix.IFA_F_NODAD != 0 {
			added = append(added, p.Addr())
		}
		have = append(have, netlink.Addr{IPNet: ipnet(p)}) // listed twice: added once
	}
	if ready(l) {
		if err := i.waitLocal(added); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ready reports whether l is up and running. SetAddrs waits for the local
// routes only then; on an interface not yet up, Up waits once it has set
// it up, so that nothing waits on what the kernel may leave until then
// (it installs them at once on a down interface in tests, 6.18).
func ready(l netlink.Link) bool {
	const up = unix.IFF_UP | unix.IFF_RUNNING
	return l.Attrs().RawFlags&up == up
}

// localWait bounds how long SetAddrs waits for an IPv6 address to be in
// use; the kernel's work queue takes milliseconds unless the host is very
// busy.
const localWait = 5 * time.Second

// waitLocal waits until packets to each of addrs, IPv6 addresses added
// without duplicate address detection, are delivered locally. The kernel
// marks such an address usable at once, but installs its local route from
// a work queue; until then packets to it are dropped (Ip6InAddrErrors).
func (i Iface) waitLocal(addrs []netip.Addr) error {
	deadline := time.Now().Add(localWait)
	for _, a := range addrs {
		for {
			rs, err := netlink.RouteGet(a.AsSlice())
			if err == nil && len(rs) > 0 && rs[0].Type == unix.RTN_LOCAL {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("netcfg: %s: address %s added but not in use after %v (the kernel has no local route for it)", i.Name, a, localWait)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return nil
}

// noDAD returns the managed IPv6 addresses of l that were added without
// duplicate address detection.
func (i Iface) noDAD(l netlink.Link) ([]netip.Addr, error) {
	have, err := i.addrs(l)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range have {
		if p, _ := prefix(a.IPNet); p.Addr().Is6() && a.Flags&unix.IFA_F_NODAD != 0 {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// newAddr is p as an address to add to l: without duplicate address
// detection where l has no ARP (see SetAddrs).
func newAddr(l netlink.Link, p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: ipnet(p)}
	if p.Addr().Is6() && l.Attrs().RawFlags&unix.IFF_NOARP != 0 {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
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
