package oap

import (
	"fmt"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// authPeer authenticates the other end from the certificates and signature
// of its message. signed is what the signature covers; name is the name the
// certificate must be for ("" for any). A peer without a certificate is
// anonymous unless cfg requires one.
//
// A peer that presents a certificate must prove it holds its key: the
// signature is checked under the leaf's key before anything about the
// certificate is reported, so a certificate copied from another exchange
// (or from anywhere) is refused, Roots or not. With Roots the chain must
// also verify, and the peer is named; without them the peer stays unnamed
// and the leaf is only reported as Peer.Signed, for its fingerprint to be
// compared with a pinned one.
func authPeer(cfg *Config, certs [][]byte, sig, signed []byte, name string) (Peer, error) {
	if len(certs) == 0 {
		if cfg.RequirePeerCert {
			return Peer{}, ErrNoCert
		}
		return Peer{}, nil
	}
	chain, err := cert.ParseChain(certs)
	if err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if cfg.Roots != nil {
		if err := cert.Verify(chain, cfg.Roots, cfg.PeerKind, name, cfg.Now()); err != nil {
			return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
		}
	}
	if err := cfg.Revoked.Check(chain); err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	leaf := chain[0]
	if err := verify(leaf.PublicKey, signed, sig); err != nil {
		return Peer{}, fmt.Errorf("%w by %q", err, leaf.Subject.CommonName)
	}
	if cfg.Roots == nil {
		return Peer{Signed: leaf}, nil
	}
	_, n, err := cert.Identity(leaf)
	if err != nil { // Verify checked the identity already
		return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	return Peer{Cert: leaf, Name: n, Chain: chain, Signed: leaf}, nil
}

// CertName returns the Ouroboros name in the peer's signing certificate
// when it is of kind (verified or not), else "".
func (p Peer) CertName(kind cert.Kind) string {
	if p.Signed == nil {
		return ""
	}
	k, n, err := cert.Identity(p.Signed)
	if err != nil || k != kind {
		return ""
	}
	return n
}

// Fingerprint returns the fingerprint of the peer's signing certificate,
// as cert.Fingerprint writes it, or "" if it presented none.
func (p Peer) Fingerprint() string {
	if p.Signed == nil {
		return ""
	}
	return cert.Fingerprint(p.Signed)
}
