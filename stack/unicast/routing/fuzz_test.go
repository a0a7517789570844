package routing

import (
	"bytes"
	"testing"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

func FuzzParseLSU(f *testing.F) {
	for _, u := range sampleLSUs()[:3] {
		b, _ := u.AppendBinary(nil)
		f.Add(b)
	}
	f.Add(lsuBytes(1, 1, 2, 10, Link{4, 1}, Link{3, 1}))
	f.Add(lsuBytes(1, 1, 1, 10, Link{10, 1}))
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseLSU(b)
		if err != nil {
			return
		}
		out, err := u.AppendBinary(nil)
		if err != nil {
			t.Fatalf("%x parses to %+v, which does not encode: %v", b, u, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding %x gives %x", b, out)
		}
		if typ, err := MessageType(b); err != nil || typ != TypeLSU {
			t.Fatalf("MessageType of a valid LSU: %d, %v", typ, err)
		}
	})
}

func FuzzMessageType(f *testing.F) {
	f.Add([]byte{1, 1})
	f.Add([]byte{1, 2, 0})
	f.Add([]byte{2, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, err := MessageType(b)
		if err != nil {
			if typ != 0 {
				t.Fatalf("MessageType(%x) = %d with error %v", b, typ, err)
			}
			return
		}
		if typ != TypeLSU {
			t.Fatalf("MessageType(%x) = %d", b, typ)
		}
	})
}

// FuzzCompute builds a DB of up to 6 members from arbitrary links, three
// bytes each (from, to, metric), some listed by one end only, and checks
// every policy's routes against the brute-force reference.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 0, 1, 1, 2, 1, 2, 1, 1, 2, 3, 4, 3, 2, 9})
	f.Add([]byte{0, 1, 1, 1, 0, 5, 0, 2, 1, 2, 0, 1, 1, 2, 1, 2, 1, 1, 3, 3, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		links := map[addr.Addr][]Link{}
		listed := map[[2]addr.Addr]bool{}
		for ; len(b) >= 3; b = b[3:] {
			from, to := addr.Addr(1+b[0]%6), addr.Addr(1+b[1]%6)
			if _, ok := links[to]; !ok {
				links[to] = nil
			}
			if from == to || listed[[2]addr.Addr{from, to}] {
				continue
			}
			listed[[2]addr.Addr{from, to}] = true
			links[from] = append(links[from], Link{to, uint16(1 + b[2]%4)})
		}
		checkTopology(t, newTopology(links), 0)
	})
}
