package netlab

import (
	"encoding/binary"
	"net/netip"
	"syscall"
)

// Segment is the head of a TCP segment in a captured packet: what a test
// asks of a handshake.
type Segment struct {
	Src, Dst netip.AddrPort
	Flags    byte // the header's flags byte: TCPSYN, TCPACK, ...
	MSS      int  // the MSS option's value (RFC 9293); 0 if it has none
}

// TCP header flags, as Segment.Flags holds them.
const (
	TCPFIN = 0x01
	TCPSYN = 0x02
	TCPRST = 0x04
	TCPACK = 0x10
)

// TCP option kinds and the MSS option's length.
const (
	tcpOptEnd = 0
	tcpOptNOP = 1
	tcpOptMSS = 2
	tcpMSSLen = 4
)

// TCP decodes the TCP header of the packet: an unfragmented IPv4 packet,
// or an IPv6 one whose TCP header follows the fixed header (no extension
// headers). It reports false for anything else, or a header that is cut
// short or whose options are malformed.
func (p Packet) TCP() (Segment, bool) {
	d := p.Data
	var src, dst netip.Addr
	var tcp []byte
	switch {
	case len(d) >= 20 && d[0]>>4 == 4:
		ihl := int(d[0]&0x0f) * 4
		if ihl < 20 || len(d) < ihl || d[9] != syscall.IPPROTO_TCP || binary.BigEndian.Uint16(d[6:8])&0x3fff != 0 {
			return Segment{}, false
		}
		src, dst, tcp = netip.AddrFrom4([4]byte(d[12:16])), netip.AddrFrom4([4]byte(d[16:20])), d[ihl:]
	case len(d) >= 40 && d[0]>>4 == 6:
		if d[6] != syscall.IPPROTO_TCP {
			return Segment{}, false
		}
		src, dst, tcp = netip.AddrFrom16([16]byte(d[8:24])), netip.AddrFrom16([16]byte(d[24:40])), d[40:]
	default:
		return Segment{}, false
	}
	if len(tcp) < 20 {
		return Segment{}, false
	}
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return Segment{}, false
	}
	mss, ok := tcpMSS(tcp[20:doff])
	if !ok {
		return Segment{}, false
	}
	return Segment{
		Src:   netip.AddrPortFrom(src, binary.BigEndian.Uint16(tcp[0:2])),
		Dst:   netip.AddrPortFrom(dst, binary.BigEndian.Uint16(tcp[2:4])),
		Flags: tcp[13],
		MSS:   mss,
	}, true
}

// tcpMSS finds the MSS option among a TCP header's options; 0 if there is
// none, false if the options are malformed before it.
func tcpMSS(opts []byte) (int, bool) {
	for len(opts) > 0 {
		switch opts[0] {
		case tcpOptEnd:
			return 0, true
		case tcpOptNOP:
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			return 0, false
		}
		if opts[0] == tcpOptMSS && opts[1] == tcpMSSLen {
			return int(binary.BigEndian.Uint16(opts[2:4])), true
		}
		opts = opts[opts[1]:]
	}
	return 0, true
}
