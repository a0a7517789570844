package oap

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"fmt"
	"strings"
)

// KEX is a key exchange. Its value is the wire value.
type KEX uint8

// The key exchanges, weakest first: a server accepts a client's KEX only if
// it ranks at least as high as its own configured one.
const (
	// X25519 is ephemeral elliptic-curve Diffie-Hellman over Curve25519
	// (RFC 7748); it is the default.
	X25519 KEX = 1
	// X25519MLKEM768 is X25519 together with ML-KEM-768 (FIPS 203): the
	// secret holds as long as either one is unbroken, in particular against
	// a future quantum computer recording today's traffic.
	X25519MLKEM768 KEX = 2
)

// Key share sizes on the wire.
const (
	x25519Size  = 32
	mlkemEKSize = mlkem.EncapsulationKeySize768
	mlkemCTSize = mlkem.CiphertextSize768
)

// ParseKEX returns the key exchange a configuration names: "x25519" or
// "x25519-mlkem768" (in any case).
func ParseKEX(s string) (KEX, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "x25519":
		return X25519, nil
	case "x25519-mlkem768":
		return X25519MLKEM768, nil
	}
	return 0, fmt.Errorf("oap: unknown key exchange %q (want x25519 or x25519-mlkem768)", s)
}

// String returns the name ParseKEX takes, or "kex(N)" for an unknown one.
func (k KEX) String() string {
	switch k {
	case X25519:
		return "x25519"
	case X25519MLKEM768:
		return "x25519-mlkem768"
	}
	return fmt.Sprintf("kex(%d)", uint8(k))
}

// rank orders the key exchanges by strength; 0 is an unknown one. It is
// the wire value today, but kept apart so that a later, weaker addition
// does not have to take a high number.
func (k KEX) rank() int {
	switch k {
	case X25519:
		return 1
	case X25519MLKEM768:
		return 2
	}
	return 0
}

// shareSizes returns the length of the client's and the server's key share.
func (k KEX) shareSizes() (client, server int) {
	switch k {
	case X25519:
		return x25519Size, x25519Size
	case X25519MLKEM768:
		return x25519Size + mlkemEKSize, x25519Size + mlkemCTSize
	}
	return 0, 0
}

// clientKeys are the client's ephemeral private keys of one exchange; they
// are used once, in Finish, and then dropped.
type clientKeys struct {
	x *ecdh.PrivateKey
	m *mlkem.DecapsulationKey768 // hybrid only
}

// newClientShare takes fresh ephemeral keys from pool (nil: generate them)
// and returns them with the key share that carries their public halves.
func newClientShare(k KEX, pool *KeyPool) (clientKeys, []byte, error) {
	var ck clientKeys
	x, err := pool.x25519()
	if err != nil {
		return ck, nil, err
	}
	ck.x = x
	share := x.PublicKey().Bytes()
	if k == X25519MLKEM768 {
		m, err := pool.mlkem768()
		if err != nil {
			return ck, nil, err
		}
		ck.m = m
		share = append(share, m.EncapsulationKey().Bytes()...)
	}
	return ck, share, nil
}

// finish combines the client's keys with the server's share into the
// shared secret: the X25519 secret, then the ML-KEM one for the hybrid.
func (ck clientKeys) finish(k KEX, share []byte) ([]byte, error) {
	_, want := k.shareSizes()
	if want == 0 || len(share) != want || ck.x == nil {
		return nil, fmt.Errorf("%w: %v server key share of %d bytes", ErrMalformed, k, len(share))
	}
	secret, err := x25519Secret(ck.x, share[:x25519Size])
	if err != nil || k == X25519 {
		return secret, err
	}
	if ck.m == nil {
		return nil, fmt.Errorf("%v exchange without an ML-KEM key", k)
	}
	ss, err := ck.m.Decapsulate(share[x25519Size:])
	if err != nil {
		return nil, fmt.Errorf("%w: ML-KEM-768 ciphertext: %v", ErrMalformed, err)
	}
	return append(secret, ss...), nil
}

// serverShare answers the client's key share: it returns the server's share
// and the shared secret, laid out as in clientKeys.finish.
func serverShare(k KEX, client []byte, pool *KeyPool) (share, secret []byte, err error) {
	want, _ := k.shareSizes()
	if want == 0 || len(client) != want {
		return nil, nil, fmt.Errorf("%w: %v client key share of %d bytes", ErrMalformed, k, len(client))
	}
	x, err := pool.x25519()
	if err != nil {
		return nil, nil, err
	}
	secret, err = x25519Secret(x, client[:x25519Size])
	if err != nil {
		return nil, nil, err
	}
	share = x.PublicKey().Bytes()
	if k == X25519 {
		return share, secret, nil
	}
	ek, err := mlkem.NewEncapsulationKey768(client[x25519Size:])
	if err != nil {
		clear(secret)
		return nil, nil, fmt.Errorf("%w: ML-KEM-768 encapsulation key: %v", ErrMalformed, err)
	}
	ss, ct := ek.Encapsulate()
	return append(share, ct...), append(secret, ss...), nil
}

// x25519Secret runs X25519 between priv and the peer's public key. ecdh
// refuses a low-order peer key (an all-zero secret), which would let a man
// in the middle fix the secret.
func x25519Secret(priv *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: X25519 public key: %v", ErrMalformed, err)
	}
	s, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: X25519: %v", ErrMalformed, err)
	}
	return s, nil
}
