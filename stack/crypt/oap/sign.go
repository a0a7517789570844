package oap

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// Signature contexts (see wire.go): the label keeps a signature made for
// one message kind, or for another protocol using the same certificate key,
// from verifying as another.
const (
	labelRequest  = "o7s/oap/v1 request\x00"
	labelResponse = "o7s/oap/v1 response\x00"
)

// signedRequest returns what a request's signature covers: the label, the
// hash of the destination name, and body, the request up to the signature
// length.
func signedRequest(name string, body []byte) []byte {
	h := sha256.Sum256([]byte(name))
	m := make([]byte, 0, len(labelRequest)+len(h)+len(body))
	m = append(m, labelRequest...)
	m = append(m, h[:]...)
	return append(m, body...)
}

// signedResponse returns what a response's signature covers: the label,
// the hash of the whole request, and body, the response up to the
// signature length.
func signedResponse(req, body []byte) []byte {
	h := sha256.Sum256(req)
	m := make([]byte, 0, len(labelResponse)+len(h)+len(body))
	m = append(m, labelResponse...)
	m = append(m, h[:]...)
	return append(m, body...)
}

// checkSigner reports whether key is a kind this protocol signs with.
func checkSigner(key crypto.Signer) error {
	if key == nil {
		return fmt.Errorf("certificate without a private key")
	}
	switch pub := key.Public().(type) {
	case ed25519.PublicKey:
		return nil
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P256() {
			return nil
		}
		return fmt.Errorf("ECDSA key on %s, only P-256 is supported", pub.Curve.Params().Name)
	default:
		return fmt.Errorf("%T certificate key, want Ed25519 or ECDSA P-256", pub)
	}
}

// sign signs m with key: pure Ed25519, or ECDSA over SHA-256(m).
func sign(key crypto.Signer, m []byte) ([]byte, error) {
	var sig []byte
	var err error
	switch key.Public().(type) {
	case ed25519.PublicKey:
		sig, err = key.Sign(rand.Reader, m, crypto.Hash(0))
	case *ecdsa.PublicKey:
		h := sha256.Sum256(m)
		sig, err = key.Sign(rand.Reader, h[:], crypto.SHA256)
	default:
		return nil, checkSigner(key)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if len(sig) == 0 || len(sig) > maxSig {
		return nil, fmt.Errorf("sign: signature of %d bytes, want 1..%d", len(sig), maxSig)
	}
	return sig, nil
}

// verify checks sig over m under the public key of a peer's certificate.
func verify(pub crypto.PublicKey, m, sig []byte) error {
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		if ed25519.Verify(pub, m, sig) {
			return nil
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ECDSA key on %s, only P-256 is supported", ErrSignature, pub.Curve.Params().Name)
		}
		h := sha256.Sum256(m)
		if ecdsa.VerifyASN1(pub, h[:], sig) {
			return nil
		}
	default:
		return fmt.Errorf("%w: %T certificate key, want Ed25519 or ECDSA P-256", ErrSignature, pub)
	}
	return ErrSignature
}
