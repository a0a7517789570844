package cert

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"
)

// Pair is a certificate with its private key, and the chain of intermediate
// CAs from its issuer up to, not including, the root: what its holder
// presents to a peer after the certificate itself.
type Pair struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// clockSkew is how far before its issuing a certificate is valid from, so
// that a peer whose clock runs a little behind the issuer's accepts it.
const clockSkew = 5 * time.Minute

// NewCA creates a self-signed root CA named name with a new key. It may sign
// certificates and one level of intermediate CAs.
func NewCA(name string, algo Algo, validity time.Duration, now time.Time) (*Pair, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("CA: %v", err)
	}
	now = now.Truncate(time.Second)
	tmpl, err := template(name, validity, now)
	if err != nil {
		return nil, err
	}
	makeCA(tmpl, 1)
	key, err := newKey(algo)
	if err != nil {
		return nil, err
	}
	return sign(tmpl, tmpl, key, key, nil)
}

// Issue signs a new certificate of kind for name with a new key. A name or
// IPCP certificate carries its name twice: as the common name, for people,
// and in its ouroboros: URI, which is what Verify checks. KindCA issues an
// intermediate CA, which may only sign leaves. The certificate may not
// outlive its issuer.
func (ca *Pair) Issue(name string, kind Kind, algo Algo, validity time.Duration, now time.Time) (*Pair, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	now = now.Truncate(time.Second)
	if err := ca.canIssue(kind, now); err != nil {
		return nil, err
	}
	tmpl, err := template(name, validity, now)
	if err != nil {
		return nil, err
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("validity of %s ends on %s, after the issuing CA %q (%s)",
			fmtDuration(validity), fmtTime(tmpl.NotAfter), ca.Cert.Subject.CommonName, fmtTime(ca.Cert.NotAfter))
	}
	switch kind {
	case KindCA:
		makeCA(tmpl, ca.Cert.MaxPathLen-1)
	case KindName, KindIPCP:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		// Both ends of a flow or an adjacency authenticate with the same
		// certificate, whichever side allocated it.
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.URIs = append(tmpl.URIs, identityURI(kind, name))
	default:
		return nil, fmt.Errorf("unknown kind %q: want %s, %s or %s", kind, KindName, KindIPCP, KindCA)
	}
	key, err := newKey(algo)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	if !selfSigned(ca.Cert) {
		chain = append([]*x509.Certificate{ca.Cert}, ca.Chain...)
	}
	return sign(tmpl, ca.Cert, key, ca.Key, chain)
}

// canIssue reports why ca may not issue a certificate of kind at now.
func (ca *Pair) canIssue(kind Kind, now time.Time) error {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return errNoPair
	}
	c := ca.Cert
	switch {
	case !c.IsCA:
		return fmt.Errorf("%s is not a CA: it cannot issue certificates", label(c))
	case c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("CA %q may not sign certificates (no certSign key usage)", c.Subject.CommonName)
	case kind == KindCA && c.MaxPathLen == 0:
		return fmt.Errorf("CA %q is an intermediate: it may issue name and IPCP certificates, not CAs", c.Subject.CommonName)
	case now.After(c.NotAfter):
		return fmt.Errorf("CA %q expired on %s", c.Subject.CommonName, fmtTime(c.NotAfter))
	case now.Before(c.NotBefore):
		return fmt.Errorf("CA %q is not valid until %s", c.Subject.CommonName, fmtTime(c.NotBefore))
	}
	return nil
}

// template returns the fields every certificate shares.
func template(name string, validity time.Duration, now time.Time) (*x509.Certificate, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("validity %v is not positive", validity)
	}
	return &x509.Certificate{
		// A nil SerialNumber makes CreateCertificate draw a random one.
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		BasicConstraintsValid: true,
	}, nil
}

// makeCA turns tmpl into a CA that may have pathLen levels of CAs under it
// (a negative pathLen, from an issuer without a limit, becomes 0).
func makeCA(tmpl *x509.Certificate, pathLen int) {
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.MaxPathLen = max(pathLen, 0)
	tmpl.MaxPathLenZero = tmpl.MaxPathLen == 0
}

// sign creates the certificate tmpl for key, signed by parent's key signer.
func sign(tmpl, parent *x509.Certificate, key, signer crypto.Signer, chain []*x509.Certificate) (*Pair, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("signing certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("reading back certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	return &Pair{Cert: c, Key: key, Chain: chain}, nil
}

// selfSigned reports whether c is a root: its own issuer, with a signature
// its own key verifies.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// ChainDER returns the certificate and its chain in DER, leaf first: what is
// sent to a peer, and what ParseChain reads back.
func (p *Pair) ChainDER() [][]byte {
	out := make([][]byte, 0, 1+len(p.Chain))
	out = append(out, p.Cert.Raw)
	for _, c := range p.Chain {
		out = append(out, c.Raw)
	}
	return out
}

// errNoPair is returned for a Pair without its certificate or key.
var errNoPair = errors.New("incomplete pair: no certificate or no key")
