package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// allSuites lists the suites every test runs with.
func allSuites() []Suite { return []Suite{AES256GCM, ChaCha20Poly1305} }

// testSecret and testTranscript are the inputs of the key vectors (see
// testdata/vectors.py).
func testSecret() []byte     { return seq(0x00, 32) }
func testTranscript() []byte { return seq(0x20, 32) }

// seq returns n bytes counting up from first.
func seq(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

// keyPair derives both ends' keys from the test secret and transcript.
func keyPair(t testing.TB, s Suite) (ini, resp Keys) {
	t.Helper()
	ini, err := DeriveKeys(s, testSecret(), testTranscript(), true)
	if err != nil {
		t.Fatalf("derive initiator keys: %v", err)
	}
	resp, err = DeriveKeys(s, testSecret(), testTranscript(), false)
	if err != nil {
		t.Fatalf("derive responder keys: %v", err)
	}
	return ini, resp
}

// pipe returns the initiator's Sealer and the responder's Opener: the two
// ends of one direction.
func pipe(t testing.TB, s Suite, o Options) (*Sealer, *Opener) {
	t.Helper()
	ini, resp := keyPair(t, s)
	sl, err := ini.SealerWith(o)
	if err != nil {
		t.Fatalf("sealer: %v", err)
	}
	op, err := resp.OpenerWith(o)
	if err != nil {
		t.Fatalf("opener: %v", err)
	}
	return sl, op
}

// payload returns the distinct plaintext of packet i, n bytes long (at
// least 8, so that i is in it).
func payload(i, n int) []byte {
	b := make([]byte, max(n, 8))
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	copy(b, fmt.Sprintf("%08d", i%100000000))
	return b
}

// sealAll seals n packets of size bytes and returns them with their
// plaintexts.
func sealAll(t testing.TB, s *Sealer, n, size int) (pkts, plain [][]byte) {
	t.Helper()
	for i := range n {
		p := payload(i, size)
		pkt, err := s.Seal(nil, p)
		if err != nil {
			t.Fatalf("seal packet %d: %v", i, err)
		}
		pkts, plain = append(pkts, pkt), append(plain, p)
	}
	return pkts, plain
}

// mustOpen opens a packet that must open to want.
func mustOpen(t testing.TB, o *Opener, pkt, want []byte, what string) {
	t.Helper()
	got, err := o.Open(nil, pkt)
	if err != nil {
		t.Fatalf("open %s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("open %s: plaintext differs", what)
	}
}

// mustFail opens a packet that must fail with want.
func mustFail(t testing.TB, o *Opener, pkt []byte, want error, what string) {
	t.Helper()
	got, err := o.Open(nil, pkt)
	if !errors.Is(err, want) {
		t.Fatalf("open %s: err %v, want %v", what, err, want)
	}
	if got != nil {
		t.Fatalf("open %s: failed but returned %d bytes", what, len(got))
	}
}

// clock is a settable clock for Options.Now.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
