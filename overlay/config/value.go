package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// parse reads one value of the option: raw is what the TOML decoder gave,
// or the environment's string when env is set. It returns the value the
// option's set takes, or what is wrong with raw.
func (o *Option) parse(raw any, env bool) (any, error) {
	if o.Kind.list() {
		items, err := listOf(raw, env)
		if err != nil {
			return nil, err
		}
		return o.parseList(items)
	}
	if env {
		return o.parseEnv(raw.(string))
	}
	switch o.Kind {
	case KindBool:
		b, ok := raw.(bool)
		if !ok {
			return nil, wrongType(raw, "true or false")
		}
		return b, nil
	case KindInt:
		n, ok := raw.(int64)
		if !ok {
			return nil, wrongType(raw, "a whole number")
		}
		return o.checkInt(n)
	}
	s, ok := raw.(string)
	if !ok {
		return nil, wrongType(raw, "a string")
	}
	return o.parseString(s)
}

// parseEnv reads a scalar from the environment.
func (o *Option) parseEnv(s string) (any, error) {
	switch o.Kind {
	case KindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q: want true or false", s)
		}
		return b, nil
	case KindInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: want a whole number", s)
		}
		return o.checkInt(n)
	}
	return o.parseString(s)
}

// parseString reads a scalar written as a string.
func (o *Option) parseString(s string) (any, error) {
	switch o.Kind {
	case KindName:
		return s, checkName(s)
	case KindWord:
		if !slices.Contains(o.Words, s) {
			return nil, fmt.Errorf("%q: want %s", s, orList(o.Words))
		}
		return s, nil
	case KindDevice:
		return s, checkDevice(s)
	case KindDuration:
		return o.parseDuration(s)
	case KindFingerprint:
		return parseFingerprint(s)
	case KindDir:
		if !filepath.IsAbs(s) {
			return nil, fmt.Errorf("%q: want an absolute path", s)
		}
		return filepath.Clean(s), nil
	case KindDomain:
		return s, checkDomain(s)
	}
	return nil, fmt.Errorf("option of kind %v read as a string", o.Kind)
}

// parseList reads the items of a list option.
func (o *Option) parseList(items []string) (any, error) {
	switch o.Kind {
	case KindGlobs:
		for _, g := range items {
			if err := checkGlob(g); err != nil {
				return nil, err
			}
		}
		return items, nil
	case KindAddrs, KindPrefixes:
		return parseEach(items, func(s string) (netip.Prefix, error) { return parsePrefix(s, o.Kind == KindPrefixes) })
	case KindAddrPorts:
		return parseEach(items, parseAddrPort)
	case KindHosts:
		return parseEach(items, parseHost)
	}
	return nil, fmt.Errorf("option of kind %v read as a list", o.Kind)
}

// parseEach reads every item with parse, refusing an item listed twice.
func parseEach[T comparable](items []string, parse func(string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, s := range items {
		v, err := parse(s)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("%q is listed twice", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// listOf returns a list value's items: a TOML array of strings (or one
// string, one item: pool = "10.77.0.128/25"), or the environment's
// comma-separated string (blank items skipped).
func listOf(raw any, env bool) ([]string, error) {
	if env {
		var out []string
		for _, s := range strings.Split(raw.(string), ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	if s, ok := raw.(string); ok {
		return []string{s}, nil
	}
	arr, ok := raw.([]any)
	if !ok {
		return nil, wrongType(raw, `a list of strings, such as ["…"]`)
	}
	out := make([]string, 0, len(arr))
	for i, v := range arr {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("item %d: %w", i+1, wrongType(v, "a string"))
		}
		out = append(out, s)
	}
	return out, nil
}

// checkInt checks n against the option's range.
func (o *Option) checkInt(n int64) (any, error) {
	if (n < o.Lo || n > o.Hi) && (n != 0 || o.Zero == "") {
		if o.Zero != "" {
			return nil, fmt.Errorf("%d: want 0 or %d to %d", n, o.Lo, o.Hi)
		}
		return nil, fmt.Errorf("%d: want %d to %d", n, o.Lo, o.Hi)
	}
	return n, nil
}

// parseDuration reads a duration within the option's range.
func (o *Option) parseDuration(s string) (any, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q: want a duration such as \"90s\", \"5m\" or \"24h\"", s)
	}
	if lo, hi := time.Duration(o.Lo), time.Duration(o.Hi); d < lo || d > hi {
		return nil, fmt.Errorf("%q: want %s to %s", s, durString(lo), durString(hi))
	}
	return d, nil
}

// parsePrefix reads an address with its prefix length. masked requires a
// prefix with no host bits (a route); otherwise the address is the
// interface's own, so it must be a usable unicast address.
func parsePrefix(s string, masked bool) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		if a, aerr := netip.ParseAddr(strings.TrimSpace(s)); aerr == nil {
			return netip.Prefix{}, fmt.Errorf("%q: no prefix length; write it, such as %q", s, netip.PrefixFrom(a, a.BitLen()).String())
		}
		return netip.Prefix{}, fmt.Errorf("%q: %s", s, prefixProblem(err))
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped IPv6 address; write IPv4 as IPv4", s)
	}
	if masked {
		if m := p.Masked(); m != p {
			return netip.Prefix{}, fmt.Errorf("%q: host bits set; the prefix is %s", s, m)
		}
		return p, nil
	}
	a := p.Addr()
	switch {
	case a.IsUnspecified(), a.IsMulticast(), a.IsLoopback(), a.IsLinkLocalUnicast():
		return netip.Prefix{}, fmt.Errorf("%q: not an address an interface can own here (unspecified, multicast, loopback or link-local)", s)
	case p.Bits() < a.BitLen()-1 && a == p.Masked().Addr():
		return netip.Prefix{}, fmt.Errorf("%q: this is the subnet, not an address in it; give the interface's own address, such as %s/%d", s, a.Next(), p.Bits())
	case a.Is4() && p.Bits() < 31 && a == lastAddr(p):
		return netip.Prefix{}, fmt.Errorf("%q: the subnet's broadcast address", s)
	}
	return p, nil
}

// parseAddrPort reads an address with a port ("10.77.0.1:53",
// "[fd77::1]:5353"), or a bare address, which means port DNSPort.
func parseAddrPort(s string) (netip.AddrPort, error) {
	t := strings.TrimSpace(s)
	ap, err := netip.ParseAddrPort(t)
	if err != nil {
		a, aerr := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(t, "["), "]"))
		if aerr != nil || a.Zone() != "" {
			return netip.AddrPort{}, fmt.Errorf("%q: not an address with an optional port, such as 10.77.0.1, 10.77.0.1:53 or [fd77::1]:53", s)
		}
		ap = netip.AddrPortFrom(a, DNSPort)
	}
	a := ap.Addr()
	switch {
	case ap.Port() == 0:
		return netip.AddrPort{}, fmt.Errorf("%q: port 0; want 1 to 65535, or no port for 53", s)
	case a.Zone() != "":
		return netip.AddrPort{}, fmt.Errorf("%q: an address with a zone; give a routable address", s)
	case a.Is4In6():
		return netip.AddrPort{}, fmt.Errorf("%q: an IPv4-mapped IPv6 address; write IPv4 as IPv4", s)
	case a.IsMulticast():
		return netip.AddrPort{}, fmt.Errorf("%q: a multicast address", s)
	}
	return ap, nil
}

// parseHost reads a host's address: a unicast address that a host can
// own and a route can reach (not unspecified, multicast, loopback or
// link-local).
func parseHost(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		if _, perr := netip.ParsePrefix(strings.TrimSpace(s)); perr == nil {
			return netip.Addr{}, fmt.Errorf("%q: a prefix; give the host's address without a length", s)
		}
		return netip.Addr{}, fmt.Errorf("%q: not an address, such as 10.2.0.5 or fd02::5", s)
	}
	switch {
	case a.Zone() != "":
		return netip.Addr{}, fmt.Errorf("%q: an address with a zone; give a routable address", s)
	case a.Is4In6():
		return netip.Addr{}, fmt.Errorf("%q: an IPv4-mapped IPv6 address; write IPv4 as IPv4", s)
	case a.IsUnspecified(), a.IsMulticast(), a.IsLoopback(), a.IsLinkLocalUnicast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.Addr{}, fmt.Errorf("%q: not a host's address (unspecified, multicast, broadcast, loopback or link-local)", s)
	}
	return a, nil
}

// maxDomain is the longest domain: a DNS name of 255 bytes in wire form
// is 253 in text without the trailing dot; the bridge's answers add a
// name in front, so the zone itself has to leave room.
const maxDomain = 253

// checkDomain checks a DNS zone name: labels of 1 to 63 lower-case
// letters, digits and hyphens, not beginning or ending with a hyphen,
// joined by dots, with no leading or trailing dot.
func checkDomain(s string) error {
	switch {
	case s == "":
		return errors.New("empty; want a domain such as ouro or vpn.example.org")
	case len(s) > maxDomain:
		return fmt.Errorf("%q: a domain is at most %d bytes", s, maxDomain)
	case strings.HasPrefix(s, ".") || strings.HasSuffix(s, "."):
		return fmt.Errorf("%q: write the domain without a leading or trailing dot: %s", s, strings.Trim(s, "."))
	case strings.ToLower(s) != s:
		return fmt.Errorf("%q: write the domain in lower case: %s", s, strings.ToLower(s))
	}
	for _, label := range strings.Split(s, ".") {
		switch {
		case label == "":
			return fmt.Errorf("%q: an empty label (two dots)", s)
		case len(label) > 63:
			return fmt.Errorf("%q: label %q is longer than 63 bytes", s, label)
		case strings.ContainsFunc(label, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }):
			return fmt.Errorf("%q: a domain holds only letters, digits, hyphens and dots", s)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("%q: label %q begins or ends with a hyphen", s, label)
		}
	}
	return nil
}

// prefixProblem says briefly why netip.ParsePrefix failed.
func prefixProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "bad bits"), strings.Contains(msg, "prefix length out of range"):
		return "bad prefix length"
	}
	return "not an address with a prefix length, such as 10.2.0.0/24 or fd77::/64"
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// checkName applies the rules of names that a name certificate can be
// issued for (stack/crypt/cert), which irmd's (stack/irm) allow: 1 to 255
// bytes of UTF-8 without control characters.
func checkName(s string) error { return cert.CheckName(s) }

// checkGlob checks a pattern of names.
func checkGlob(g string) error {
	if err := checkName(g); err != nil {
		return fmt.Errorf("pattern %q: %w", g, err)
	}
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Errorf("%q: not a pattern in path.Match syntax (*, ?, [a-z], \\ escapes)", g)
	}
	return nil
}

// checkDevice applies the kernel's rules for interface names.
func checkDevice(s string) error {
	switch {
	case s == "":
		return errors.New("empty; want an interface name such as ovpn0")
	case len(s) > 15:
		return fmt.Errorf("%q: an interface name is at most 15 bytes", s)
	case s == "." || s == "..":
		return fmt.Errorf("%q: not an interface name", s)
	case strings.ContainsFunc(s, func(r rune) bool {
		return r == '/' || r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) || r >= utf8.RuneSelf
	}):
		return fmt.Errorf("%q: an interface name holds no '/', ':', space or non-ASCII character", s)
	}
	return nil
}

// parseFingerprint reads a SHA-256 fingerprint in cert.Fingerprint's form,
// in either case, and returns it in that form (upper case).
func parseFingerprint(s string) (string, error) {
	t := strings.TrimSpace(s)
	ok := len(t) == 32*3-1
	for i := 2; ok && i < len(t); i += 3 {
		ok = t[i] == ':'
	}
	if _, err := hex.DecodeString(strings.ReplaceAll(t, ":", "")); !ok || err != nil {
		return "", fmt.Errorf("%q: want a SHA-256 fingerprint as `irm cert show` prints it: 32 hex bytes joined by colons", s)
	}
	return strings.ToUpper(t), nil
}

// wrongType says what raw is and what was wanted.
func wrongType(raw any, want string) error {
	var what string
	switch v := raw.(type) {
	case string:
		what = fmt.Sprintf("a string (%q)", v)
	case bool:
		what = fmt.Sprintf("a bool (%v)", v)
	case int64:
		what = fmt.Sprintf("an integer (%d)", v)
	case float64:
		what = fmt.Sprintf("a number (%v)", v)
	case []any:
		what = "a list"
	case map[string]any:
		what = "a table"
	default:
		what = fmt.Sprintf("a %T", raw)
	}
	return fmt.Errorf("want %s, not %s", want, what)
}

// orList writes words as `a, b or c`, each quoted.
func orList(words []string) string {
	var b strings.Builder
	for i, w := range words {
		switch {
		case i == 0:
		case i == len(words)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(w)
	}
	return b.String()
}
