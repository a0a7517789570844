package packet

import (
	"encoding/binary"
	"testing"
)

func BenchmarkAddrs(b *testing.B) {
	p := v6("fd01::2", "fd02::3", 17, filler(1400))
	for b.Loop() {
		Addrs(p)
	}
}

func BenchmarkTooBig4(b *testing.B) {
	p := v4("10.1.0.2", "10.2.0.3", true, 17, filler(1400))
	buf := make([]byte, 0, 1280)
	for b.Loop() {
		TooBig(buf, p, from4, 1380)
	}
}

func BenchmarkTooBig6(b *testing.B) {
	p := v6("fd01::2", "fd02::3", 17, filler(1400))
	buf := make([]byte, 0, 1280)
	for b.Loop() {
		TooBig(buf, p, from6, 1380)
	}
}

// BenchmarkClampMSS is the cost on a SYN (the MSS restored each time) and
// on a full-size data segment, the common case, which it must pass over
// cheaply.
func BenchmarkClampMSS(b *testing.B) {
	b.Run("syn", func(b *testing.B) {
		p := tcp4(syn(tcpSYN, mssOpt(1460)...))
		for b.Loop() {
			binary.BigEndian.PutUint16(p[42:], 1460)
			ClampMSS(p, 1400)
		}
	})
	b.Run("data", func(b *testing.B) {
		p := tcp4(syn(0x10), filler(1400)...)
		for b.Loop() {
			ClampMSS(p, 1400)
		}
	})
}
