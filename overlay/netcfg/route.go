package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// SetRoutes makes the routes through the interface exactly routes (besides
// the kernel's connected and link-local routes): missing ones are added,
// others removed. A prefix already routed through another interface is an
// error naming both, and nothing is changed for it.
//
// Routes are looked at in the main table only. Managed routes are the
// unicast ones through the interface that neither the kernel (connected
// prefixes, fe80::/64) nor router advertisements added; new ones are added
// as `ip route add PREFIX dev NAME proto static` would. Host bits of a
// prefix are ignored (10.2.0.7/24 is 10.2.0.0/24). The kernel refuses a
// route through an interface that is down: call Up first.
func (i Iface) SetRoutes(routes []netip.Prefix) error {
	if err := check("route", routes); err != nil {
		return err
	}
	want := make([]netip.Prefix, 0, len(routes))
	for _, p := range routes {
		if p = p.Masked(); !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	l, err := i.link()
	if err != nil {
		return err
	}
	all, err := i.mainTable()
	if err != nil {
		return err
	}
	idx := l.Attrs().Index
	var errs []error
	for _, r := range all {
		if p, ok := dst(r); ok && managed(r, idx) && !slices.Contains(want, p) {
			if err := netlink.RouteDel(&r); err != nil {
				errs = append(errs, fmt.Errorf("netcfg: %s: remove route %s: %w", i.Name, p, err))
			}
		}
	}
	for _, p := range want {
		if err := i.addRoute(l, all, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// addRoute adds p through l unless a route for p goes through l already
// (added by us or the kernel); one through another interface is an error
// naming it.
func (i Iface) addRoute(l netlink.Link, all []netlink.Route, p netip.Prefix) error {
	idx := l.Attrs().Index
	for _, r := range all {
		if q, ok := dst(r); !ok || q != p {
			continue
		}
		other := outIface(r, idx)
		if other == "" && r.LinkIndex == idx {
			return nil // ours already, or the kernel's connected route
		}
		if other != "" {
			return fmt.Errorf("netcfg: route %s for %s: already routed through %s; remove that route or this one from the config", p, i.Name, other)
		}
	}
	r := &netlink.Route{
		LinkIndex: idx,
		Dst:       ipnet(p),
		Protocol:  unix.RTPROT_STATIC,
		Table:     unix.RT_TABLE_MAIN,
	}
	if p.Addr().Is4() {
		r.Scope = netlink.SCOPE_LINK // no gateway: the destination is on the link
	}
	if err := netlink.RouteAdd(r); err != nil {
		return fmt.Errorf("netcfg: %s: add route %s: %w", i.Name, p, err)
	}
	return nil
}

// Routes returns the routes through the interface that SetRoutes manages.
func (i Iface) Routes() ([]netip.Prefix, error) {
	l, err := i.link()
	if err != nil {
		return nil, err
	}
	all, err := i.mainTable()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range all {
		if p, ok := dst(r); ok && managed(r, l.Attrs().Index) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, comparePrefix)
	return out, nil
}

// mainTable lists the main routing table, both families.
func (i Iface) mainTable() ([]netlink.Route, error) {
	all, err := retry(func() ([]netlink.Route, error) { return netlink.RouteList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("netcfg: list routes (for %s): %w", i.Name, err)
	}
	return all, nil
}

// dst returns a route's destination prefix, the default route included.
func dst(r netlink.Route) (netip.Prefix, bool) {
	if r.Dst != nil {
		return prefix(r.Dst)
	}
	switch r.Family {
	case unix.AF_INET:
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), true
	case unix.AF_INET6:
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0), true
	}
	return netip.Prefix{}, false
}

// managed reports whether r is a route SetRoutes owns on interface idx.
func managed(r netlink.Route, idx int) bool {
	if r.LinkIndex != idx || len(r.MultiPath) != 0 || r.Type != unix.RTN_UNICAST {
		return false
	}
	switch r.Protocol {
	case unix.RTPROT_KERNEL, unix.RTPROT_RA:
		return false
	}
	p, ok := dst(r)
	return ok && !(p.Addr().Is6() && p.Addr().IsLinkLocalUnicast())
}

// outIface names the interface r goes out through if that is not idx (any
// next hop of a multipath route), or returns "".
func outIface(r netlink.Route, idx int) string {
	out := []int{r.LinkIndex}
	for _, nh := range r.MultiPath {
		out = append(out, nh.LinkIndex)
	}
	for _, o := range out {
		if o == 0 || o == idx {
			continue
		}
		if l, err := netlink.LinkByIndex(o); err == nil {
			return l.Attrs().Name
		}
		return fmt.Sprintf("interface index %d", o)
	}
	return ""
}

// RoutedElsewhere says why a host route to a through the interface would
// take a over from elsewhere, or returns "": a is an address of this host,
// or a main-table route other than a default route sends it through
// another interface (the host's LAN, its resolver, its router). A /32 or
// /128 through the interface would beat either.
func (i Iface) RoutedElsewhere(a netip.Addr) (string, error) {
	a = a.Unmap()
	own, err := retry(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return "", fmt.Errorf("netcfg: list addresses: %w", err)
	}
	for _, o := range own {
		if ip, ok := netip.AddrFromSlice(o.IP); ok && ip.Unmap() == a {
			return fmt.Sprintf("%s is an address of this host", a), nil
		}
	}
	l, err := i.link()
	if err != nil {
		return "", err
	}
	all, err := i.mainTable()
	if err != nil {
		return "", err
	}
	for _, r := range all {
		p, ok := dst(r)
		if !ok || p.Bits() == 0 || !p.Contains(a) {
			continue
		}
		if out := outIface(r, l.Attrs().Index); out != "" {
			return fmt.Sprintf("%s is routed through %s (%s)", a, out, p), nil
		}
	}
	return "", nil
}
