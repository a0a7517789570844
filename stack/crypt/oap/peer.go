package oap

import (
	"fmt"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// authPeer authenticates the other end from the certificates and signature
// of its message. signed is what the signature covers; name is the name the
// certificate must be for ("" for any). A peer without a certificate is
// anonymous unless cfg requires one; a certificate is only checked, and the
// peer only named, when cfg has Roots.
func authPeer(cfg *Config, certs [][]byte, sig, signed []byte, name string) (Peer, error) {
	if len(certs) == 0 {
		if cfg.RequirePeerCert {
			return Peer{}, ErrNoCert
		}
		return Peer{}, nil
	}
	if cfg.Roots == nil {
		return Peer{}, nil
	}
	chain, err := cert.ParseChain(certs)
	if err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if err := cert.Verify(chain, cfg.Roots, cfg.PeerKind, name, cfg.Now()); err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if err := cfg.Revoked.Check(chain); err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	leaf := chain[0]
	if err := verify(leaf.PublicKey, signed, sig); err != nil {
		return Peer{}, fmt.Errorf("%w by %q", err, leaf.Subject.CommonName)
	}
	_, n, err := cert.Identity(leaf)
	if err != nil { // Verify checked the identity already
		return Peer{}, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	return Peer{Cert: leaf, Name: n, Chain: chain}, nil
}
