package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"o7s.dev/ouroboros/overlay/mac"
	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
)

// The sections of a file: the top level, [interface], [[peer]], [accept],
// [dns] and [[publish]].
const (
	SectionTop       = ""
	SectionInterface = "interface"
	SectionPeer      = "peer"
	SectionAccept    = "accept"
	SectionDNS       = "dns"
	SectionPublish   = "publish"
)

// DNSPort is the port of a [dns] listen or upstream address written
// without one.
const DNSPort = 53

// DefaultDomain is the zone the DNS bridge answers by default.
const DefaultDomain = "ouro"

// Kind is the kind of value an option takes; it decides how the loader
// reads it from the file (a TOML value) and from the environment (a string).
type Kind int

const (
	// KindName is an Ouroboros name, checked as irmd checks names.
	KindName Kind = iota
	// KindBool is true or false.
	KindBool
	// KindInt is a whole number from Lo to Hi; 0 too when Zero says what it means.
	KindInt
	// KindDuration is a Go duration ("90s", "24h") from Lo to Hi nanoseconds.
	KindDuration
	// KindWord is one of Words.
	KindWord
	// KindDevice is a network interface name: 1 to 15 bytes, no '/', ':' or space.
	KindDevice
	// KindAddrs is a list of interface addresses with their subnet lengths, the
	// host bits set: "10.77.0.1/24".
	KindAddrs
	// KindPrefixes is a list of prefixes with no host bits set: "10.2.0.0/24".
	KindPrefixes
	// KindGlobs is a list of name patterns in path.Match syntax: "laptop.*".
	KindGlobs
	// KindFingerprint is a certificate's SHA-256 fingerprint as `irm cert show`
	// prints it: 32 hex bytes joined by colons.
	KindFingerprint
	// KindDir is an absolute directory path.
	KindDir
	// KindAddrPorts is a list of IP addresses with ports: "10.77.0.1:53",
	// "[fd77::1]:53"; a bare address means port DNSPort.
	KindAddrPorts
	// KindDomain is a DNS name without leading or trailing dot: lower-case
	// letters, digits and hyphens in labels joined by dots.
	KindDomain
	// KindHosts is one host address or a list of them, IPv4 or IPv6:
	// "10.2.0.5", ["10.2.0.5", "fd02::5"].
	KindHosts
)

// String names the kind as the reference does.
func (k Kind) String() string {
	switch k {
	case KindName:
		return "name"
	case KindBool:
		return "bool"
	case KindInt:
		return "integer"
	case KindDuration:
		return "duration"
	case KindWord:
		return "word"
	case KindDevice:
		return "interface name"
	case KindAddrs:
		return "addresses"
	case KindPrefixes:
		return "prefixes"
	case KindGlobs:
		return "patterns"
	case KindFingerprint:
		return "fingerprint"
	case KindDir:
		return "path"
	case KindAddrPorts:
		return "addresses with ports"
	case KindDomain:
		return "domain"
	case KindHosts:
		return "host addresses"
	}
	return "unknown"
}

// list reports whether the kind is a TOML array (comma-separated in the
// environment).
func (k Kind) list() bool {
	return k == KindAddrs || k == KindPrefixes || k == KindGlobs || k == KindAddrPorts || k == KindHosts
}

// Option is one key of the file.
type Option struct {
	Section string // one of the Section constants
	Key     string
	Kind    Kind
	Words   []string // Word: the values allowed
	Lo, Hi  int64    // Int: the range; Duration: the range in nanoseconds
	Zero    string   // Int: what 0 means, if 0 is allowed outside Lo..Hi
	// Default is the value a missing key takes, as it would be written in
	// the environment ("" and not DefaultDoc: none).
	Default string
	// DefaultDoc describes a default that depends on other values.
	DefaultDoc string
	Required   bool
	Help       string // what the option sets, a phrase

	set func(t target, v any) // stores a parsed value
}

// target is what a parsed value is stored into: the link, for a
// [[peer]] key the peer, for a [[publish]] key the entry.
type target struct {
	l   *Link
	p   *Peer
	pub *Publish
}

// Ref names the option as errors and the docs do: "layer",
// "[interface] mtu", "[[peer]] routes".
func (o *Option) Ref() string {
	switch {
	case o.Section == SectionTop:
		return o.Key
	case isEntries(o.Section):
		return "[[" + o.Section + "]] " + o.Key
	}
	return "[" + o.Section + "] " + o.Key
}

// path is the option's key in viper: "interface.mtu".
func (o *Option) path() string {
	if o.Section == SectionTop {
		return o.Key
	}
	return o.Section + "." + o.Key
}

// Env is the environment variable that overrides the option, or "" for a
// key of [[peer]] or [[publish]] (lists of entries; the environment cannot
// address one). A [dns] key's variable applies only when the file has a
// [dns] table: the variable alone does not start the bridge.
func (o *Option) Env() string {
	if isEntries(o.Section) {
		return ""
	}
	return "OVPN_" + strings.ToUpper(strings.ReplaceAll(o.path(), ".", "_"))
}

// Options returns every option, in the order of the reference. The caller
// may modify the result.
func Options() []Option {
	return []Option{
		{Section: SectionTop, Key: "name", Kind: KindName, Required: true,
			Help: "this endpoint's Ouroboros name: registered in `layer`, bound by ovpn, proven to peers by its certificate",
			set:  func(t target, v any) { t.l.Name = v.(string) }},
		{Section: SectionTop, Key: "layer", Kind: KindName, Required: true,
			Help: "the layer `name` is registered in and the peers are reached through",
			set:  func(t target, v any) { t.l.Layer = v.(string) }},
		{Section: SectionTop, Key: "authenticate", Kind: KindBool, Default: "true",
			Help: "peers' names count only when proven by a certificate from a CA irmd trusts or a pinned fingerprint; false takes names as claimed (labs only)",
			set:  func(t target, v any) { t.l.Authenticate = v.(bool) }},
		{Section: SectionTop, Key: "state_dir", Kind: KindDir, Default: StateDir,
			Help: "where the link keeps its state: the leases of its pool, in LINK.leases",
			set:  func(t target, v any) { t.l.StateDir = v.(string) }},

		{Section: SectionInterface, Key: "device", Kind: KindDevice, DefaultDoc: "the link's name",
			Help: "the interface's name; by default the link's name, which must then be at most 15 bytes",
			set:  func(t target, v any) { t.l.Interface.Device = v.(string) }},
		{Section: SectionInterface, Key: "mode", Kind: KindWord, Words: []string{"tun", "tap"}, Default: "tun",
			Help: "tun carries IP packets, tap Ethernet frames (for a bridge); both ends must agree",
			set: func(t target, v any) {
				t.l.Interface.Mode = wire.Tun
				if v.(string) == "tap" {
					t.l.Interface.Mode = wire.Tap
				}
			}},
		{Section: SectionInterface, Key: "address", Kind: KindAddrs,
			Help: "the interface's own addresses with their subnets (IPv4 and IPv6); empty: ask a peer's pool for one (a client)",
			set:  func(t target, v any) { t.l.Interface.Address = v.([]netip.Prefix) }},
		{Section: SectionInterface, Key: "mtu", Kind: KindInt, Lo: 576, Hi: 65535, Default: "0",
			Zero: "derived from the flows' MaxSDU, so that nothing is fragmented below",
			Help: "the interface MTU; at least 1280 with an IPv6 address",
			set:  func(t target, v any) { t.l.Interface.MTU = int(v.(int64)) }},
		{Section: SectionInterface, Key: "mss_clamp", Kind: KindBool, Default: "false",
			Help: "rewrite the MSS of TCP SYNs through the link to fit the MTU",
			set:  func(t target, v any) { t.l.Interface.MSSClamp = v.(bool) }},
		{Section: SectionInterface, Key: "allow_move", Kind: KindBool, Default: "false",
			Help: "tap only: a MAC learned from one peer may move to another at once, not only once aged out",
			set:  func(t target, v any) { t.l.Interface.AllowMove = v.(bool) }},
		{Section: SectionInterface, Key: "mac_age", Kind: KindDuration, Lo: int64(time.Second), Hi: int64(24 * time.Hour),
			Default: durString(mac.DefaultAge),
			Help:    "tap only: how long a learned MAC lives without a frame from it",
			set:     func(t target, v any) { t.l.Interface.MACAge = v.(time.Duration) }},

		{Section: SectionPeer, Key: "name", Kind: KindName, Required: true,
			Help: "the peer's Ouroboros name: ovpn dials it, and admits it when it dials",
			set:  func(t target, v any) { t.p.Name = v.(string) }},
		{Section: SectionPeer, Key: "routes", Kind: KindPrefixes,
			Help: "tun only: the prefixes reached through the peer (kernel routes are installed; packets from the peer may come from them); one prefix belongs to one peer",
			set:  func(t target, v any) { t.p.Routes = v.([]netip.Prefix) }},
		{Section: SectionPeer, Key: "fingerprint", Kind: KindFingerprint,
			Help: "the SHA-256 fingerprint of the peer's name certificate, as `irm cert show` prints it: proves the peer without a CA",
			set:  func(t target, v any) { t.p.Fingerprint = v.(string) }},

		{Section: SectionAccept, Key: "names", Kind: KindGlobs,
			Help: "patterns (path.Match syntax) of proven names that may dial without a [[peer]] entry; empty: only configured peers",
			set:  func(t target, v any) { t.l.Accept.Names = v.([]string) }},
		{Section: SectionAccept, Key: "pool", Kind: KindPrefixes,
			Help: "addresses handed to peers that ask for one: at most one IPv4 and one IPv6 prefix, each inside a subnet of `[interface] address` and holding none of its addresses",
			set:  func(t target, v any) { t.l.Accept.Pool = v.([]netip.Prefix) }},
		{Section: SectionAccept, Key: "lease", Kind: KindDuration, Lo: int64(time.Minute), Hi: int64(365 * 24 * time.Hour),
			Default: durString(pool.DefaultLease),
			Help:    "how long a pool address stays a name's after its flow went down: it gets the same address back within it",
			set:     func(t target, v any) { t.l.Accept.Lease = v.(time.Duration) }},

		{Section: SectionDNS, Key: "listen", Kind: KindAddrPorts, DefaultDoc: "the link's first tunnel address, port 53",
			Help: "the addresses the DNS bridge serves, over UDP and TCP; an address without a port means port 53 (IPv6 with a port: `\"[fd77::1]:53\"`); a client without an address starts the bridge once granted one",
			set:  func(t target, v any) { t.l.DNS.Listen = v.([]netip.AddrPort) }},
		{Section: SectionDNS, Key: "domain", Kind: KindDomain, Default: DefaultDomain,
			Help: "the zone answered from Ouroboros names: NAME.DOMAIN is the peer or published host called NAME",
			set:  func(t target, v any) { t.l.DNS.Domain = v.(string) }},
		{Section: SectionDNS, Key: "upstream", Kind: KindAddrPorts, DefaultDoc: "the nameservers of /etc/resolv.conf when the link starts, except the bridge's own addresses",
			Help: "the resolvers that queries outside the domain are forwarded to (UDP, and TCP for truncated answers); an address without a port means port 53",
			set:  func(t target, v any) { t.l.DNS.Upstream = v.([]netip.AddrPort) }},
		{Section: SectionDNS, Key: "on_demand", Kind: KindBool, Default: "true",
			Help: "a query for a name with no flow sets one up (to an ovpn endpoint that accepts this one, or to a published host's gateway); false: only peers that are up are answered, others get REFUSED",
			set:  func(t target, v any) { t.l.DNS.OnDemand = v.(bool) }},
		{Section: SectionDNS, Key: "allow", Kind: KindPrefixes, DefaultDoc: "the link's subnets, the [[peer]] routes, the [accept] pool and loopback",
			Help: "the clients the bridge answers; others are refused (it is not an open resolver)",
			set:  func(t target, v any) { t.l.DNS.Allow = v.([]netip.Prefix) }},
		{Section: SectionDNS, Key: "idle", Kind: KindDuration, Lo: int64(time.Second), Hi: int64(24 * time.Hour), Default: durString(DefaultIdle),
			Help: "a flow set up on demand is closed after this long without data, its routes with it ([[peer]] flows and flows that dialled in stay)",
			set:  func(t target, v any) { t.l.DNS.Idle = v.(time.Duration) }},
		{Section: SectionDNS, Key: "rate", Kind: KindInt, Lo: 1, Hi: 100000, Default: strconv.Itoa(DefaultRate),
			Help: "the queries a second one client address may send; more are dropped",
			set:  func(t target, v any) { t.l.DNS.Rate = int(v.(int64)) }},

		{Section: SectionPublish, Key: "name", Kind: KindName, Required: true,
			Help: "the Ouroboros name of a host behind this end: registered in `layer`; a DNS bridge elsewhere answers NAME.DOMAIN with `address` and routes it through this end",
			set:  func(t target, v any) { t.pub.Name = v.(string) }},
		{Section: SectionPublish, Key: "address", Kind: KindHosts, Required: true,
			Help: "the host's addresses (IPv4 and/or IPv6), reached from this end outside the link; one address belongs to one entry",
			set:  func(t target, v any) { t.pub.Address = v.([]netip.Addr) }},
	}
}

// DefaultIdle is how long a flow set up on demand lives without data.
const DefaultIdle = 10 * time.Minute

// DefaultRate is the queries a second a client may send the bridge.
const DefaultRate = 200

// isSection reports whether key is the name of a table.
func isSection(key string) bool {
	switch key {
	case SectionInterface, SectionPeer, SectionAccept, SectionDNS, SectionPublish:
		return true
	}
	return false
}

// isEntries reports whether section is an array of tables: [[peer]],
// [[publish]].
func isEntries(section string) bool { return section == SectionPeer || section == SectionPublish }

// durString writes d without zero tails: 24h, 5m, 90s.
func durString(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
