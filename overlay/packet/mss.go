package packet

import "encoding/binary"

// The TCP header (RFC 9293): its fixed length, from which with the IP
// header's the MSS is derived (a segment of MSS bytes fills mtu with a
// 20-byte IPv4 or 40-byte IPv6 header and a 20-byte TCP header, RFC 879
// and RFC 8200 section 8.3), the SYN flag and the option kinds.
const (
	tcpLen    = 20
	tcpSYN    = 0x02
	optEnd    = 0
	optNOP    = 1
	optMSS    = 2
	optMSSLen = 4
)

// ClampMSS lowers the MSS option of a TCP SYN in pkt (IPv4 or IPv6) to at
// most what fits mtu, fixing the checksum; it reports whether it changed pkt.
//
// The MSS becomes at most mtu-40 (IPv4) or mtu-60 (IPv6); an MSS already
// that small is never raised. Only SYNs (and SYN-ACKs) whose TCP header
// directly follows the IP header are touched: IPv4 fragments and IPv6
// packets with extension headers are left alone, as is anything malformed.
// The checksum is updated incrementally (RFC 1624), so a segment that
// arrived with a bad checksum keeps a bad one.
func ClampMSS(pkt []byte, mtu int) bool {
	var tcp []byte
	var max int
	switch {
	case len(pkt) >= ipv4Len && pkt[0]>>4 == 4:
		ihl := ipv4Header(pkt)
		if ihl == 0 || pkt[9] != protoTCP {
			return false
		}
		if off, more := ipv4Frag(pkt); off != 0 || more {
			return false
		}
		end := min(int(binary.BigEndian.Uint16(pkt[2:4])), len(pkt))
		if end < ihl {
			return false
		}
		tcp, max = pkt[ihl:end], mtu-ipv4Len-tcpLen
	case len(pkt) >= ipv6Len && pkt[0]>>4 == 6:
		if pkt[6] != protoTCP {
			return false
		}
		end := min(ipv6Len+int(binary.BigEndian.Uint16(pkt[4:6])), len(pkt))
		tcp, max = pkt[ipv6Len:end], mtu-ipv6Len-tcpLen
	default:
		return false
	}
	if max <= 0 {
		return false
	}
	return clampTCP(tcp, uint16(min(max, 0xffff)))
}

// clampTCP lowers the MSS option of the TCP SYN segment tcp to max.
func clampTCP(tcp []byte, max uint16) bool {
	if len(tcp) < tcpLen || tcp[13]&tcpSYN == 0 {
		return false
	}
	doff := int(tcp[12]>>4) * 4
	if doff < tcpLen || doff > len(tcp) {
		return false
	}
	opts := tcp[tcpLen:doff]
	for i := 0; i < len(opts); {
		switch opts[i] {
		case optEnd:
			return false
		case optNOP:
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return false
		}
		if opts[i] == optMSS && opts[i+1] == optMSSLen {
			return setMSS(tcp, tcpLen+i+2, max)
		}
		i += int(opts[i+1])
	}
	return false
}

// setMSS lowers the MSS value at tcp[at:at+2] to max and updates the
// checksum. The checksum sums 16-bit words from the segment's start, so a
// value at an odd offset counts with its bytes swapped; one's-complement
// sums commute with the swap, so the update is done on swapped words.
func setMSS(tcp []byte, at int, max uint16) bool {
	old := binary.BigEndian.Uint16(tcp[at:])
	if old <= max {
		return false
	}
	binary.BigEndian.PutUint16(tcp[at:], max)
	o, n := old, max
	if at%2 == 1 {
		o, n = o>>8|o<<8, n>>8|n<<8
	}
	c := binary.BigEndian.Uint16(tcp[16:18])
	binary.BigEndian.PutUint16(tcp[16:], update(c, o, n))
	return true
}
