// Package config reads an ovpn link's configuration file (TOML, with OVPN_*
// environment overrides) into a checked Link. Every option's name, kind,
// range, default and help live in one table (Options) from which the
// loader, `ovpn check`, `ovpn --help` and docs/ovpn.md's reference derive.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"o7s.dev/ouroboros/overlay/wire"
)

// Dir is where a bare link name's file lives: NAME means Dir/NAME.toml.
const Dir = "/etc/ouroboros/ovpn"

// StateDir is where a link's state (leases) is kept by default.
const StateDir = "/var/lib/ouroboros/ovpn"

// Ext is the extension of a link's file.
const Ext = ".toml"

// maxLink is the longest link name: it names files and sockets.
const maxLink = 64

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
	// DNS is the [dns] section: the DNS bridge runs when it is there
	// (an empty [dns] table too); nil: no bridge.
	DNS *DNS
	// Publish are the [[publish]] entries: hosts behind this endpoint
	// that it registers in Layer under their own names.
	Publish []Publish

	// ignoredEnv are the OVPN_DNS_* variables set while the file has no
	// [dns] table: they start no bridge, and Warnings says so.
	ignoredEnv []string
}

// DNS is the [dns] section: the DNS bridge (package resolver).
type DNS struct {
	// Listen are the addresses served (UDP and TCP); empty: the link's
	// first tunnel address (configured, or the first granted), port 53.
	Listen []netip.AddrPort
	Domain string // the zone answered from names: "ouro"
	// Upstream are the resolvers other queries go to; empty: those of
	// /etc/resolv.conf when the link starts.
	Upstream []netip.AddrPort
	// OnDemand lets a query for a name with no flow set one up (default
	// true); false: only peers that are up are answered.
	OnDemand bool
	// Allow are the clients served; empty: the link's subnets, its
	// peers' routes and its pool, and loopback.
	Allow []netip.Prefix
	// Idle closes a flow set up on demand after this long without
	// traffic, its routes with it (default 10m).
	Idle time.Duration
	// Rate is the queries a second one client may send (default 200).
	Rate int
}

// Publish is one [[publish]] entry: a host behind this endpoint, known
// in the layer by Name. Flows to Name come to this endpoint, which
// answers with Address and routes the host's traffic.
type Publish struct {
	Name    string
	Address []netip.Addr // one or more, IPv4 and IPv6; host addresses
}

// Interface is the [interface] section.
type Interface struct {
	Device    string         // interface name (default: the link's name)
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
	Fingerprint string // pinned certificate fingerprint, upper case; "": prove by CA
}

// Accept is the [accept] section.
type Accept struct {
	Names []string       // glob patterns of proven names (path.Match syntax)
	Pool  []netip.Prefix // at most one IPv4 and one IPv6 prefix
	Lease time.Duration  // lease lifetime; 0: pool.DefaultLease
}

// Path turns `ovpn up CONFIG`'s argument into a file path: a bare name
// (no slash, no .toml) is Dir/NAME.toml; anything else is a path as given
// ("gw.toml" is in the current directory).
func Path(arg string) string {
	if arg == "" || strings.ContainsRune(arg, '/') || strings.HasSuffix(arg, Ext) {
		return arg
	}
	return filepath.Join(Dir, arg+Ext)
}

// LeaseFile is where the link keeps the leases of its pool.
func (l *Link) LeaseFile() string { return filepath.Join(l.StateDir, l.Link+".leases") }

// Peer returns the [[peer]] entry called name, or nil.
func (l *Link) Peer(name string) *Peer {
	for i := range l.Peers {
		if l.Peers[i].Name == name {
			return &l.Peers[i]
		}
	}
	return nil
}

// linkName returns the link's name for a file path: its base name without
// .toml, checked by CheckLink.
func linkName(path string) (string, error) {
	base := filepath.Base(path)
	if !strings.HasSuffix(base, Ext) {
		return "", fmt.Errorf("a link's file is NAME%s: the link is called by its name", Ext)
	}
	name := strings.TrimSuffix(base, Ext)
	if err := CheckLink(name); err != nil {
		return "", fmt.Errorf("the file's name: %w", err)
	}
	return name, nil
}

// CheckLink checks a link's name (the file's base name without .toml, and
// what `ovpn down` and `ovpn status` take): 1 to 64 letters, digits, '-',
// '_' and '.', beginning with a letter or digit.
func CheckLink(name string) error {
	switch {
	case name == "":
		return errors.New("the link's name is empty")
	case len(name) > maxLink:
		return fmt.Errorf("link name %q is longer than %d bytes", name, maxLink)
	case !alnum(rune(name[0])):
		return fmt.Errorf("link name %q does not begin with a letter or digit", name)
	case strings.ContainsFunc(name, func(r rune) bool { return !alnum(r) && r != '-' && r != '_' && r != '.' }):
		return fmt.Errorf("link name %q holds a character other than letters, digits, '-', '_' and '.'", name)
	}
	return nil
}

func alnum(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' }
