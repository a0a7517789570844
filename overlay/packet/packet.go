// Package packet reads and rewrites the few IP header fields the ovpn engine
// needs: addresses, ICMP "too big" and "unreachable" answers, and TCP MSS
// clamping.
//
// Every function takes packets as read from a tun device or a flow: any
// bytes at all. None panics, and none allocates when the caller's buffer has
// room; a packet that is too short, malformed or of another kind gets no
// answer (nil) or is left alone (false).
//
// Rate limiting of the answers is the caller's concern: an answer is built
// for every packet it is asked for.
package packet

import (
	"encoding/binary"
	"net/netip"
)

// Offsets and constants of the IPv4 (RFC 791) and IPv6 (RFC 8200) headers.
const (
	ipv4Len     = 20
	ipv6Len     = 40
	protoICMP   = 1
	protoTCP    = 6
	protoICMPv6 = 58
)

// Addrs returns an IPv4 or IPv6 packet's source and destination; ok is false
// for anything too short or of another version.
func Addrs(pkt []byte) (src, dst netip.Addr, ok bool) {
	if len(pkt) == 0 {
		return
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < ipv4Len {
			return
		}
		return netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20])), true
	case 6:
		if len(pkt) < ipv6Len {
			return
		}
		return netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40])), true
	}
	return
}

// ipv4Header returns the header length of an IPv4 packet, or 0 if pkt is
// not one (too short, other version, header length out of bounds).
func ipv4Header(pkt []byte) int {
	if len(pkt) < ipv4Len || pkt[0]>>4 != 4 {
		return 0
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < ipv4Len || ihl > len(pkt) {
		return 0
	}
	return ihl
}

// ipv4Frag returns the fragment offset field and whether more
// fragments follow.
func ipv4Frag(pkt []byte) (offset uint16, more bool) {
	f := binary.BigEndian.Uint16(pkt[6:8])
	return f & 0x1fff, f&0x2000 != 0
}

// ipv4DF reports whether an IPv4 packet has Don't Fragment set.
func ipv4DF(pkt []byte) bool { return pkt[6]&0x40 != 0 }
