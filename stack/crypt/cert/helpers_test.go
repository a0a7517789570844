package cert

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
	"time"
)

// t0 is the time the test certificates are made at.
var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	day  = 24 * time.Hour
	year = 365 * day
)

var algos = []Algo{Ed25519, P256}

func mustCA(t testing.TB, name string, algo Algo) *Pair {
	t.Helper()
	ca, err := NewCA(name, algo, 10*year, t0)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustIssue(t testing.TB, ca *Pair, name string, kind Kind, algo Algo, validity time.Duration) *Pair {
	t.Helper()
	p, err := ca.Issue(name, kind, algo, validity, t0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// chainOf is what the holder of p presents.
func chainOf(p *Pair) []*x509.Certificate {
	return append([]*x509.Certificate{p.Cert}, p.Chain...)
}

// forge signs a name certificate for name with parent's key, bypassing the
// checks of Issue, as an attacker holding parent's key could.
func forge(t testing.TB, parent *Pair, name string) *Pair {
	t.Helper()
	key, err := newKey(Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(year),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		URIs:                  []*url.URL{identityURI(KindName, name)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.Cert, key.Public(), parent.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Pair{Cert: c, Key: key}
}
