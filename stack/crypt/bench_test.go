package crypt

import (
	"fmt"
	"testing"
)

// TestZeroAllocs: in steady state (no rekey, no grace), Seal and Open
// allocate nothing when dst has room.
func TestZeroAllocs(t *testing.T) {
	for _, suite := range allSuites() {
		t.Run(suite.String(), func(t *testing.T) {
			s, o := pipe(t, suite, Options{})
			msg := payload(0, 1400)
			buf := make([]byte, 0, len(msg)+Overhead)
			if a := testing.AllocsPerRun(500, func() {
				if _, err := s.Seal(buf[:0], msg); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("Seal: %v allocations per packet", a)
			}
			pkts, _ := sealAll(t, s, 502, 1400)
			out := make([]byte, 0, 1400)
			i := 0
			if a := testing.AllocsPerRun(500, func() {
				if _, err := o.Open(out[:0], pkts[i]); err != nil {
					t.Fatal(err)
				}
				i++
			}); a != 0 {
				t.Errorf("Open: %v allocations per packet", a)
			}
			if a := testing.AllocsPerRun(100, func() { _, _ = o.Open(out[:0], pkts[0]) }); a != 0 {
				t.Errorf("Open of a replay: %v allocations per packet", a)
			}
		})
	}
}

func benchSizes() []int { return []int{64, 1400} }

func BenchmarkSeal(b *testing.B) {
	for _, suite := range allSuites() {
		for _, size := range benchSizes() {
			b.Run(fmt.Sprintf("%v/%d", suite, size), func(b *testing.B) {
				s, _ := pipe(b, suite, Options{})
				msg := payload(0, size)
				buf := make([]byte, 0, size+Overhead)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Seal(buf[:0], msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, suite := range allSuites() {
		for _, size := range benchSizes() {
			b.Run(fmt.Sprintf("%v/%d", suite, size), func(b *testing.B) {
				s, o := pipe(b, suite, Options{})
				const batch = 1024
				pkts, _ := sealAll(b, s, batch, size)
				out := make([]byte, 0, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i == batch {
						// Forget the batch so that it opens again: the
						// window reset costs one 264-byte clear per 1024.
						o.cur.win, i = window{}, 0
					}
					if _, err := o.Open(out[:0], pkts[i]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
