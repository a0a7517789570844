package netlab

import (
	"net/netip"
	"testing"
)

// synIPv4 is a SYN from 10.1.0.1:40000 to 10.2.0.1:8080 with the options
// Linux sends (MSS 1460, SACK permitted, timestamps, NOP, window scale).
var synIPv4 = []byte{
	0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 1, 0, 1, 10, 2, 0, 1,
	0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, TCPSYN, 0xff, 0xff, 0, 0, 0, 0,
	2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
}

// synACKIPv6 is a SYN-ACK from [fd02::1]:8080 to [fd01::1]:40000 with MSS
// 1440 after a NOP.
func synACKIPv6() []byte {
	p := make([]byte, 40, 68)
	p[0], p[5], p[6], p[7] = 0x60, 28, 6, 64
	copy(p[8:24], netip.MustParseAddr("fd02::1").AsSlice())
	copy(p[24:40], netip.MustParseAddr("fd01::1").AsSlice())
	return append(p, 0x1f, 0x90, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 2, 0x70, TCPSYN|TCPACK, 0xff, 0xff, 0, 0, 0, 0,
		1, 2, 4, 0x05, 0xa0, 0, 0, 0)
}

func TestPacketTCP(t *testing.T) {
	s, ok := Packet{Data: synIPv4}.TCP()
	want := Segment{netip.MustParseAddrPort("10.1.0.1:40000"), netip.MustParseAddrPort("10.2.0.1:8080"), TCPSYN, 1460}
	if !ok || s != want {
		t.Errorf("IPv4 SYN: %+v %v, want %+v", s, ok, want)
	}
	s, ok = Packet{Data: synACKIPv6()}.TCP()
	want = Segment{netip.MustParseAddrPort("[fd02::1]:8080"), netip.MustParseAddrPort("[fd01::1]:40000"), TCPSYN | TCPACK, 1440}
	if !ok || s != want {
		t.Errorf("IPv6 SYN-ACK: %+v %v, want %+v", s, ok, want)
	}
	bad := map[string]func(p []byte) []byte{
		"cut in the IP header":  func(p []byte) []byte { return p[:19] },
		"cut in the TCP header": func(p []byte) []byte { return p[:39] },
		"cut in the options":    func(p []byte) []byte { return p[:42] },
		"UDP":                   func(p []byte) []byte { p[9] = 17; return p },
		"a fragment":            func(p []byte) []byte { p[6] = 0x20; return p },
		"data offset too small": func(p []byte) []byte { p[32] = 0x40; return p },
		"option length 1":       func(p []byte) []byte { p[41] = 1; return p },
		"option past the end":   func(p []byte) []byte { p[41] = 30; return p },
		"not IP":                func(p []byte) []byte { p[0] = 0x55; return p },
	}
	for name, mangle := range bad {
		if s, ok := (Packet{Data: mangle(append([]byte(nil), synIPv4...))}).TCP(); ok {
			t.Errorf("%s: decoded as %+v", name, s)
		}
	}
	noMSS := append([]byte(nil), synIPv4...)
	noMSS[40] = tcpOptEnd
	if s, ok := (Packet{Data: noMSS}).TCP(); !ok || s.MSS != 0 {
		t.Errorf("options ending before the MSS: %+v %v, want MSS 0", s, ok)
	}
}

// FuzzPacketTCP checks that any packet is rejected or decodes to the
// ports and flags at the TCP header's place, without panicking.
func FuzzPacketTCP(f *testing.F) {
	f.Add(synIPv4)
	f.Add(synACKIPv6())
	f.Fuzz(func(t *testing.T, d []byte) {
		s, ok := Packet{Data: d}.TCP()
		if !ok {
			return
		}
		at := 40
		if d[0]>>4 == 4 {
			at = int(d[0]&0x0f) * 4
		}
		if s.Src.Port() != uint16(d[at])<<8|uint16(d[at+1]) || s.Flags != d[at+13] || s.MSS < 0 || s.MSS > 0xffff {
			t.Fatalf("%+v from %x", s, d)
		}
	})
}
