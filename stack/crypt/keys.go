package crypt

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Key schedule (all HKDF is HKDF-SHA-256, RFC 5869; || is concatenation):
//
//	PRK  = HKDF-Extract(salt = transcript, IKM = shared secret)
//	I2R  = HKDF-Expand(PRK, "o7s/crypt/v1 initiator->responder" || suite, 44)
//	R2I  = HKDF-Expand(PRK, "o7s/crypt/v1 responder->initiator" || suite, 44)
//
// transcript is the hash of both allocation messages, so keys bind to the
// exchange that produced them; suite is the Suite as one byte. I2R protects
// what the initiator sends (the initiator's sending and the responder's
// receiving direction), R2I the other direction. Each 44-byte output is the
// epoch-0 key (bytes 0..31) then the 12-byte IV (bytes 32..43).
//
// Every later epoch replaces both from the previous epoch's key alone:
//
//	KIV(e) = HKDF-Expand(PRK = key(e-1), "o7s/crypt/v1 rekey" || uint32be(e), 44)
//
// so both ends step the same chain without a message, and a key taken from
// memory does not reveal the keys of earlier epochs.
const (
	KeySize = 32 // bytes of an AEAD key, both suites
	IVSize  = 12 // bytes of a direction's IV, the AEAD nonce size

	labelI2R   = "o7s/crypt/v1 initiator->responder"
	labelR2I   = "o7s/crypt/v1 responder->initiator"
	labelRekey = "o7s/crypt/v1 rekey"

	// minSecret catches a caller passing a truncated or empty secret; every
	// key exchange the flow allocator offers yields at least 32 bytes.
	minSecret = 16
)

// keyIV is one epoch's key material for one direction.
type keyIV struct {
	key [KeySize]byte
	iv  [IVSize]byte
}

// erase overwrites the key material in place.
func (s *keyIV) erase() { *s = keyIV{} }

// next returns the key material of epoch e, derived from s (epoch e-1).
func (s *keyIV) next(e uint32) (keyIV, error) {
	var info [len(labelRekey) + 4]byte
	n := copy(info[:], labelRekey)
	binary.BigEndian.PutUint32(info[n:], e)
	return expand(s.key[:], string(info[:]))
}

// expand derives a key and an IV from prk under info.
func expand(prk []byte, info string) (keyIV, error) {
	var s keyIV
	out, err := hkdf.Expand(sha256.New, prk, info, KeySize+IVSize)
	if err != nil {
		return s, fmt.Errorf("crypt: hkdf expand: %w", err)
	}
	copy(s.key[:], out)
	copy(s.iv[:], out[KeySize:])
	clear(out)
	return s, nil
}

// Keys are the keys of one flow end, derived from the key exchange: the
// epoch-0 key and IV of the direction it sends and of the one it receives.
// Make a Sealer and an Opener from them, then Erase them.
type Keys struct {
	suite      Suite
	send, recv keyIV
}

// DeriveKeys runs the key schedule above over the key exchange's shared
// secret and the transcript hash (of both allocation messages, as the
// caller computed it). initiator tells which end the caller is: the
// initiator's sending key is the responder's receiving key.
func DeriveKeys(suite Suite, secret, transcript []byte, initiator bool) (Keys, error) {
	if !suite.valid() {
		return Keys{}, fmt.Errorf("crypt: derive keys: unknown cipher %v", suite)
	}
	if len(secret) < minSecret {
		return Keys{}, fmt.Errorf("crypt: derive keys: shared secret of %d bytes, want at least %d", len(secret), minSecret)
	}
	prk, err := hkdf.Extract(sha256.New, secret, transcript)
	if err != nil {
		return Keys{}, fmt.Errorf("crypt: derive keys: hkdf extract: %w", err)
	}
	defer clear(prk)
	i2r, err := expand(prk, labelI2R+string([]byte{byte(suite)}))
	if err != nil {
		return Keys{}, err
	}
	r2i, err := expand(prk, labelR2I+string([]byte{byte(suite)}))
	if err != nil {
		return Keys{}, err
	}
	if initiator {
		return Keys{suite: suite, send: i2r, recv: r2i}, nil
	}
	return Keys{suite: suite, send: r2i, recv: i2r}, nil
}

// Suite returns the AEAD the keys are for.
func (k Keys) Suite() Suite { return k.suite }

// Erase overwrites the keys in place. Sealers and Openers made from them
// hold their own copies and keep working.
func (k *Keys) Erase() { *k = Keys{} }
