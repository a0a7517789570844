package schema

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Check reads s as a value of o for an IPCP of type typ ("" when the type
// is not known: an address of either IP version passes). It returns the
// value as the IPCP receives it, or a problem phrased to follow the value:
// "is out of range (1-3600 seconds)". Peers are checked one at a time.
func (o *Option) Check(typ, s string) (string, string) {
	switch o.Kind {
	case Word:
		return o.word(s)
	case Int:
		return o.integer(s)
	case BindAddr:
		return address(typ, s, false)
	case HostAddr:
		return address(typ, s, true)
	case Device:
		return device(s)
	case Ethertype:
		return ethertype(s)
	case Peers:
		return endpoint(typ, s)
	}
	return "", "cannot be checked"
}

// Range describes the values o accepts, for messages: "1-3600 seconds",
// "one of none, mb-ecn".
func (o *Option) Range() string {
	switch {
	case len(o.Words) == 1:
		return o.Words[0]
	case len(o.Words) > 0:
		return "one of " + strings.Join(o.Words, ", ")
	case o.Kind == Int:
		s := fmt.Sprintf("%d-%d", o.Lo, o.Hi)
		if o.Unit != "" {
			s += " " + o.Unit
		}
		return s
	}
	return ""
}

func (o *Option) word(s string) (string, string) {
	for _, w := range o.Words {
		if s == w || o.Fold && strings.EqualFold(s, w) {
			return w, ""
		}
	}
	if w, ok := o.Aliases[s]; ok {
		return w, ""
	}
	hint := ""
	for _, w := range o.Words {
		if strings.EqualFold(s, w) {
			hint = fmt.Sprintf("; did you mean %q?", w)
		}
	}
	return "", "is not " + o.Range() + hint
}

func (o *Option) integer(s string) (string, string) {
	n, err := strconv.ParseInt(s, 10, 64)
	if len(o.Words) > 0 {
		if c := strconv.FormatInt(n, 10); err == nil && slices.Contains(o.Words, c) {
			return c, ""
		}
		return "", "is not " + o.Range()
	}
	switch {
	case err == nil && n >= o.Lo && n <= o.Hi:
		return strconv.FormatInt(n, 10), ""
	case o.Noun != "":
		return "", fmt.Sprintf("is not %s (%s)", o.Noun, o.Range())
	case err == nil:
		return "", fmt.Sprintf("is out of range (%s)", o.Range())
	}
	return "", fmt.Sprintf("is not a whole number (%s)", o.Range())
}

// version is the IP version of a udp type: 4, 6, or 0 for either.
func version(typ string) int {
	switch typ {
	case UDP4:
		return 4
	case UDP6:
		return 6
	}
	return 0
}

// ipProblem says what is wrong with a as an address of a layer of type typ.
func ipProblem(typ string, a netip.Addr) string {
	switch v := version(typ); {
	case v == 4 && !a.Is4():
		return "is not an IPv4 address; use a udp6 IPCP for IPv6"
	case v == 6 && a.Is4():
		return "is not an IPv6 address; use a udp4 IPCP for IPv4"
	case v == 6 && a.Is4In6():
		return "is an IPv4-mapped address; use a udp4 IPCP for IPv4"
	case a.IsMulticast():
		return "is a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "is the broadcast address"
	}
	return ""
}

// address reads an IP address of the type's version; a host's address
// (host) cannot be the wildcard.
func address(typ, s string, host bool) (string, string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		if v := version(typ); v != 0 {
			return "", fmt.Sprintf("is not an IPv%d address", v)
		}
		return "", "is not an IP address"
	}
	if p := ipProblem(typ, a); p != "" {
		return "", p
	}
	if host && a.IsUnspecified() {
		return "", "is the wildcard address; name a host"
	}
	return a.String(), ""
}

// device reads a network interface name, with the rules Linux applies (at
// most 15 bytes, no '/', ':' or white space, not "." or ".."), in ASCII.
func device(s string) (string, string) {
	bad := s == "" || len(s) > 15 || s == "." || s == ".." ||
		strings.ContainsFunc(s, func(r rune) bool {
			return r == '/' || r == ':' || r <= ' ' || r > '~'
		})
	if bad {
		return "", "is not a network interface name (1-15 ASCII characters, no '/', ':' or spaces)"
	}
	return s, ""
}

// ethertype reads an Ethernet II type in hex (0xA000) or decimal, and
// returns it as four hex digits. Values below 0x0600 are frame lengths,
// 0xFFFF is reserved, and the types of protocols a host already runs are
// refused: their frames would reach both stacks.
func ethertype(s string) (string, string) {
	var n uint64
	var err error
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, err = strconv.ParseUint(h, 16, 16)
	} else {
		n, err = strconv.ParseUint(s, 10, 16)
	}
	if err != nil || n < 0x0600 || n > 0xFFFE {
		return "", "is not an Ethernet type (0x0600-0xFFFE, such as 0xA000)"
	}
	if p := knownEthertype(uint16(n)); p != "" {
		return "", fmt.Sprintf("is %s's Ethernet type; choose an unused one, such as 0xA000", p)
	}
	return fmt.Sprintf("0x%04X", n), ""
}

// knownEthertype names the protocol that owns ethertype t, among those
// that Linux hosts commonly run, or returns "".
func knownEthertype(t uint16) string {
	switch t {
	case 0x0800:
		return "IPv4"
	case 0x0806:
		return "ARP"
	case 0x86DD:
		return "IPv6"
	case 0x8100, 0x88A8:
		return "VLAN tagging"
	case 0x8847, 0x8848:
		return "MPLS"
	case 0x8863, 0x8864:
		return "PPPoE"
	case 0x888E:
		return "802.1X"
	case 0x88CC:
		return "LLDP"
	case 0x88E5:
		return "MACsec"
	case 0x88F7:
		return "PTP"
	}
	return ""
}

// endpoint reads a peer, "host[:port]", where host is an IP address of the
// type's version (in brackets for IPv6 with a port) or a DNS name. It
// returns "host:port", or "host" when s has no port.
func endpoint(typ, s string) (string, string) {
	host, port, p := splitHostPort(s)
	switch p {
	case "", "no port":
	default:
		return "", p
	}
	if p == "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return "", fmt.Sprintf("has a bad port %q (1-65535)", port)
		}
		port = ":" + strconv.FormatUint(n, 10)
	}
	if host == "" {
		return "", "has no host"
	}
	if strings.ContainsAny(host, ":%") || strings.Trim(host, "0123456789.") == "" {
		// An IP literal: only host names may contain letters, and
		// only addresses contain ':' or '%', or nothing but digits.
		a, err := netip.ParseAddr(host)
		switch {
		case err != nil:
			if v := version(typ); v != 0 {
				return "", fmt.Sprintf("is not an IPv%d address", v)
			}
			return "", "is not an IP address"
		case ipProblem(typ, a) != "":
			return "", ipProblem(typ, a)
		case a.IsUnspecified():
			return "", "is the wildcard address; name a host"
		case strings.ContainsAny(a.Zone(), "[]:%/ \t"):
			// An interface name holds none of these; "]" would also end
			// the brackets the address is written in.
			return "", fmt.Sprintf("has a bad zone %q: write an interface name after %%", a.Zone())
		case a.Is6():
			return "[" + a.String() + "]" + port, ""
		}
		return a.String() + port, ""
	}
	if !isDNSName(host) {
		return "", "is neither an IP address nor a host name"
	}
	return host + port, ""
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
