package cert

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestVerifyChains: CA→leaf and CA→intermediate→leaf verify for every mix
// of algorithms, also after a trip through the wire encoding.
func TestVerifyChains(t *testing.T) {
	for _, ra := range algos {
		for _, la := range algos {
			t.Run(fmt.Sprintf("%s-%s", ra, la), func(t *testing.T) {
				root := mustCA(t, "root", ra)
				roots := poolOf(root.Cert)
				inter := mustIssue(t, root, "inter", KindCA, la, 5*year)
				if len(inter.Chain) != 0 {
					t.Errorf("intermediate under a root has chain %d, want none", len(inter.Chain))
				}
				direct := mustIssue(t, root, "srv", KindName, la, year)
				viaInter := mustIssue(t, inter, "net.a", KindIPCP, ra, year)
				if len(viaInter.Chain) != 1 || viaInter.Chain[0] != inter.Cert {
					t.Fatalf("leaf under an intermediate has chain %v, want the intermediate", viaInter.Chain)
				}
				cases := []struct {
					p    *Pair
					kind Kind
					name string
				}{
					{direct, KindName, "srv"},
					{direct, KindName, ""},
					{direct, "", ""},
					{viaInter, KindIPCP, "net.a"},
					{inter, KindCA, "inter"},
				}
				for _, c := range cases {
					chain, err := ParseChain(c.p.ChainDER())
					if err != nil {
						t.Fatal(err)
					}
					if err := Verify(chain, roots, c.kind, c.name, t0.Add(time.Hour)); err != nil {
						t.Errorf("%s as %q %q: %v", c.p.Cert.Subject.CommonName, c.kind, c.name, err)
					}
				}
			})
		}
	}
}

// TestVerifyRefusals: each way a chain is wrong is refused with its reason
// and a message that names it.
func TestVerifyRefusals(t *testing.T) {
	root := mustCA(t, "root", Ed25519)
	roots := poolOf(root.Cert)
	other := mustCA(t, "other root", P256)
	inter := mustIssue(t, root, "inter", KindCA, Ed25519, 5*year)
	srv := mustIssue(t, root, "srv", KindName, Ed25519, year)
	ipcp := mustIssue(t, inter, "net.a", KindIPCP, P256, year)
	stranger := mustIssue(t, other, "srv", KindName, Ed25519, year)
	shortInter := mustIssue(t, root, "short", KindCA, Ed25519, 30*day)
	// Issue keeps a leaf within its issuer's validity; a foreign CA may not.
	underShort := forge(t, shortInter, "srv")
	underShort.Chain = []*x509.Certificate{shortInter.Cert}
	// A leaf's holder signs a certificate for a name it does not own.
	forged := forge(t, srv, "bank")
	// A certificate whose signature was altered after signing.
	tampered := tamper(t, srv.Cert)
	// The CA trusted for the chain is not a root but a leaf.
	leafAsRoot := forge(t, srv, "srv2")

	shortRoot, err := NewCA("short root", Ed25519, 30*day, t0)
	if err != nil {
		t.Fatal(err)
	}
	outlivesRoot := forge(t, shortRoot, "srv")

	cases := []struct {
		name   string
		chain  []*x509.Certificate
		roots  *x509.CertPool
		kind   Kind
		want   string
		reason error
		now    time.Time
	}{
		{"expired", chainOf(srv), roots, KindName, `certificate "srv" expired on 2031-06-01 12:00:00 UTC`,
			ErrExpired, t0.Add(year + time.Second)},
		{"not yet valid", chainOf(srv), roots, KindName,
			`certificate "srv" is not yet valid: it is valid from 2030-06-01 11:55:00 UTC`, ErrNotYetValid, t0.Add(-time.Hour)},
		{"intermediate expired", chainOf(underShort), roots, KindName, `certificate "short" expired on 2030-07-01`,
			ErrExpired, t0.Add(31 * day)},
		{"wrong CA", chainOf(stranger), roots, KindName, `certificate "srv" is signed by an unknown CA "other root"`,
			ErrUntrusted, t0},
		{"intermediate of wrong CA", chainOf(ipcp), poolOf(other.Cert), KindIPCP,
			`certificate "inter" is signed by an unknown CA "root"`, ErrUntrusted, t0},
		{"wrong name", chainOf(srv), roots, KindName, `certificate "srv" is for name "srv", not "web"`, ErrWrongName, t0},
		{"name as ipcp", chainOf(srv), roots, KindIPCP, `certificate "srv" is a name certificate, not an IPCP certificate`,
			ErrWrongKind, t0},
		{"ipcp as name", chainOf(ipcp), roots, KindName, `certificate "net.a" is an IPCP certificate, not a name certificate`,
			ErrWrongKind, t0},
		{"CA as name", chainOf(inter), roots, KindName, `certificate "inter" is a CA certificate, not a name certificate`,
			ErrWrongKind, t0},
		{"leaf used as CA", []*x509.Certificate{forged.Cert, srv.Cert}, roots, KindName,
			`certificate "srv" is not a CA: it cannot vouch for certificate "bank"`, ErrUntrusted, t0},
		{"leaf trusted as root", chainOf(leafAsRoot), poolOf(srv.Cert), KindName,
			`certificate "srv2" is not accepted by the configured CA "srv"`, ErrUntrusted, t0},
		{"root expired", chainOf(outlivesRoot), poolOf(shortRoot.Cert), KindName,
			`the configured CA "short root" expired on 2030-07-01 12:00:00 UTC`, ErrExpired, t0.Add(31 * day)},
		{"tampered", []*x509.Certificate{tampered}, roots, KindName,
			`certificate "srv" is not accepted by the configured CA "root": x509: Ed25519 verification failure`, ErrUntrusted, t0},
		{"tampered in chain", []*x509.Certificate{tamper(t, ipcp.Cert), inter.Cert}, roots, KindIPCP,
			`certificate "net.a" does not carry a valid signature of "inter"`, ErrUntrusted, t0},
		{"out of order", []*x509.Certificate{ipcp.Cert, root.Cert}, roots, KindIPCP,
			`certificate "net.a" is issued by "inter", but the chain continues with "root"`, ErrUntrusted, t0},
		{"empty", nil, roots, KindName, "no certificate presented", ErrUntrusted, t0},
		{"no roots", chainOf(srv), nil, KindName, "no CA configured", ErrUntrusted, t0},
		{"too long", []*x509.Certificate{srv.Cert, srv.Cert, srv.Cert, srv.Cert, srv.Cert}, roots, KindName,
			"chain of 5 certificates", ErrUntrusted, t0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := ""
			if c.reason == ErrWrongName {
				name = "web"
			}
			err := Verify(c.chain, c.roots, c.kind, name, c.now)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.want)
			}
			if !errors.Is(err, c.reason) {
				t.Errorf("error %q is not %v", err, c.reason)
			}
		})
	}
}

// tamper returns c with one bit of its signature flipped.
func tamper(t *testing.T, c *x509.Certificate) *x509.Certificate {
	t.Helper()
	der := append([]byte(nil), c.Raw...)
	der[len(der)-1] ^= 1 // the signature is the last field
	bad, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// TestVerifyWithoutIdentity: a certificate from a trusted CA that is not an
// Ouroboros certificate, or claims two identities, is refused.
func TestVerifyWithoutIdentity(t *testing.T) {
	root := mustCA(t, "root", Ed25519)
	plain := forge(t, root, "plain")
	plain.Cert.URIs = nil // as if issued by another tool; the check reads the parsed field
	if err := Verify(chainOf(plain), poolOf(root.Cert), "", "", t0); !errors.Is(err, ErrWrongKind) ||
		!strings.Contains(err.Error(), "no ouroboros: URI") {
		t.Errorf("no identity: %v", err)
	}
	plain.Cert.URIs = append(plain.Cert.URIs, identityURI(KindName, "a"), identityURI(KindIPCP, "a"))
	if err := Verify(chainOf(plain), poolOf(root.Cert), "", "", t0); !errors.Is(err, ErrWrongKind) ||
		!strings.Contains(err.Error(), "has 2 ouroboros: URIs") {
		t.Errorf("two identities: %v", err)
	}
}

func TestParseChainBounds(t *testing.T) {
	root := mustCA(t, "root", Ed25519)
	srv := mustIssue(t, root, "srv", KindName, Ed25519, year)
	der := srv.Cert.Raw
	cases := []struct {
		in   [][]byte
		want string
	}{
		{nil, "empty certificate chain"},
		{[][]byte{der, der, der, der, der}, "chain of 5 certificates: at most 4"},
		{[][]byte{der, make([]byte, MaxCertSize+1)}, "certificate 2 of 2 is 8193 bytes"},
		{[][]byte{der, der[:len(der)-1]}, "certificate 2 of 2: x509:"},
		{[][]byte{append(append([]byte(nil), der...), 0)}, "certificate 1 of 1: x509:"},
	}
	for _, c := range cases {
		if _, err := ParseChain(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseChain(%d certs) = %v, want %q", len(c.in), err, c.want)
		}
	}
	got, err := ParseChain([][]byte{der, der, der, der})
	if err != nil || len(got) != 4 || !got[3].Equal(srv.Cert) {
		t.Errorf("ParseChain of 4 = %v, %v", len(got), err)
	}
}
