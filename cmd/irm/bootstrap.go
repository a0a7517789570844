package main

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
)

// autobindTypes are the types whose IPCPs can be bound to names: only
// these accept flows from other members of their layer.
var autobindTypes = []string{"unicast", "broadcast"}

// option is a type-specific bootstrap option.
type option struct {
	key   string
	types []string
	// check validates a value for an IPCP of type typ ("" when the command
	// names no type) and returns it in the form sent to irmd.
	check func(typ, val string) (string, error)
}

var (
	udpTypes = []string{"udp4", "udp6"}
	ethTypes = []string{"eth-llc", "eth-dix"}
	hashes   = []string{"SHA3_224", "SHA3_256", "SHA3_384", "SHA3_512"}
)

// bootstrapOptions lists every bootstrap option, in the order of the help.
var bootstrapOptions = []option{
	{"hash", []string{"local", "unicast", "eth-llc", "eth-dix"}, foldedChoice("hash", hashes...)},
	{"ip", udpTypes, checkIP("ip")},
	{"port", udpTypes, number("port", 1, math.MaxUint16)},
	{"dns", udpTypes, checkIP("dns")},
	{"keepalive", udpTypes, number("keepalive", 1, math.MaxUint32)},
	{"dev", ethTypes, checkDev},
	{"ethertype", []string{"eth-dix"}, checkEthertype},
	{"addr_auth", []string{"unicast"}, foldedChoice("addr_auth", "flat")},
	{"directory", []string{"unicast"}, foldedChoice("directory", "DHT")},
	{"routing", []string{"unicast"}, choice("routing", "link_state", "lfa", "ecmp")},
	{"congestion", []string{"unicast"}, choice("congestion", "none", "mb-ecn")},
	{"addr", []string{"unicast"}, sizes("addr", "the address is 4 or 8 bytes", "4", "8")},
	{"eid", []string{"unicast"}, sizes("eid", "the endpoint id is 8 bytes", "8")},
	{"ttl", []string{"unicast"}, number("ttl", 1, math.MaxUint8)},
	{"dht_alpha", []string{"unicast"}, number("dht_alpha", 1, math.MaxUint32)},
	{"dht_k", []string{"unicast"}, number("dht_k", 1, math.MaxUint32)},
	{"dht_t_expire", []string{"unicast"}, number("dht_t_expire", 1, math.MaxUint32)},
	{"dht_t_refresh", []string{"unicast"}, number("dht_t_refresh", 1, math.MaxUint32)},
	{"dht_t_replicate", []string{"unicast"}, number("dht_t_replicate", 1, math.MaxUint32)},
	{"ls_t_recalc", []string{"unicast"}, number("ls_t_recalc", 1, math.MaxUint32)},
	{"ls_t_update", []string{"unicast"}, number("ls_t_update", 1, math.MaxUint32)},
	{"ls_t_timeo", []string{"unicast"}, number("ls_t_timeo", 1, math.MaxUint32)},
	{"ls_t_dead", []string{"unicast"}, number("ls_t_dead", 100, 60000)},
}

// requiredOptions are the options a type cannot do without.
var requiredOptions = map[string][]string{
	"udp4":    {"ip"},
	"udp6":    {"ip"},
	"eth-llc": {"dev"},
	"eth-dix": {"dev"},
}

// optionKeys returns the options of type typ, or of every type if typ is "".
func optionKeys(typ string) []string {
	var keys []string
	for _, o := range bootstrapOptions {
		if typ == "" || slices.Contains(o.types, typ) {
			keys = append(keys, o.key)
		}
	}
	return keys
}

// bootstrapType returns the type a bootstrap command names, or "". It runs
// before the arguments are scanned, so that options match on prefixes of
// that type's options only ("d" is dev for eth-llc, dns for udp4). It looks
// for an abbreviation of "type" followed by a type name. A value cannot pass
// for that keyword: the word after a value is a keyword, and no keyword is
// spelled like a type.
func bootstrapType(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] != "" && strings.HasPrefix("type", args[i]) && slices.Contains(ipcpTypes, args[i+1]) {
			return args[i+1]
		}
	}
	return ""
}

func parseIPCPBootstrap(args []string) (*command, error) {
	typ := bootstrapType(args)
	g := grammar{
		values:  []string{"name", "layer", "type"},
		flags:   []string{"autobind"},
		options: optionKeys(typ),
		late:    identityKeys,
		repeat:  []string{"ca"},
	}
	m, err := scanArgs(args, g)
	if err != nil {
		return nil, explainOption(err, typ)
	}
	req := ctrl.IPCPBootstrap{Type: m.get("type"), Autobind: m.has("autobind")}
	if req.Name, err = m.need("name", "N"); err != nil {
		return nil, err
	}
	if req.Layer, err = m.need("layer", "L"); err != nil {
		return nil, err
	}
	if m.has("type") {
		if err := oneOf("type", req.Type, ipcpTypes); err != nil {
			return nil, err
		}
	}
	if req.Autobind && req.Type != "" && !slices.Contains(autobindTypes, req.Type) {
		return nil, fmt.Errorf("autobind is only for unicast and broadcast IPCPs, not %s", req.Type)
	}
	if req.Options, err = bootstrapValues(m, req.Type); err != nil {
		return nil, err
	}
	if req.Identity, err = identity(m, req.Type); err != nil {
		return nil, err
	}
	for _, k := range requiredOptions[req.Type] {
		if _, ok := req.Options[k]; !ok {
			return nil, fmt.Errorf("missing %s: a %s IPCP needs it", k, req.Type)
		}
	}
	return &command{op: ctrl.OpIPCPBootstrap, req: req}, nil
}

// bootstrapValues checks the options given and returns them as irmd
// expects them, or nil if there are none.
func bootstrapValues(m argMap, typ string) (map[string]string, error) {
	var opts map[string]string
	for _, o := range bootstrapOptions {
		if !m.has(o.key) {
			continue
		}
		v, err := o.check(typ, m.get(o.key))
		if err != nil {
			return nil, err
		}
		if opts == nil {
			opts = make(map[string]string)
		}
		opts[o.key] = v
	}
	return opts, nil
}

// explainOption turns "unknown keyword" for an option of another type into
// an error that says which types take it.
func explainOption(err error, typ string) error {
	var me *matchError
	if !errors.As(err, &me) || typ == "" || len(me.candidates) > 0 {
		return err
	}
	key, kerr := match("keyword", me.word, optionKeys(""))
	if kerr != nil {
		return err
	}
	for _, o := range bootstrapOptions {
		if o.key != key {
			continue
		}
		takes := "no options"
		if keys := optionKeys(typ); len(keys) > 0 {
			takes = "only " + strings.Join(keys, ", ")
		}
		return fmt.Errorf("option %s is for %s IPCPs, not %s (%s takes %s)",
			key, strings.Join(o.types, ", "), typ, typ, takes)
	}
	return err
}

// choice accepts one of choices, spelled exactly.
func choice(key string, choices ...string) func(string, string) (string, error) {
	return func(_, val string) (string, error) {
		return val, oneOf(key, val, choices)
	}
}

// foldedChoice accepts one of choices in any case, and returns it as listed:
// the reference spells these in capitals that are tedious to type.
func foldedChoice(key string, choices ...string) func(string, string) (string, error) {
	return func(_, val string) (string, error) {
		for _, c := range choices {
			if strings.EqualFold(c, val) {
				return c, nil
			}
		}
		return "", fmt.Errorf("bad %s %q: want one of %s", key, val, strings.Join(choices, ", "))
	}
}

// sizes accepts one of the sizes, in bytes, that a field of the unicast
// layer's header can have; why says which.
func sizes(key, why string, ok ...string) func(string, string) (string, error) {
	return func(_, val string) (string, error) {
		if slices.Contains(ok, val) {
			return val, nil
		}
		return "", fmt.Errorf("bad %s %q: %s", key, val, why)
	}
}

// number accepts a decimal integer from lo to hi.
func number(key string, lo, hi uint64) func(string, string) (string, error) {
	return func(_, val string) (string, error) {
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil || n < lo || n > hi {
			return "", fmt.Errorf("bad %s %q: want a number from %d to %d", key, val, lo, hi)
		}
		return strconv.FormatUint(n, 10), nil
	}
}

// checkIP accepts an IP address of the family of the UDP type, or of either
// family when the type is not given.
func checkIP(key string) func(string, string) (string, error) {
	return func(typ, val string) (string, error) {
		a, err := netip.ParseAddr(val)
		if err != nil {
			return "", fmt.Errorf("bad %s %q: want an IP address", key, val)
		}
		switch {
		case typ == "udp4" && !a.Is4():
			return "", fmt.Errorf("bad %s %q: want an IPv4 address for udp4", key, val)
		case typ == "udp6" && (!a.Is6() || a.Is4In6()):
			return "", fmt.Errorf("bad %s %q: want an IPv6 address for udp6", key, val)
		}
		return a.String(), nil
	}
}

// checkDev accepts a Linux interface name: up to 15 bytes, without '/' or
// white space.
func checkDev(_, val string) (string, error) {
	if val == "" || len(val) > 15 || val == "." || val == ".." || strings.ContainsFunc(val, badDevRune) {
		return "", fmt.Errorf("bad dev %q: want a network interface name such as eth0", val)
	}
	return val, nil
}

func badDevRune(r rune) bool {
	return r == '/' || r == ':' || r <= ' ' || r > '~'
}

// checkEthertype accepts an Ethernet II type in hex (0xA000) or decimal, in
// the range that does not collide with 802.3 lengths, and sends it in hex.
func checkEthertype(_, val string) (string, error) {
	n, err := strconv.ParseUint(val, 0, 32)
	if err != nil || n < 0x0600 || n > 0xFFFE {
		return "", fmt.Errorf("bad ethertype %q: want a number from 0x0600 to 0xFFFE", val)
	}
	return fmt.Sprintf("0x%04X", n), nil
}
