package packet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// seeds gives each fuzz target a few well-formed packets to mutate.
func seeds(f *testing.F, add func(pkt []byte)) {
	add(v4("10.1.0.2", "10.2.0.3", true, 17, filler(30)))
	add(v4("10.1.0.2", "10.2.0.3", true, 1, []byte{8, 0, 0, 0, 0, 1, 0, 1}))
	add(v6("fd01::2", "fd02::3", 58, []byte{128, 0, 0, 0}))
	add(ext6(44, 17, []byte{0, 0, 1, 0, 0, 0, 1}, filler(8)))
	add(tcp4(syn(tcpSYN, 1, 2, 4, 5, 0xb4, 3, 3, 7)))
	add(tcp6(syn(tcpSYN, mssOpt(1440)...)))
}

func FuzzAddrs(f *testing.F) {
	seeds(f, func(p []byte) { f.Add(p) })
	f.Fuzz(func(t *testing.T, pkt []byte) {
		src, dst, ok := Addrs(pkt)
		if ok && (src.Is4() != dst.Is4() || (src.Is4() != (pkt[0]>>4 == 4))) {
			t.Fatalf("Addrs(% x) = %v %v", pkt, src, dst)
		}
	})
}

// checkAnswer checks what TooBig and Unreachable promise of an answer.
func checkAnswer(t *testing.T, a, pkt []byte, from netip.Addr) {
	if a == nil {
		return
	}
	if _, ok := icmpOK(a); !ok {
		t.Fatalf("answer with bad checksum: % x", a)
	}
	hdr, limit := 28, 576
	if from.Is6() {
		hdr, limit = 48, 1280
	}
	if len(a) > limit || !bytes.Equal(a[hdr:], pkt[:len(a)-hdr]) {
		t.Fatalf("answer of %d bytes does not quote the packet", len(a))
	}
}

func FuzzTooBig(f *testing.F) {
	seeds(f, func(p []byte) { f.Add(p, 1300) })
	f.Fuzz(func(t *testing.T, pkt []byte, mtu int) {
		for _, from := range []netip.Addr{from4, from6} {
			a := TooBig(make([]byte, 0, 64), pkt, from, mtu)
			checkAnswer(t, a, pkt, from)
		}
	})
}

func FuzzUnreachable(f *testing.F) {
	seeds(f, func(p []byte) { f.Add(p) })
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, from := range []netip.Addr{from4, from6} {
			checkAnswer(t, Unreachable(nil, pkt, from), pkt, from)
		}
	})
}

func FuzzClampMSS(f *testing.F) {
	seeds(f, func(p []byte) { f.Add(p, 1400) })
	f.Fuzz(func(t *testing.T, pkt []byte, mtu int) {
		p := bytes.Clone(pkt)
		if !ClampMSS(p, mtu) {
			if !bytes.Equal(p, pkt) {
				t.Fatal("changed but reported unchanged")
			}
			return
		}
		// Only the TCP checksum and one MSS value (after the option's
		// kind and length bytes) may differ, the MSS must have gone
		// down, and a correct checksum stays correct.
		ip := 40
		if p[0]>>4 == 4 {
			ip = int(p[0]&0xf) * 4
		}
		var diff []int
		for i := range p {
			if p[i] != pkt[i] && i != ip+16 && i != ip+17 {
				diff = append(diff, i)
			}
		}
		if len(diff) == 0 || len(diff) > 2 || len(diff) == 2 && diff[1] != diff[0]+1 {
			t.Fatalf("bytes %v changed, not one MSS value", diff)
		}
		mss := diff[0]
		if p[mss-1] != optMSSLen { // only the value's low byte changed
			mss--
		}
		if mss < ip+tcpLen+2 || p[mss-2] != optMSS || p[mss-1] != optMSSLen {
			t.Fatalf("bytes %v changed outside an MSS option", diff)
		}
		if binary.BigEndian.Uint16(p[mss:]) >= binary.BigEndian.Uint16(pkt[mss:]) {
			t.Fatal("MSS not lowered")
		}
		if tcpOK(pkt) && !tcpOK(p) {
			t.Fatal("a correct checksum became wrong")
		}
	})
}
