package cert

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrRevoked is the reason Revoked.Check refuses a chain, for errors.Is.
var ErrRevoked = errors.New("certificate revoked")

// Revoked is a set of revoked certificates, by the SHA-256 fingerprint of
// their DER encoding (see Fingerprint). A revoked CA revokes everything it
// issued. The zero value revokes nothing.
type Revoked map[[sha256.Size]byte]bool

// ParseFingerprint reads a SHA-256 fingerprint as Fingerprint writes it;
// colons are optional and case does not matter.
func ParseFingerprint(s string) ([sha256.Size]byte, error) {
	var fp [sha256.Size]byte
	h := strings.ReplaceAll(s, ":", "")
	if len(h) != 2*sha256.Size {
		return fp, fmt.Errorf("fingerprint %q: want %d hex digits (as irm cert show prints it), got %d", s, 2*sha256.Size, len(h))
	}
	if _, err := hex.Decode(fp[:], []byte(h)); err != nil {
		return fp, fmt.Errorf("fingerprint %q: %v", s, err)
	}
	return fp, nil
}

// ParseRevoked builds the set from fingerprints as Fingerprint writes them.
func ParseRevoked(fingerprints []string) (Revoked, error) {
	r := make(Revoked, len(fingerprints))
	for _, s := range fingerprints {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return nil, err
		}
		r[fp] = true
	}
	return r, nil
}

// Check refuses a chain (leaf first) of which any certificate is revoked,
// naming it; the error wraps ErrRevoked.
func (r Revoked) Check(chain []*x509.Certificate) error {
	for _, c := range chain {
		if r[sha256.Sum256(c.Raw)] {
			return refuse(ErrRevoked, "%s is revoked (fingerprint %s)", label(c), Fingerprint(c))
		}
	}
	return nil
}
