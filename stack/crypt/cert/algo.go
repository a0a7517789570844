package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
)

// Algo is a signature algorithm for a new key pair.
type Algo string

// The algorithms a key may use. Ed25519 is the default: small keys, fast
// and deterministic signatures. P256 (ECDSA) is for peers that need a NIST
// curve.
const (
	Ed25519 Algo = "ed25519"
	P256    Algo = "p256"
)

// ParseAlgo returns the algorithm s names, spelled as the constants are.
func ParseAlgo(s string) (Algo, error) {
	switch a := Algo(s); a {
	case Ed25519, P256:
		return a, nil
	}
	return "", fmt.Errorf("unknown algorithm %q: want %s or %s", s, Ed25519, P256)
}

// newKey generates a private key for algo.
func newKey(algo Algo) (crypto.Signer, error) {
	switch algo {
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case P256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown algorithm %q: want %s or %s", algo, Ed25519, P256)
}

// keyAlgo names the algorithm of a public key for people, or says that it is
// one this package does not issue.
func keyAlgo(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return fmt.Sprintf("unsupported (%T)", pub)
}

// checkKey rejects a private key of a type this package does not use, so
// that a foreign key is refused when it is loaded rather than when it signs.
func checkKey(k crypto.Signer) error {
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return nil
		}
		return fmt.Errorf("ECDSA key on curve %s: want %s or %s", k.Curve.Params().Name, Ed25519, P256)
	}
	return fmt.Errorf("%T key: want %s or %s", k, Ed25519, P256)
}
