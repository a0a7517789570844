package crypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// fuzzPackets seals the packets FuzzOpen knows: 12 packets over three
// epochs (4 per epoch), from fixed keys.
func fuzzPackets(t testing.TB) (keys Keys, pkts, plain [][]byte) {
	ini, resp := keyPair(t, AES256GCM)
	s, err := ini.SealerWith(Options{RekeyPackets: 4})
	if err != nil {
		t.Fatal(err)
	}
	pkts, plain = sealAll(t, s, 12, 24)
	return resp, pkts, plain
}

// splitPackets cuts fuzz input into packets, each preceded by its length
// as one byte.
func splitPackets(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := min(int(data[0]), len(data)-1)
		out = append(out, data[1:1+n])
		data = data[1+n:]
	}
	return out
}

func joinPackets(pkts ...[]byte) []byte {
	var b []byte
	for _, p := range pkts {
		b = append(b, byte(len(p)))
		b = append(b, p...)
	}
	return b
}

// FuzzOpen feeds arbitrary packet sequences to one Opener: it never
// panics, fails only with the documented errors, and opens only packets
// that were sealed, each at most once, to their plaintext.
func FuzzOpen(f *testing.F) {
	_, pkts, _ := fuzzPackets(f)
	f.Add(joinPackets(pkts...))
	f.Add(joinPackets(pkts[5], pkts[4], pkts[0], pkts[9], pkts[7], pkts[4]))
	for i, p := range pkts {
		f.Add(joinPackets(p))
		bad := bytes.Clone(p)
		bad[i%len(bad)] ^= 0x10
		f.Add(joinPackets(p, bad, p))
		f.Add(joinPackets(p[:Overhead-1], p[:Overhead]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, pkts, plain := fuzzPackets(t)
		o, err := keys.OpenerWith(Options{GracePackets: 2})
		if err != nil {
			t.Fatal(err)
		}
		opened := map[int]bool{}
		for _, p := range splitPackets(data) {
			out, err := o.Open(nil, p)
			if err != nil {
				if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrReplay) &&
					!errors.Is(err, ErrShort) && !errors.Is(err, ErrEpoch) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			i := index(pkts, p)
			if i < 0 {
				t.Fatalf("opened a packet that was never sealed: %x", p)
			}
			if opened[i] {
				t.Fatalf("packet %d opened twice", i)
			}
			opened[i] = true
			if !bytes.Equal(out, plain[i]) {
				t.Fatalf("packet %d opened to the wrong plaintext", i)
			}
		}
		st := o.Stats()
		if st.Opened != uint64(len(opened)) {
			t.Fatalf("stats count %d opened, %d were", st.Opened, len(opened))
		}
	})
}

func index(pkts [][]byte, p []byte) int {
	for i, q := range pkts {
		if bytes.Equal(p, q) {
			return i
		}
	}
	return -1
}

// TestFuzzPacketsOpen makes sure the fuzz seeds exercise success: the
// sealed packets open in order with the fuzz target's options.
func TestFuzzPacketsOpen(t *testing.T) {
	keys, pkts, plain := fuzzPackets(t)
	o, _ := keys.OpenerWith(Options{GracePackets: 2})
	for _, p := range splitPackets(joinPackets(pkts...)) {
		i := index(pkts, p)
		mustOpen(t, o, p, plain[i], "fuzz seed packet")
	}
	if e, c := binary.BigEndian.Uint64(pkts[11][1:9]), pkts[11][0]; e != 3 || c != 2 {
		t.Fatalf("last packet: counter %d epoch %d, want 3 in epoch 2", e, c)
	}
}
