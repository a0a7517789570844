package flow

import (
	"bytes"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/seqpkt"
)

// sealedPair returns two sealed ends of a socket pair, as two processes'
// flow ends would be, and the raw sockets under them.
func sealedPair(t *testing.T) (a, b *sealedConn, rawA, rawB *seqpkt.Conn) {
	t.Helper()
	rawA, rawB, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{3}, 32)
	ka, _ := crypt.DeriveKeys(crypt.AES256GCM, secret, []byte("t"), true)
	kb, _ := crypt.DeriveKeys(crypt.AES256GCM, secret, []byte("t"), false)
	if a, err = newSealedConn(rawA, ka, 1400); err != nil {
		t.Fatal(err)
	}
	if b, err = newSealedConn(rawB, kb, 1400); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, rawA, rawB
}

func TestSealedConnCarriesSDUs(t *testing.T) {
	a, b, _, _ := sealedPair(t)
	if _, err := a.WriteBatch([][]byte{[]byte("one"), []byte("two")}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1400)
	for _, want := range []string{"one", "two"} {
		n, err := b.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}
	if _, err := b.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	short := make([]byte, 2)
	if n, err := a.Read(short); n != 2 || err != seqpkt.ErrTruncated {
		t.Fatalf("short read: %d, %v; want 2, ErrTruncated", n, err)
	}
}

// TestSealedConnDropsWhatDoesNotOpen plays irmd gone bad, or a network
// attacker: packets on the socket that are replayed, modified or made up
// never reach the reader, and are counted.
func TestSealedConnDropsWhatDoesNotOpen(t *testing.T) {
	a, b, rawA, _ := sealedPair(t)
	// Capture a's sealed packet from a second pair, to replay it.
	x, y, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer rawA.Close()
	defer y.Close()
	a.sock = x // a now writes into x: its ciphertext is read at y
	if _, err := a.Write([]byte("secret payload")); err != nil {
		t.Fatal(err)
	}
	sealed := make([]byte, 2048)
	n, err := y.Read(sealed)
	if err != nil {
		t.Fatal(err)
	}
	sealed = sealed[:n]
	if bytes.Contains(sealed, []byte("secret payload")) {
		t.Fatal("the payload is in clear on the socket")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-20] ^= 1
	// From the other end of b's socket: the original, a replay, a
	// tampered copy and junk.
	peer := rawA
	for _, p := range [][]byte{sealed, sealed, tampered, []byte("junk that is no packet at all")} {
		if _, err := peer.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1400)
	b.SetReadDeadline(time.Now().Add(2 * time.Second))
	got, err := b.Read(buf)
	if err != nil || string(buf[:got]) != "secret payload" {
		t.Fatalf("first read %q, %v", buf[:got], err)
	}
	b.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if got, err := b.Read(buf); err == nil {
		t.Fatalf("read %q after the only genuine packet", buf[:got])
	}
	want := uint64(2*len(sealed) + len("junk that is no packet at all"))
	if r, size := b.Rejected(); r != 3 || size != want {
		t.Fatalf("rejected %d packets of %d bytes, want 3 (replay, tampered, junk) of %d", r, size, want)
	}
}
