package crypt

import (
	"bytes"
	"testing"
)

func TestKeysMarshalRoundTrip(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	ini, err := DeriveKeys(AES256GCM, secret, []byte("transcript"), true)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := DeriveKeys(AES256GCM, secret, []byte("transcript"), false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ini.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := back.Sealer()
	o, _ := resp.Opener()
	pkt, _ := s.Seal(nil, []byte("after the trip"))
	if got, err := o.Open(nil, pkt); err != nil || string(got) != "after the trip" {
		t.Fatalf("keys after a round trip: %q, %v", got, err)
	}
	for _, bad := range [][]byte{nil, b[:10], append([]byte{9}, b[1:]...), append([]byte{1, 9}, b[2:]...)} {
		if _, err := UnmarshalKeys(bad); err == nil {
			t.Errorf("accepted %d bad bytes", len(bad))
		}
	}
	if _, err := (Keys{}).MarshalBinary(); err == nil {
		t.Error("marshalled empty keys")
	}
}
