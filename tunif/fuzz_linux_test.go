package tunif

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// tcp4 returns an IPv4 TCP segment with an ACK; its checksum is left 0,
// as wireguard-go's GRO does not read it and the kernel then drops it.
func tcp4(src, dst netip.AddrPort, seq uint32, data []byte) []byte {
	s := make([]byte, 20+len(data))
	binary.BigEndian.PutUint16(s[0:], src.Port())
	binary.BigEndian.PutUint16(s[2:], dst.Port())
	binary.BigEndian.PutUint32(s[4:], seq)
	binary.BigEndian.PutUint32(s[8:], 1)
	s[12] = 5 << 4
	s[13] = 0x10 // ACK
	binary.BigEndian.PutUint16(s[14:], 65535)
	copy(s[20:], data)
	return ipv4(src.Addr(), dst.Addr(), unix.IPPROTO_TCP, s)
}

// fuzzSep splits a fuzz input into the packets of one batch.
var fuzzSep = []byte("|||")

// FuzzTUNWrite writes batches of arbitrary packets to a tun with offloads,
// as ovpn writes what peers send: wireguard-go's GRO parses and coalesces
// them, and nothing a peer sends may panic it or hang the Write.
func FuzzTUNWrite(f *testing.F) {
	from := netip.MustParseAddrPort("10.9.0.2:5000")
	to := netip.MustParseAddrPort("10.9.0.1:80")
	seg := func(seq uint32) []byte { return tcp4(from, to, seq, bytes.Repeat([]byte{'d'}, 100)) }
	f.Add(bytes.Join([][]byte{seg(1), seg(101), seg(201)}, fuzzSep))
	f.Add(bytes.Join([][]byte{seg(1), seg(50), seg(101)[:60]}, fuzzSep))
	f.Add(bytes.Join([][]byte{udp4(from, to, []byte("a")), udp4(from, to, []byte("b"))}, fuzzSep))
	f.Add(bytes.Join([][]byte{udp6(netip.MustParseAddrPort("[fd09::2]:1"), netip.MustParseAddrPort("[fd09::1]:2"), []byte("c")), {0x60}}, fuzzSep))
	f.Add([]byte{0x45})
	ns := newNetns(f)
	tun := openIn(f, ns, OpenTUN, Config{Name: "otun0", Up: true}, "10.9.0.1/24")
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts := bytes.Split(data, fuzzSep)
		bufs := make([][]byte, 0, len(pkts))
		for _, p := range pkts {
			if len(p) > 0 && len(bufs) < tun.BatchSize() {
				bufs = append(bufs, append(make([]byte, testOff, testOff+MaxPacket), p...))
			}
		}
		tun.Write(bufs, testOff) // the kernel may refuse them; that is all
	})
}
