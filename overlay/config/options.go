package config

import (
	"net/netip"
	"strings"
	"time"

	"o7s.dev/ouroboros/overlay/mac"
	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
)

// The sections of a file: the top level, [interface], [[peer]] and [accept].
const (
	SectionTop       = ""
	SectionInterface = "interface"
	SectionPeer      = "peer"
	SectionAccept    = "accept"
)

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
	}
	return "unknown"
}

// list reports whether the kind is a TOML array (comma-separated in the
// environment).
func (k Kind) list() bool { return k == KindAddrs || k == KindPrefixes || k == KindGlobs }

// Option is one key of the file.
type Option struct {
	Section string // SectionTop, SectionInterface, SectionPeer or SectionAccept
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

// target is what a parsed value is stored into: the link, and for a
// [[peer]] key the peer.
type target struct {
	l *Link
	p *Peer
}

// Ref names the option as errors and the docs do: "layer",
// "[interface] mtu", "[[peer]] routes".
func (o *Option) Ref() string {
	switch o.Section {
	case SectionTop:
		return o.Key
	case SectionPeer:
		return "[[peer]] " + o.Key
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
// [[peer]] key (peers are a list; the environment cannot address one).
func (o *Option) Env() string {
	if o.Section == SectionPeer {
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
	}
}

// isSection reports whether key is the name of a table.
func isSection(key string) bool {
	return key == SectionInterface || key == SectionPeer || key == SectionAccept
}

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
