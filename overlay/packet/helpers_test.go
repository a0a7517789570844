package packet

import (
	"encoding/binary"
	"net/netip"
)

// Test helpers. The checksum here is written apart from csum.go's (byte by
// byte, 32-bit accumulator, folded at the end) so that the tests check the
// package against an independent routine.

// onesSum is the one's-complement sum of b's 16-bit big-endian words,
// folded to 16 bits; a packet with a correct checksum sums to 0xffff.
func onesSum(parts ...[]byte) uint16 {
	var s uint32
	var odd bool
	for _, b := range parts {
		for _, c := range b {
			if odd {
				s += uint32(c)
			} else {
				s += uint32(c) << 8
			}
			odd = !odd
		}
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// pseudo is an IPv6 pseudo-header.
func pseudo(src, dst netip.Addr, n int, next byte) []byte {
	p := make([]byte, 40)
	s, d := src.As16(), dst.As16()
	copy(p, s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint32(p[32:], uint32(n))
	p[39] = next
	return p
}

// setSum writes at b[at:] the checksum that makes parts (which include b)
// sum to 0xffff.
func setSum(b []byte, at int, parts ...[]byte) {
	binary.BigEndian.PutUint16(b[at:], 0)
	binary.BigEndian.PutUint16(b[at:], ^onesSum(parts...))
}

// v4 returns an IPv4 packet: DF as asked, protocol proto, payload, header
// checksum set.
func v4(src, dst string, df bool, proto byte, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	binary.BigEndian.PutUint16(p[4:], 0x1234)
	if df {
		p[6] = 0x40
	}
	p[8] = 63
	p[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	setSum(p, 10, p[:20])
	copy(p[20:], payload)
	return p
}

// v6 returns an IPv6 packet with the given next header and payload.
func v6(src, dst string, next byte, payload []byte) []byte {
	p := make([]byte, 40+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6] = next
	p[7] = 63
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	copy(p[40:], payload)
	return p
}

// filler returns n bytes of a recognisable pattern.
func filler(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// syn returns a TCP header with flags and the options, data offset set,
// checksum left 0 (the caller sets it over its pseudo-header).
func syn(flags byte, opts ...byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	t := make([]byte, 20+len(opts))
	binary.BigEndian.PutUint16(t[0:], 40000)
	binary.BigEndian.PutUint16(t[2:], 443)
	binary.BigEndian.PutUint32(t[4:], 0x01020304)
	t[12] = byte(len(t)/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], 64240)
	copy(t[20:], opts)
	return t
}

// tcp4 returns an IPv4 TCP segment with a correct TCP checksum.
func tcp4(tcp []byte, data ...byte) []byte {
	return tcp4At("10.1.0.2", "10.2.0.3", tcp, data...)
}

// tcp4At is tcp4 between the given addresses.
func tcp4At(src, dst string, tcp []byte, data ...byte) []byte {
	seg := append(append([]byte(nil), tcp...), data...)
	p := v4(src, dst, true, protoTCP, seg)
	ph := make([]byte, 12)
	copy(ph, p[12:20])
	ph[9] = protoTCP
	binary.BigEndian.PutUint16(ph[10:], uint16(len(seg)))
	setSum(p[20:], 16, ph, p[20:])
	return p
}

// tcp6 returns an IPv6 TCP segment with a correct TCP checksum.
func tcp6(tcp []byte, data ...byte) []byte {
	return tcp6At("fd01::2", "fd02::3", tcp, data...)
}

// tcp6At is tcp6 between the given addresses.
func tcp6At(src, dst string, tcp []byte, data ...byte) []byte {
	seg := append(append([]byte(nil), tcp...), data...)
	p := v6(src, dst, protoTCP, seg)
	setSum(p[40:], 16, pseudo(addr(p[8:24]), addr(p[24:40]), len(seg), protoTCP), p[40:])
	return p
}

func addr(b []byte) netip.Addr { a, _ := netip.AddrFromSlice(b); return a }

// tcpOK reports whether an IPv4 or IPv6 TCP packet's checksum is correct.
func tcpOK(p []byte) bool {
	if p[0]>>4 == 4 {
		ihl := int(p[0]&0xf) * 4
		end := min(int(binary.BigEndian.Uint16(p[2:])), len(p))
		ph := make([]byte, 12)
		copy(ph, p[12:20])
		ph[9] = protoTCP
		binary.BigEndian.PutUint16(ph[10:], uint16(end-ihl))
		return onesSum(ph, p[ihl:end]) == 0xffff
	}
	end := min(40+int(binary.BigEndian.Uint16(p[4:])), len(p))
	return onesSum(pseudo(addr(p[8:24]), addr(p[24:40]), end-40, protoTCP), p[40:end]) == 0xffff
}

// icmpOK checks an ICMP answer's checksums (IPv4 header and ICMP, or
// ICMPv6 with its pseudo-header) and returns the ICMP message.
func icmpOK(a []byte) ([]byte, bool) {
	if len(a) >= 20 && a[0] == 0x45 {
		return a[20:], onesSum(a[:20]) == 0xffff && onesSum(a[20:]) == 0xffff
	}
	if len(a) < 40 || a[0]>>4 != 6 || a[6] != protoICMPv6 {
		return nil, false
	}
	m := a[40:]
	return m, onesSum(pseudo(addr(a[8:24]), addr(a[24:40]), len(m), protoICMPv6), m) == 0xffff
}
