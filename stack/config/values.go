package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// maxName is the longest name, IPCP name or layer name, in bytes, as in the
// reference implementation.
const maxName = 255

// nameProblem says what is wrong with s as a name, IPCP name or layer name,
// or returns "". Names are opaque, case-sensitive identifiers; they need
// only be printable, since irm prints them and takes them as arguments.
func nameProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > maxName:
		return fmt.Sprintf("is longer than %d bytes", maxName)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains a control character"
		}
		if unicode.IsSpace(r) {
			return "contains white space"
		}
	}
	return ""
}

// str checks that v is a string.
func str(t *table, k string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		hint := ""
		switch v.(type) {
		case int64, float64, bool:
			hint = "; write it in quotes"
		}
		t.errorf(k, "%s is not a string%s", show(v), hint)
	}
	return s, ok
}

// name checks that v is a valid name.
func name(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if !ok {
		return "", false
	}
	if p := nameProblem(s); p != "" {
		t.errorf(k, "%s %s", show(v), p)
		return "", false
	}
	return s, true
}

// boolean checks that v is true or false.
func boolean(t *table, k string, v any) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		hint := ""
		if s, isStr := v.(string); isStr && (s == "true" || s == "false") {
			hint = "; write it without quotes"
		}
		t.errorf(k, "%s is not a boolean (true or false)%s", show(v), hint)
	}
	return b, ok
}

// list checks that v is a list of strings, each accepted by elem, which
// reports its problems under the key k[i]. With unique, an element may
// appear only once.
func list(t *table, k string, v any, unique bool, elem func(t *table, k string, v any) (string, bool)) ([]string, bool) {
	vs, ok := v.([]any)
	if !ok {
		hint := ""
		if _, isStr := v.(string); isStr {
			hint = fmt.Sprintf("; write %s = [%s]", k, show(v))
		}
		t.errorf(k, "%s is not a list of strings%s", show(v), hint)
		return nil, false
	}
	var out []string
	seen := map[string]bool{}
	for i, e := range vs {
		ek := fmt.Sprintf("%s[%d]", k, i)
		s, good := elem(t, ek, e)
		switch {
		case !good:
			ok = false
		case unique && seen[s]:
			t.errorf(ek, "%s is listed twice", show(s))
			ok = false
		default:
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, ok
}

// anyString accepts any string, for program arguments.
func anyString(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if ok && strings.IndexByte(s, 0) >= 0 {
		t.errorf(k, "%s contains a NUL byte", show(v))
		return "", false
	}
	return s, ok
}

// program accepts an absolute path: irmd runs under systemd, where neither
// the working directory nor PATH is the administrator's.
func program(t *table, k string, v any) (string, bool) {
	s, ok := anyString(t, k, v)
	switch {
	case !ok:
		return "", false
	case !filepath.IsAbs(s):
		t.errorf(k, "%s is not an absolute path", show(v))
		return "", false
	case len(s) > 4095:
		t.errorf(k, "is longer than 4095 bytes")
		return "", false
	}
	return s, true
}

// paths accepts an absolute path or a list of them, each listed once.
func paths(t *table, k string, v any) ([]string, bool) {
	switch v.(type) {
	case string:
		s, ok := program(t, k, v)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	case []any:
		return list(t, k, v, true, program)
	}
	t.errorf(k, "%s is not a path or a list of paths", show(v))
	return nil, false
}

// intRange describes the integers a key accepts.
type intRange struct {
	lo, hi int64
	unit   string // "seconds", or "" when the number has no unit
	noun   string // "a port number", or "" to say "a whole number"
}

func (r intRange) String() string {
	s := fmt.Sprintf("%d-%d", r.lo, r.hi)
	if r.unit != "" {
		s += " " + r.unit
	}
	return s
}

// check accepts a TOML integer within r.
func (r intRange) check(t *table, k string, v any) (string, bool) {
	n, isInt := v.(int64)
	if isInt && n >= r.lo && n <= r.hi {
		return strconv.FormatInt(n, 10), true
	}
	hint := ""
	if s, isStr := v.(string); isStr {
		if _, err := strconv.ParseInt(s, 0, 64); err == nil {
			hint = "; write numbers without quotes"
		}
	}
	switch {
	case r.noun != "":
		t.errorf(k, "%s is not %s (%s)%s", show(v), r.noun, r, hint)
	case isInt:
		t.errorf(k, "%s is out of range (%s)", show(v), r)
	default:
		t.errorf(k, "%s is not a whole number (%s)%s", show(v), r, hint)
	}
	return "", false
}

// choice accepts one of a fixed set of words, and also the aliases it
// maps to them (such as the reference's "link-state" for "link_state").
type choice struct {
	words   []string
	aliases map[string]string
	// fold accepts the words in any case, as irm does for the values the
	// reference spells in capitals (SHA3_256, DHT).
	fold bool
}

func (c choice) check(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if !ok {
		return "", false
	}
	for _, w := range c.words {
		if s == w || c.fold && strings.EqualFold(s, w) {
			return w, true
		}
	}
	if w, ok := c.aliases[s]; ok {
		return w, true
	}
	hint := ""
	for _, w := range c.words {
		if strings.EqualFold(s, w) {
			hint = fmt.Sprintf("; did you mean %s?", tomlString(w))
		}
	}
	t.errorf(k, "%s is not one of %s%s", show(v), strings.Join(c.words, ", "), hint)
	return "", false
}

// checkInt accepts a TOML integer that is one of c.words.
func (c choice) checkInt(t *table, k string, v any) (string, bool) {
	if n, ok := v.(int64); ok {
		s := strconv.FormatInt(n, 10)
		if slices.Contains(c.words, s) {
			return s, true
		}
	}
	hint := ""
	if s, ok := v.(string); ok && slices.Contains(c.words, s) {
		hint = "; write numbers without quotes"
	}
	t.errorf(k, "%s is not one of %s%s", show(v), strings.Join(c.words, ", "), hint)
	return "", false
}

// family is the IP version of a udp IPCP.
type family int

const (
	ipv4 family = 4
	ipv6 family = 6
)

// addr parses s as an IP address of family f, or says what is wrong.
func (f family) addr(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return a, fmt.Sprintf("is not an IPv%d address", f)
	case f == ipv4 && !a.Is4():
		return a, "is not an IPv4 address; use a [udp6] IPCP for IPv6"
	case f == ipv6 && a.Is4():
		return a, "is not an IPv6 address; use a [udp4] IPCP for IPv4"
	case f == ipv6 && a.Is4In6():
		return a, "is an IPv4-mapped address; use a [udp4] IPCP for IPv4"
	case a.IsMulticast():
		return a, "is a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return a, "is the broadcast address"
	}
	return a, ""
}

// bindIP accepts the address a udp IPCP listens on; the wildcard (0.0.0.0
// or ::) listens on every address.
func (f family) bindIP(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if !ok {
		return "", false
	}
	a, p := f.addr(s)
	if p != "" {
		t.errorf(k, "%s %s", show(v), p)
		return "", false
	}
	return a.String(), true
}

// hostIP accepts the address of another host, which cannot be a wildcard.
func (f family) hostIP(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if !ok {
		return "", false
	}
	a, p := f.addr(s)
	if p == "" && a.IsUnspecified() {
		p = "is the wildcard address; name a host"
	}
	if p != "" {
		t.errorf(k, "%s %s", show(v), p)
		return "", false
	}
	return a.String(), true
}

// DefaultPort is the UDP port of udp IPCPs.
const DefaultPort = 3435

// peers accepts a table of peer name = "host[:port]" and returns the
// endpoints, each as "host:port", or as "host" alone (an IPv6 address in
// brackets) when the port is left to peerPorts.
func (f family) peers(t *table, k string, v any) (map[string]string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		t.errorf(k, "%s is not a table of name = \"host[:port]\"; write peers = { NAME = \"HOST\" }", show(v))
		return nil, false
	}
	out := map[string]string{}
	for _, n := range sortedKeys(m) {
		pk := subkey(k, n)
		if p := nameProblem(n); p != "" {
			t.errorf(pk, "the peer name %s", p)
			ok = false
			continue
		}
		s, isStr := str(t, pk, m[n])
		if !isStr {
			ok = false
			continue
		}
		ep, p := f.endpoint(s)
		if p != "" {
			t.errorf(pk, "%s %s", show(s), p)
			ok = false
			continue
		}
		out[n] = ep
	}
	return out, ok
}

// endpoint parses "host[:port]", where host is an IP address of family f
// (in brackets for IPv6 with a port) or a DNS name. It returns "host:port",
// or "host" when s has no port.
func (f family) endpoint(s string) (string, string) {
	host, port, p := splitHostPort(s)
	switch p {
	case "", "no port":
	default:
		return "", p
	}
	if p == "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return "", fmt.Sprintf("has a bad port %s (1-65535)", tomlString(port))
		}
		port = ":" + strconv.FormatUint(n, 10)
	}
	if host == "" {
		return "", "has no host"
	}
	if strings.ContainsAny(host, ":%") || strings.Trim(host, "0123456789.") == "" {
		// An IP literal: only host names may contain letters, and
		// only addresses contain ':' or '%', or nothing but digits.
		a, p := f.addr(host)
		if p == "" && a.IsUnspecified() {
			p = "is the wildcard address; name a host"
		}
		if p != "" {
			return "", p
		}
		if a.Is6() {
			return "[" + a.String() + "]" + port, ""
		}
		return a.String() + port, ""
	}
	if !isDNSName(host) {
		return "", "is neither an IP address nor a host name"
	}
	return host + port, ""
}

// peerPorts gives the peers without a port the port of the IPCP, since the
// members of a UDP layer all listen on the same one.
func peerPorts(_ *table, _, opts map[string]string) {
	for k, ep := range opts {
		if !strings.HasPrefix(k, "peer.") {
			continue
		}
		// Host names and IPv4 addresses have no ':' of their own, and
		// endpoint writes IPv6 addresses in brackets.
		if i := strings.LastIndexByte(ep, ':'); i < 0 || strings.HasSuffix(ep, "]") {
			opts[k] = ep + ":" + opts["port"]
		}
	}
}

// splitHostPort splits "host:port" or "[v6]:port". It returns "no port"
// for a bare host or a bare IPv6 address.
func splitHostPort(s string) (host, port, problem string) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		switch {
		case end < 0:
			return "", "", "has no closing ]"
		case end == len(s)-1:
			return s[1:end], "", "no port"
		case s[end+1] != ':':
			return "", "", "has text after ]; write [address]:port"
		}
		return s[1:end], s[end+2:], ""
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Count(s, ":") > 1 {
		return s, "", "no port" // a host name, or an IPv6 address without brackets
	}
	return s[:i], s[i+1:], ""
}

// isDNSName reports whether s is a host name: dot-separated labels of
// letters, digits and hyphens (RFC 1123), at most 253 bytes.
func isDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// device accepts a network interface name, with the rules Linux applies
// (at most 15 bytes, no '/', ':' or white space, not "." or ".."), and in
// ASCII, as irm wants it.
func device(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if !ok {
		return "", false
	}
	bad := s == "" || len(s) > 15 || s == "." || s == ".." ||
		strings.ContainsFunc(s, func(r rune) bool {
			return r == '/' || r == ':' || r <= ' ' || r > '~'
		})
	if bad {
		t.errorf(k, "%s is not a network interface name (1-15 ASCII characters, no '/', ':' or spaces)", show(v))
		return "", false
	}
	return s, true
}

// ethertype accepts an Ethernet II type, as a TOML integer (0xA000 or
// 40960) or as a hex string ("0xA000"). Values below 0x0600 are frame
// lengths, not types, and 0xFFFF is reserved.
func ethertype(t *table, k string, v any) (string, bool) {
	var n int64 = -1
	switch v := v.(type) {
	case int64:
		n = v
	case string:
		if h, ok := strings.CutPrefix(strings.ToLower(v), "0x"); ok {
			if u, err := strconv.ParseUint(h, 16, 16); err == nil {
				n = int64(u)
			}
		}
	}
	if n < 0x0600 || n > 0xFFFE {
		t.errorf(k, "%s is not an Ethernet type (0x0600-0xFFFE, such as 0xA000)", show(v))
		return "", false
	}
	return fmt.Sprintf("0x%04X", n), true
}

// fingerprint accepts a certificate's SHA-256 fingerprint as irm cert show
// prints it, and returns it in that form.
func fingerprint(t *table, k string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		t.errorf(k, "%s is not a string", show(v))
		return "", false
	}
	fp, err := cert.ParseFingerprint(s)
	if err != nil {
		t.errorf(k, "%v", err)
		return "", false
	}
	return cert.FormatFingerprint(fp), true
}
