package cert

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRevoked(t *testing.T) {
	now := time.Now()
	root, err := NewCA("root", Ed25519, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	mid, err := root.Issue("mid", KindCA, Ed25519, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := mid.Issue("net.a", KindIPCP, Ed25519, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := mid.Issue("net.b", KindIPCP, Ed25519, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	chain := []*x509.Certificate{leaf.Cert, mid.Cert}
	lower := strings.ToLower(strings.ReplaceAll(Fingerprint(leaf.Cert), ":", ""))
	r, err := ParseRevoked([]string{lower})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(chain); !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), `"net.a" is revoked`) {
		t.Errorf("revoked leaf: %v", err)
	}
	if err := r.Check([]*x509.Certificate{other.Cert, mid.Cert}); err != nil {
		t.Errorf("another leaf: %v", err)
	}
	byCA, err := ParseRevoked([]string{Fingerprint(mid.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	if err := byCA.Check([]*x509.Certificate{other.Cert, mid.Cert}); !errors.Is(err, ErrRevoked) {
		t.Errorf("a leaf of a revoked CA: %v", err)
	}
	var none Revoked
	if err := none.Check(chain); err != nil {
		t.Errorf("nothing revoked: %v", err)
	}
	for _, bad := range []string{"", "AB:CD", strings.Repeat("zz", 32)} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", bad)
		}
	}
}
