// Package netcfg sets an interface's addresses and routes through netlink
// (github.com/vishvananda/netlink), for the ovpn command: what `ovpn up`
// adds, `ovpn down` removes, and `ovpn reload` changes by difference.
package netcfg

// Skeleton of the contract; the implementation replaces the bodies.

import (
	"errors"
	"net/netip"
)

var errTODO = errors.New("netcfg: not implemented yet")

// Iface is one interface, by name, in the calling thread's network namespace.
type Iface struct{ Name string }

// Up sets the interface up.
func (i Iface) Up() error { return errTODO }

// SetAddrs makes the interface's addresses exactly addrs (each with its
// prefix length: the kernel adds the connected route), adding what is
// missing and removing what is not listed (IPv6 link-local addresses are
// kept). Errors name the interface and the address.
func (i Iface) SetAddrs(addrs []netip.Prefix) error { return errTODO }

// SetRoutes makes the routes through the interface exactly routes (besides
// the kernel's connected and link-local routes): missing ones are added,
// others removed. A prefix already routed through another interface is an
// error naming both, and nothing is changed for it.
func (i Iface) SetRoutes(routes []netip.Prefix) error { return errTODO }

// Routes returns the routes through the interface that SetRoutes manages.
func (i Iface) Routes() ([]netip.Prefix, error) { return nil, errTODO }
