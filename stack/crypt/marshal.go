package crypt

import (
	"errors"
	"fmt"
)

// A flow's keys are made in irmd, which runs the key exchange, and used in
// the application, which seals and opens the flow's packets; they cross
// the local control socket between the two (never a network) as:
//
//	version u8 (1) | suite u8 | send key [32] | send IV [12] | recv key [32] | recv IV [12]

// keysVersion is the version of the encoding of Keys.
const keysVersion = 1

// keysLen is the length of encoded Keys.
const keysLen = 2 + 2*(KeySize+IVSize)

// MarshalBinary encodes the keys for the local control socket.
func (k Keys) MarshalBinary() ([]byte, error) {
	if !k.suite.valid() {
		return nil, errors.New("crypt: marshal keys: no keys")
	}
	b := make([]byte, 0, keysLen)
	b = append(b, keysVersion, byte(k.suite))
	for _, s := range []*keyIV{&k.send, &k.recv} {
		b = append(b, s.key[:]...)
		b = append(b, s.iv[:]...)
	}
	return b, nil
}

// UnmarshalKeys decodes keys encoded by MarshalBinary.
func UnmarshalKeys(b []byte) (Keys, error) {
	var k Keys
	if len(b) != keysLen || b[0] != keysVersion {
		return k, fmt.Errorf("crypt: unmarshal keys: %d bytes of version %d", len(b), first(b))
	}
	k.suite = Suite(b[1])
	if !k.suite.valid() {
		return Keys{}, fmt.Errorf("crypt: unmarshal keys: unknown cipher %d", b[1])
	}
	b = b[2:]
	for _, s := range []*keyIV{&k.send, &k.recv} {
		copy(s.key[:], b)
		copy(s.iv[:], b[KeySize:])
		b = b[KeySize+IVSize:]
	}
	return k, nil
}

func first(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
