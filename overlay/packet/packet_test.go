package packet

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"testing"
)

var (
	from4 = netip.MustParseAddr("10.77.0.1")
	from6 = netip.MustParseAddr("fd77::1")
)

func TestAddrs(t *testing.T) {
	for _, c := range []struct {
		pkt      []byte
		src, dst string
	}{
		{v4("10.1.0.2", "10.2.0.3", false, 17, nil), "10.1.0.2", "10.2.0.3"},
		{v6("fd01::2", "ff02::1", 17, nil), "fd01::2", "ff02::1"},
		{nil, "", ""},
		{v4("10.1.0.2", "10.2.0.3", false, 17, nil)[:19], "", ""},
		{v6("fd01::2", "fd02::3", 17, nil)[:39], "", ""},
		{append([]byte{0x55}, make([]byte, 40)...), "", ""},
	} {
		src, dst, ok := Addrs(c.pkt)
		if ok != (c.src != "") || (ok && (src.String() != c.src || dst.String() != c.dst)) {
			t.Errorf("Addrs(% x) = %v %v %v, want %s %s", c.pkt, src, dst, ok, c.src, c.dst)
		}
	}
}

// TestGolden compares whole answers with ones built apart, by a Python
// script with struct and its own checksum, byte for byte.
func TestGolden(t *testing.T) {
	for _, c := range []struct{ name, in, out string }{
		{"v4 udp df", "45000020123440003f1115920a0100020a02000313881770000c000061626364",
			"45c0003c00000000400165b10a4d00010a010002030407cd0000056445000020123440003f1115920a0100020a02000313881770000c000061626364"},
		{"v6 echo", "60000000000c3a3ffd010000000000000000000000000002fd0200000000000000000000000000038000a6d60007000170696e67",
			"60000000003c3a40fd770000000000000000000000000001fd010000000000000000000000000002020063a30000056460000000000c3a3ffd010000000000000000000000000002fd0200000000000000000000000000038000a6d60007000170696e67"},
	} {
		in, _ := hex.DecodeString(c.in)
		from := from4
		if in[0]>>4 == 6 {
			from = from6
		}
		got := TooBig(nil, in, from, 1380)
		if hex.EncodeToString(got) != c.out {
			t.Errorf("%s: TooBig =\n%x\nwant\n%s", c.name, got, c.out)
		}
	}
}

func TestTooBig4(t *testing.T) {
	for _, n := range []int{0, 12, 528, 1380} {
		pkt := v4("10.1.0.2", "10.2.0.3", true, 17, filler(n))
		a := TooBig(nil, pkt, from4, 1300)
		m, ok := icmpOK(a)
		if !ok {
			t.Fatalf("payload %d: bad checksums in % x", n, a)
		}
		wantLen := min(20+8+len(pkt), 576)
		if len(a) != wantLen || int(binary.BigEndian.Uint16(a[2:])) != wantLen {
			t.Errorf("payload %d: answer of %d bytes (length field %d), want %d", n, len(a), binary.BigEndian.Uint16(a[2:]), wantLen)
		}
		if a[9] != 1 || a[8] != 64 || !bytes.Equal(a[12:16], []byte{10, 77, 0, 1}) || !bytes.Equal(a[16:20], pkt[12:16]) {
			t.Errorf("payload %d: header % x", n, a[:20])
		}
		if m[0] != 3 || m[1] != 4 || binary.BigEndian.Uint16(m[4:]) != 0 || binary.BigEndian.Uint16(m[6:]) != 1300 {
			t.Errorf("payload %d: ICMP % x, want 3/4 with MTU 1300", n, m[:8])
		}
		if !bytes.Equal(m[8:], pkt[:len(m)-8]) {
			t.Errorf("payload %d: quote is not the packet's start", n)
		}
	}
	if a := TooBig(nil, v4("10.1.0.2", "10.2.0.3", true, 17, nil), from4, 100000); binary.BigEndian.Uint16(a[26:]) != 0xffff {
		t.Errorf("an MTU above 65535 announced as %d", binary.BigEndian.Uint16(a[26:]))
	}
}

func TestTooBig6(t *testing.T) {
	for _, n := range []int{0, 100, 1192, 1400} {
		pkt := v6("fd01::2", "fd02::3", 17, filler(n))
		a := TooBig(nil, pkt, from6, 1280)
		m, ok := icmpOK(a)
		if !ok {
			t.Fatalf("payload %d: bad checksum in % x", n, a)
		}
		wantLen := min(40+8+len(pkt), 1280)
		if len(a) != wantLen || int(binary.BigEndian.Uint16(a[4:]))+40 != wantLen {
			t.Errorf("payload %d: answer of %d bytes, want %d", n, len(a), wantLen)
		}
		if a[7] != 64 || addr(a[8:24]) != from6 || !bytes.Equal(a[24:40], pkt[8:24]) {
			t.Errorf("payload %d: header % x", n, a[:40])
		}
		if m[0] != 2 || m[1] != 0 || binary.BigEndian.Uint32(m[4:]) != 1280 {
			t.Errorf("payload %d: ICMPv6 % x, want 2/0 with MTU 1280", n, m[:8])
		}
		if !bytes.Equal(m[8:], pkt[:len(m)-8]) {
			t.Errorf("payload %d: quote is not the packet's start", n)
		}
	}
}

func TestUnreachable(t *testing.T) {
	a := Unreachable(nil, v4("10.1.0.2", "10.9.0.1", false, 6, filler(40)), from4)
	if m, ok := icmpOK(a); !ok || m[0] != 3 || m[1] != 0 || binary.BigEndian.Uint32(m[4:]) != 0 {
		t.Errorf("IPv4: % x, want a valid 3/0 (net unreachable)", a)
	}
	a = Unreachable(nil, v6("fd01::2", "fd09::1", 6, filler(40)), from6)
	if m, ok := icmpOK(a); !ok || m[0] != 1 || m[1] != 0 || binary.BigEndian.Uint32(m[4:]) != 0 {
		t.Errorf("IPv6: % x, want a valid 1/0 (no route)", a)
	}
}

// ext6 returns an IPv6 packet with one extension header of type ext
// before the upper-layer payload of protocol next.
func ext6(ext, next byte, hdr, payload []byte) []byte {
	h := append([]byte{next}, hdr...)
	return v6("fd01::2", "fd02::3", ext, append(h, payload...))
}

func TestNoAnswer(t *testing.T) {
	icmpErr4 := []byte{3, 1, 0, 0, 0, 0, 0, 0}
	echo4 := []byte{8, 0, 0, 0, 0, 1, 0, 1}
	frag := v4("10.1.0.2", "10.2.0.3", true, 17, filler(20))
	frag[7] = 1 // fragment offset 8 bytes
	badIHL := v4("10.1.0.2", "10.2.0.3", true, 17, nil)
	badIHL[0] = 0x4f
	nonfirst6 := ext6(44, 17, []byte{0, 0, 8, 0, 0, 0, 1}, filler(8))
	first6 := ext6(44, 17, []byte{0, 0, 1, 0, 0, 0, 1}, filler(8)) // offset 0, more fragments
	for _, c := range []struct {
		name         string
		pkt          []byte
		from         netip.Addr
		mtu          int
		big, unreach bool // whether TooBig, Unreachable answer
	}{
		{"v4 DF", v4("10.1.0.2", "10.2.0.3", true, 17, nil), from4, 1400, true, true},
		{"v4 no DF", v4("10.1.0.2", "10.2.0.3", false, 17, nil), from4, 1400, false, true},
		{"v4 non-first fragment", frag, from4, 1400, false, false},
		{"v4 ICMP error", v4("10.1.0.2", "10.2.0.3", true, 1, icmpErr4), from4, 1400, false, false},
		{"v4 ICMP echo", v4("10.1.0.2", "10.2.0.3", true, 1, echo4), from4, 1400, true, true},
		{"v4 ICMP unknown type", v4("10.1.0.2", "10.2.0.3", true, 1, []byte{42, 0, 0, 0}), from4, 1400, false, false},
		{"v4 ICMP empty", v4("10.1.0.2", "10.2.0.3", true, 1, nil), from4, 1400, false, false},
		{"v4 src 0.0.0.0", v4("0.0.0.0", "10.2.0.3", true, 17, nil), from4, 1400, false, false},
		{"v4 src loopback", v4("127.0.0.1", "10.2.0.3", true, 17, nil), from4, 1400, false, false},
		{"v4 src multicast", v4("224.0.0.5", "10.2.0.3", true, 17, nil), from4, 1400, false, false},
		{"v4 src class E", v4("240.0.0.1", "10.2.0.3", true, 17, nil), from4, 1400, false, false},
		{"v4 dst broadcast", v4("10.1.0.2", "255.255.255.255", true, 17, nil), from4, 1400, false, false},
		{"v4 dst multicast", v4("10.1.0.2", "239.1.1.1", true, 17, nil), from4, 1400, false, false},
		{"v4 from IPv6", v4("10.1.0.2", "10.2.0.3", true, 17, nil), from6, 1400, false, false},
		{"v4 mtu 0", v4("10.1.0.2", "10.2.0.3", true, 17, nil), from4, 0, false, true},
		{"v4 header length past end", badIHL, from4, 1400, false, false},
		{"v4 short", v4("10.1.0.2", "10.2.0.3", true, 17, nil)[:19], from4, 1400, false, false},
		{"v6", v6("fd01::2", "fd02::3", 17, nil), from6, 1280, true, true},
		{"v6 from IPv4", v6("fd01::2", "fd02::3", 17, nil), from4, 1280, false, false},
		{"v6 from 4in6", v6("fd01::2", "fd02::3", 17, nil), netip.MustParseAddr("::ffff:10.0.0.1"), 1280, false, false},
		{"v6 ICMPv6 error", v6("fd01::2", "fd02::3", 58, []byte{1, 0, 0, 0}), from6, 1280, false, false},
		{"v6 ICMPv6 echo", v6("fd01::2", "fd02::3", 58, []byte{128, 0, 0, 0}), from6, 1280, true, true},
		{"v6 ICMPv6 empty", v6("fd01::2", "fd02::3", 58, nil), from6, 1280, false, false},
		{"v6 hop-by-hop then ICMPv6 error", ext6(0, 58, make([]byte, 7), []byte{3, 0, 0, 0}), from6, 1280, false, false},
		{"v6 hop-by-hop then UDP", ext6(0, 17, make([]byte, 7), filler(8)), from6, 1280, true, true},
		{"v6 truncated extension", ext6(60, 17, []byte{4, 0, 0}, nil), from6, 1280, false, false},
		{"v6 first fragment", first6, from6, 1280, true, true},
		{"v6 non-first fragment", nonfirst6, from6, 1280, false, false},
		{"v6 src unspecified", v6("::", "fd02::3", 17, nil), from6, 1280, false, false},
		{"v6 src loopback", v6("::1", "fd02::3", 17, nil), from6, 1280, false, false},
		{"v6 src multicast", v6("ff02::1", "fd02::3", 17, nil), from6, 1280, false, false},
		{"v6 dst multicast", v6("fd01::2", "ff05::2", 17, nil), from6, 1280, true, false},
		{"v6 short", v6("fd01::2", "fd02::3", 17, nil)[:39], from6, 1280, false, false},
		{"other version", append([]byte{0x50}, make([]byte, 60)...), from6, 1280, false, false},
		{"empty", nil, from4, 1280, false, false},
	} {
		if a := TooBig(nil, c.pkt, c.from, c.mtu); (a != nil) != c.big {
			t.Errorf("%s: TooBig answered %v, want %v", c.name, a != nil, c.big)
		} else if a != nil {
			if _, ok := icmpOK(a); !ok {
				t.Errorf("%s: TooBig answer with bad checksum", c.name)
			}
		}
		if a := Unreachable(nil, c.pkt, c.from); (a != nil) != c.unreach {
			t.Errorf("%s: Unreachable answered %v, want %v", c.name, a != nil, c.unreach)
		} else if a != nil {
			if _, ok := icmpOK(a); !ok {
				t.Errorf("%s: Unreachable answer with bad checksum", c.name)
			}
		}
	}
}

func TestAnswerUsesDst(t *testing.T) {
	buf := make([]byte, 0, 1280)
	for _, c := range []struct {
		pkt  []byte
		from netip.Addr
	}{
		{v4("10.1.0.2", "10.2.0.3", true, 17, filler(1400)), from4},
		{v6("fd01::2", "fd02::3", 17, filler(1400)), from6},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			a := TooBig(buf, c.pkt, c.from, 1300)
			if &a[0] != &buf[:1][0] {
				t.Fatal("TooBig did not write into dst")
			}
			if Unreachable(buf, c.pkt, c.from) == nil {
				t.Fatal("no answer")
			}
		})
		if allocs != 0 {
			t.Errorf("%v allocations per answer into a buffer with room", allocs)
		}
	}
}

// mssOpt is an MSS option of value v.
func mssOpt(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }

func mssOf(t *testing.T, p []byte) uint16 {
	t.Helper()
	off := 20
	if p[0]>>4 == 6 {
		off = 40
	}
	i := bytes.Index(p[off+20:], []byte{2, 4})
	if i < 0 {
		t.Fatal("no MSS option")
	}
	return binary.BigEndian.Uint16(p[off+20+i+2:])
}

func TestClampMSS(t *testing.T) {
	const synAck = 0x12
	ws := []byte{3, 3, 7} // window scale
	sack := []byte{4, 2}  // SACK permitted
	ts := append([]byte{8, 10}, make([]byte, 8)...)
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, c := range []struct {
		name string
		pkt  []byte
		mtu  int
		want uint16 // MSS after; 0: pkt unchanged
	}{
		{"v4 SYN", tcp4(syn(tcpSYN, mssOpt(1460)...)), 1400, 1360},
		{"v4 SYN-ACK", tcp4(syn(synAck, mssOpt(1460)...)), 1400, 1360},
		{"v4 SYN odd offset", tcp4(syn(tcpSYN, cat([]byte{1}, mssOpt(1460), ws)...)), 1400, 1360},
		{"v4 SYN after options", tcp4(syn(tcpSYN, cat(sack, ts, ws, mssOpt(8960))...)), 1420, 1380},
		{"v4 SYN with data", tcp4(syn(tcpSYN, mssOpt(1460)...), filler(33)...), 1400, 1360},
		{"v4 SYN MSS below", tcp4(syn(tcpSYN, mssOpt(1200)...)), 1400, 0},
		{"v4 SYN MSS equal", tcp4(syn(tcpSYN, mssOpt(1360)...)), 1400, 0},
		{"v4 ACK", tcp4(syn(0x10, mssOpt(1460)...)), 1400, 0},
		{"v4 no MSS", tcp4(syn(tcpSYN, cat(sack, ws)...)), 1400, 0},
		{"v4 MSS after end of options", tcp4(syn(tcpSYN, cat([]byte{0, 1, 1, 1}, mssOpt(1460))...)), 1400, 0},
		{"v4 option length 0", tcp4(syn(tcpSYN, cat([]byte{5, 0, 1, 1}, mssOpt(1460))...)), 1400, 0},
		{"v4 option past end", tcp4(syn(tcpSYN, cat([]byte{1, 1, 5, 9})...)), 1400, 0},
		{"v4 MTU too small", tcp4(syn(tcpSYN, mssOpt(1460)...)), 40, 0},
		{"v6 SYN", tcp6(syn(tcpSYN, mssOpt(1440)...)), 1400, 1340},
		{"v6 SYN odd offset", tcp6(syn(tcpSYN, cat([]byte{1, 1, 1}, mssOpt(1440), sack, ts)...)), 1280, 1220},
		{"v6 SYN-ACK", tcp6(syn(synAck, mssOpt(65535)...)), 9000, 8940},
		{"v6 MSS below", tcp6(syn(tcpSYN, mssOpt(1220)...)), 1400, 0},
	} {
		p := bytes.Clone(c.pkt)
		if !tcpOK(p) {
			t.Fatalf("%s: test packet with a bad checksum", c.name)
		}
		changed := ClampMSS(p, c.mtu)
		if changed != (c.want != 0) {
			t.Errorf("%s: ClampMSS = %v, want %v", c.name, changed, c.want != 0)
			continue
		}
		if !changed {
			if !bytes.Equal(p, c.pkt) {
				t.Errorf("%s: unchanged by its answer, but bytes differ", c.name)
			}
			continue
		}
		if got := mssOf(t, p); got != c.want {
			t.Errorf("%s: MSS %d, want %d", c.name, got, c.want)
		}
		if !tcpOK(p) {
			t.Errorf("%s: checksum wrong after clamping", c.name)
		}
	}
}

func TestClampMSSLeavesOthers(t *testing.T) {
	frag := tcp4(syn(tcpSYN, mssOpt(1460)...))
	frag[6] |= 0x20 // more fragments
	hbh := v6("fd01::2", "fd02::3", 0, append([]byte{protoTCP, 0, 0, 0, 0, 0, 0, 0}, syn(tcpSYN, mssOpt(1460)...)...))
	udp := v4("10.1.0.2", "10.2.0.3", true, 17, syn(tcpSYN, mssOpt(1460)...))
	short := tcp4(syn(tcpSYN, mssOpt(1460)...))
	binary.BigEndian.PutUint16(short[2:], 30) // total length cuts the header
	for name, p := range map[string][]byte{
		"v4 fragment": frag, "v6 hop-by-hop": hbh, "UDP": udp, "total length short": short,
		"empty": nil, "one byte": {0x45}, "v6 short": make([]byte, 39),
	} {
		q := bytes.Clone(p)
		if ClampMSS(q, 1000) || !bytes.Equal(p, q) {
			t.Errorf("%s: changed", name)
		}
	}
}

func TestClampMSSNoAlloc(t *testing.T) {
	p := tcp4(syn(tcpSYN, mssOpt(1460)...))
	if n := testing.AllocsPerRun(100, func() {
		binary.BigEndian.PutUint16(p[20+22:], 1460) // restores the MSS, not the checksum: fine here
		ClampMSS(p, 1400)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
