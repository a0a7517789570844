package tunif

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// udp6 returns an IPv6 UDP datagram, its checksum (mandatory in IPv6) set.
func udp6(src, dst netip.AddrPort, data []byte) []byte {
	p := make([]byte, 40+8+len(data))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(8+len(data)))
	p[6], p[7] = unix.IPPROTO_UDP, 64
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	u := p[40:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], data)
	sum := csum(0, p[8:40]) + uint32(len(u)) + unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(u[6:], fold(csum(sum, u)))
	return p
}

// udp6Payload returns the payload of an IPv6 UDP datagram to dst (no
// extension headers), or false.
func udp6Payload(p []byte, dst netip.AddrPort) ([]byte, bool) {
	if len(p) < 48 || p[0]>>4 != 6 || p[6] != unix.IPPROTO_UDP || [16]byte(p[24:40]) != dst.Addr().As16() ||
		binary.BigEndian.Uint16(p[42:]) != dst.Port() {
		return nil, false
	}
	return p[48:], true
}

// TestTAPNeighbourSolicitation reads the kernel's IPv6 neighbour
// solicitation for an on-link address it sends to.
func TestTAPNeighbourSolicitation(t *testing.T) {
	ns := newNetns(t)
	tap := openIn(t, ns, OpenTAP, Config{Name: "otap0", Up: true}, "fd09:1::1/64")
	target := netip.MustParseAddr("fd09:1::2")
	c := listenUDP(t, ns, "[fd09:1::1]:0")
	if _, err := c.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(target, 4000)); err != nil {
		t.Fatal(err)
	}
	readUntil(t, tap, "a neighbour solicitation for "+target.String(), func(f []byte) bool {
		// Ethernet, IPv6, ICMPv6 type 135, the target after 8 bytes.
		return len(f) >= 14+40+24 && binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_IPV6 &&
			f[14+6] == unix.IPPROTO_ICMPV6 && f[54] == 135 && [16]byte(f[62:78]) == target.As16()
	})
}
