// Package config reads an ovpn link's configuration file (TOML, with OVPN_*
// environment overrides) into a checked Link. Every option's name, kind,
// range, default and help live in one table (Options) from which the
// loader, `ovpn check`, `ovpn --help` and docs/ovpn.md's reference derive.
package config

// Skeleton of the contract; the implementation replaces the bodies.

import (
	"errors"
	"net/netip"
	"time"

	"o7s.dev/ouroboros/overlay/wire"
)

// Dir is where a bare link name's file lives: NAME means Dir/NAME.toml.
const Dir = "/etc/ouroboros/ovpn"

// StateDir is where a link's state (leases) is kept by default.
const StateDir = "/var/lib/ouroboros/ovpn"

// Link is one checked link configuration.
type Link struct {
	File         string // the file it was read from
	Link         string // the link's name: the file's base name without .toml
	Name         string // this endpoint's Ouroboros name
	Layer        string // the layer name is registered in and peers are reached through
	Authenticate bool   // peers' names must be proven (default true)
	Interface    Interface
	Peers        []Peer
	Accept       Accept
	StateDir     string // leases file: StateDir/LINK.leases
}

// Interface is the [interface] section.
type Interface struct {
	Device    string         // interface name (default "ovpn0"... see Options)
	Mode      wire.Mode      // wire.Tun or wire.Tap
	Address   []netip.Prefix // empty: ask a peer's pool
	MTU       int            // 0: derived from the flows' MaxSDU
	MSSClamp  bool
	AllowMove bool          // tap
	MACAge    time.Duration // tap
}

// Peer is one [[peer]] entry.
type Peer struct {
	Name        string
	Routes      []netip.Prefix
	Fingerprint string // pinned certificate fingerprint; "": prove by CA
}

// Accept is the [accept] section.
type Accept struct {
	Names []string       // glob patterns of proven names (path.Match syntax)
	Pool  []netip.Prefix // at most one IPv4 and one IPv6 prefix
	Lease time.Duration  // lease lifetime; 0: pool.DefaultLease
}

// Path turns `ovpn up CONFIG`'s argument into a file path: a bare name
// (no slash, no .toml) is Dir/NAME.toml.
func Path(arg string) string { return arg }

// Load reads and checks the file at path. Errors name the file and the key.
func Load(path string) (*Link, error) { return nil, errors.New("config: not implemented yet") }

// Plan describes, one line per action, what `ovpn up` would do.
func (l *Link) Plan() []string { return nil }
