package packet

import (
	"encoding/binary"
	"net/netip"
)

// The largest ICMP answers: an IPv4 ICMP error fits the minimum reassembly
// size (RFC 1812 section 4.3.2.3), an ICMPv6 error the IPv6 minimum MTU (RFC
// 4443 section 2.4 (c)); each quotes as much of the packet as fits.
const (
	maxAnswer4 = 576
	maxAnswer6 = 1280
	icmpLen    = 8 // type, code, checksum, 4 bytes of type-specific data
)

// ICMP types and codes used here.
const (
	icmp4Unreach    = 3
	icmp4NetUnreach = 0
	icmp4FragNeeded = 4
	icmp6Unreach    = 1
	icmp6NoRoute    = 0
	icmp6TooBig     = 2
	hopLimit        = 64
)

// TooBig writes into dst (appending to dst[:0]) the ICMP "fragmentation
// needed" (IPv4, only if DF is set) or ICMPv6 "packet too big" answer to
// pkt, from the address from, announcing mtu, and returns it; nil if pkt
// gets no answer (IPv4 without DF, ICMP errors, multicast sources, ...).
//
// No answer goes to a packet that is malformed, that is itself an ICMP error
// (or an ICMP message of unknown type), that is a fragment other than the
// first, or whose source is not one host (unspecified, loopback, multicast,
// IPv4 class E or broadcast); nor, in IPv4, to a packet sent to a multicast
// or broadcast address (RFC 1812 section 4.3.2.7; ICMPv6 "packet too big"
// does answer multicast destinations, RFC 4443 section 2.4 (e)). from must
// be of pkt's family and mtu positive; IPv4 announces at most 65535.
func TooBig(dst, pkt []byte, from netip.Addr, mtu int) []byte {
	if mtu <= 0 {
		return nil
	}
	if len(pkt) > 0 && pkt[0]>>4 == 4 {
		if ihl := ipv4Header(pkt); ihl == 0 || !ipv4DF(pkt) {
			return nil
		}
		return answer4(dst, pkt, from, icmp4FragNeeded, uint32(min(mtu, 0xffff)))
	}
	return answer6(dst, pkt, from, icmp6TooBig, 0, uint32(min(mtu, 0x7fffffff)), true)
}

// Unreachable is like TooBig for "destination unreachable" (no route).
//
// It answers with ICMP "network unreachable" (type 3 code 0) or ICMPv6 "no
// route to destination" (type 1 code 0): the engine sends it when no peer's
// prefix covers the destination, which is what a router with no matching
// route answers (Linux too). The same packets as for TooBig get no answer,
// and in IPv6 also those sent to a multicast address; DF plays no part.
func Unreachable(dst, pkt []byte, from netip.Addr) []byte {
	if len(pkt) > 0 && pkt[0]>>4 == 4 {
		return answer4(dst, pkt, from, icmp4NetUnreach, 0)
	}
	return answer6(dst, pkt, from, icmp6Unreach, icmp6NoRoute, 0, false)
}

// answer4 builds the ICMP destination unreachable message of the given code,
// with data as the second half of its 32-bit type-specific field (next-hop
// MTU for code 4), or returns nil if pkt gets no answer.
func answer4(dst, pkt []byte, from netip.Addr, code byte, data uint32) []byte {
	ihl := ipv4Header(pkt)
	if ihl == 0 || !from.Is4() || !answerable4(pkt, ihl) {
		return nil
	}
	quote := pkt[:min(len(pkt), maxAnswer4-ipv4Len-icmpLen)]
	total := ipv4Len + icmpLen + len(quote)
	out := grow(dst, total)
	h := out[:ipv4Len]
	h[0] = 0x45
	h[1] = 0xc0 // precedence "internetwork control", as routers mark ICMP errors
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	clear(h[4:8]) // identification, flags, fragment offset
	h[8] = hopLimit
	h[9] = protoICMP
	clear(h[10:12])
	f := from.As4()
	copy(h[12:16], f[:])
	copy(h[16:20], pkt[12:16])
	binary.BigEndian.PutUint16(h[10:], checksum(h))
	m := out[ipv4Len:]
	m[0], m[1] = icmp4Unreach, code
	clear(m[2:4])
	binary.BigEndian.PutUint32(m[4:8], data)
	copy(m[icmpLen:], quote)
	binary.BigEndian.PutUint16(m[2:], checksum(m))
	return out
}

// answerable4 applies the rules of RFC 1812 section 4.3.2.7 to an IPv4
// packet with a header of ihl bytes.
func answerable4(pkt []byte, ihl int) bool {
	if off, _ := ipv4Frag(pkt); off != 0 {
		return false
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	if !oneHost4(src) || dst.IsMulticast() || dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	if pkt[9] != protoICMP {
		return true
	}
	return ihl < len(pkt) && icmp4Query(pkt[ihl])
}

// oneHost4 reports whether an IPv4 source names one host: not 0/8, 127/8,
// multicast or 240/4 (class E and the limited broadcast).
func oneHost4(a netip.Addr) bool {
	b := a.As4()[0]
	return b != 0 && b != 127 && b < 224
}

// icmp4Query reports whether an ICMP type is a query or reply, which may
// be answered with an error, rather than an error or a type we do not know.
func icmp4Query(typ byte) bool {
	switch typ {
	case 0, 8, 9, 10, 13, 14, 15, 16, 17, 18: // echo, router, timestamp, information, mask
		return true
	}
	return false
}

// answer6 builds the ICMPv6 error of the given type and code with the
// 32-bit field data (the MTU of "packet too big"), or returns nil if pkt
// gets no answer; toMulticast allows a multicast destination in pkt.
func answer6(dst, pkt []byte, from netip.Addr, typ, code byte, data uint32, toMulticast bool) []byte {
	if len(pkt) < ipv6Len || pkt[0]>>4 != 6 || !from.Is6() || from.Is4In6() || !answerable6(pkt, toMulticast) {
		return nil
	}
	quote := pkt[:min(len(pkt), maxAnswer6-ipv6Len-icmpLen)]
	n := icmpLen + len(quote)
	out := grow(dst, ipv6Len+n)
	h := out[:ipv6Len]
	h[0], h[1], h[2], h[3] = 0x60, 0, 0, 0
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	h[6] = protoICMPv6
	h[7] = hopLimit
	f := from.As16()
	copy(h[8:24], f[:])
	copy(h[24:40], pkt[8:24])
	m := out[ipv6Len:]
	m[0], m[1] = typ, code
	clear(m[2:4])
	binary.BigEndian.PutUint32(m[4:8], data)
	copy(m[icmpLen:], quote)
	binary.BigEndian.PutUint16(m[2:], fold(sum(pseudo6(h[8:24], h[24:40], n, protoICMPv6), m)))
	return out
}

// answerable6 applies RFC 4443 section 2.4 (e) to an IPv6 packet: no answer
// to an ICMPv6 error, to a source that is not one host, or (unless
// toMulticast) to a multicast destination. Non-first fragments get none
// either, as in IPv4: their first fragment, at least as large, does.
func answerable6(pkt []byte, toMulticast bool) bool {
	src := netip.AddrFrom16([16]byte(pkt[8:24]))
	if src.IsUnspecified() || src.IsLoopback() || src.IsMulticast() {
		return false
	}
	if !toMulticast && pkt[24] == 0xff {
		return false
	}
	next, off, ok := upper6(pkt)
	if !ok {
		return false
	}
	if next != protoICMPv6 {
		return true
	}
	return off < len(pkt) && pkt[off] >= 128 // informational messages only
}

// upper6 walks an IPv6 packet's extension headers and returns the upper
// protocol and its offset; ok is false for a truncated chain or a fragment
// other than the first.
func upper6(pkt []byte) (next byte, off int, ok bool) {
	next, off = pkt[6], ipv6Len
	for {
		var n int
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if off+2 > len(pkt) {
				return 0, 0, false
			}
			n = (int(pkt[off+1]) + 1) * 8
		case 51: // authentication header
			if off+2 > len(pkt) {
				return 0, 0, false
			}
			n = (int(pkt[off+1]) + 2) * 4
		case 44: // fragment
			if off+8 > len(pkt) || binary.BigEndian.Uint16(pkt[off+2:])>>3 != 0 {
				return 0, 0, false
			}
			n = 8
		default:
			return next, off, true
		}
		if off+n > len(pkt) {
			return 0, 0, false
		}
		next, off = pkt[off], off+n
	}
}

// grow returns dst[:n], reallocated only if dst has less capacity.
func grow(dst []byte, n int) []byte {
	if cap(dst) < n {
		return make([]byte, n)
	}
	return dst[:n]
}
