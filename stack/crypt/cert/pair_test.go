package cert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
)

func TestNewCA(t *testing.T) {
	for _, algo := range algos {
		ca := mustCA(t, "Example CA", algo)
		c := ca.Cert
		if !c.IsCA || c.MaxPathLen != 1 || c.Subject.CommonName != "Example CA" || !selfSigned(c) {
			t.Errorf("%s: IsCA %v MaxPathLen %d CN %q self-signed %v", algo, c.IsCA, c.MaxPathLen, c.Subject.CommonName, selfSigned(c))
		}
		if !c.NotAfter.Equal(t0.Add(10*year)) || !c.NotBefore.Equal(t0.Add(-clockSkew)) {
			t.Errorf("%s: valid %v to %v", algo, c.NotBefore, c.NotAfter)
		}
		var ok bool
		switch algo {
		case Ed25519:
			_, ok = ca.Key.(ed25519.PrivateKey)
		case P256:
			_, ok = ca.Key.(*ecdsa.PrivateKey)
		}
		if !ok {
			t.Errorf("%s: key is %T", algo, ca.Key)
		}
	}
}

// TestIssueIdentity: a leaf carries its kind and name in its URI, and an
// intermediate none.
func TestIssueIdentity(t *testing.T) {
	root := mustCA(t, "root", Ed25519)
	for _, c := range []struct {
		kind Kind
		name string
		uri  string
	}{
		{KindName, "oping.server", "ouroboros:name:oping.server"},
		{KindIPCP, "net.a", "ouroboros:ipcp:net.a"},
		{KindName, "odd name?#%", "ouroboros:name:odd%20name%3F%23%25"},
		{KindCA, "inter", ""},
	} {
		p := mustIssue(t, root, c.name, c.kind, P256, year)
		var uris []string
		for _, u := range p.Cert.URIs {
			uris = append(uris, u.String())
		}
		if got := strings.Join(uris, " "); got != c.uri {
			t.Errorf("%s %q: URIs %q, want %q", c.kind, c.name, got, c.uri)
		}
		kind, name, err := Identity(p.Cert)
		if err != nil || kind != c.kind || name != c.name || p.Cert.Subject.CommonName != c.name {
			t.Errorf("Identity = %q %q %v, CN %q; want %q %q", kind, name, err, p.Cert.Subject.CommonName, c.kind, c.name)
		}
	}
}

func TestIssueRefusals(t *testing.T) {
	root := mustCA(t, "root", Ed25519)
	inter := mustIssue(t, root, "inter", KindCA, Ed25519, year)
	leaf := mustIssue(t, root, "srv", KindName, Ed25519, year)
	cases := []struct {
		ca       *Pair
		name     string
		kind     Kind
		algo     Algo
		validity time.Duration
		now      time.Time
		want     string
	}{
		{leaf, "x", KindName, Ed25519, day, t0, `certificate "srv" is not a CA: it cannot issue certificates`},
		{inter, "sub", KindCA, Ed25519, day, t0, `CA "inter" is an intermediate: it may issue name and IPCP certificates, not CAs`},
		{root, "x", KindName, Ed25519, 11 * year, t0, `validity of 4015 days ends on 2041-05-29 12:00:00 UTC, after the issuing CA "root" (2040-05-29 12:00:00 UTC)`},
		{inter, "x", KindName, Ed25519, 2 * year, t0, `after the issuing CA "inter"`},
		{root, "x", KindName, Ed25519, day, t0.Add(11 * year), `CA "root" expired on 2040-05-29 12:00:00 UTC`},
		{root, "x", KindName, Ed25519, day, t0.Add(-time.Hour), `CA "root" is not valid until 2030-06-01 11:55:00 UTC`},
		{root, "x", KindName, Ed25519, 0, t0, "validity 0s is not positive"},
		{root, "x", "user", Ed25519, day, t0, `unknown kind "user"`},
		{root, "x", KindName, "rsa", day, t0, `unknown algorithm "rsa"`},
		{root, "", KindName, Ed25519, day, t0, "name is empty"},
		{root, "a\nb", KindName, Ed25519, day, t0, "contains a control character"},
		{root, strings.Repeat("n", 256), KindName, Ed25519, day, t0, "name is 256 bytes long, at most 255"},
		{root, "\xff", KindIPCP, Ed25519, day, t0, "not valid UTF-8"},
		{&Pair{Cert: root.Cert}, "x", KindName, Ed25519, day, t0, "incomplete pair"},
	}
	for _, c := range cases {
		p, err := c.ca.Issue(c.name, c.kind, c.algo, c.validity, c.now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Issue(%.10q, %s, %s, %v) = %v, %v\nwant error %q", c.name, c.kind, c.algo, c.validity, p, err, c.want)
		}
	}
	if _, err := NewCA("", Ed25519, year, t0); err == nil || !strings.Contains(err.Error(), "CA: name is empty") {
		t.Errorf("NewCA without a name: %v", err)
	}
	if _, err := NewCA("r", "dsa", year, t0); err == nil || !strings.Contains(err.Error(), `unknown algorithm "dsa"`) {
		t.Errorf("NewCA with a bad algorithm: %v", err)
	}
}

// TestIssueUpToIssuer: a certificate may last exactly as long as its issuer.
func TestIssueUpToIssuer(t *testing.T) {
	root := mustCA(t, "root", Ed25519)
	// Sub-second times are dropped as certificates store them, so the
	// issuer's end is not missed by a fraction of a second.
	p, err := root.Issue("srv", KindName, Ed25519, 10*year, t0.Add(400*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Cert.NotAfter.Equal(root.Cert.NotAfter) {
		t.Errorf("NotAfter %v, want the issuer's %v", p.Cert.NotAfter, root.Cert.NotAfter)
	}
}

func TestParseAlgoKind(t *testing.T) {
	for _, s := range []string{"ed25519", "p256"} {
		if a, err := ParseAlgo(s); err != nil || string(a) != s {
			t.Errorf("ParseAlgo(%q) = %q, %v", s, a, err)
		}
	}
	for _, s := range []string{"name", "ipcp", "ca"} {
		if k, err := ParseKind(s); err != nil || string(k) != s {
			t.Errorf("ParseKind(%q) = %q, %v", s, k, err)
		}
	}
	if _, err := ParseAlgo("Ed25519"); err == nil || err.Error() != `unknown algorithm "Ed25519": want ed25519 or p256` {
		t.Errorf("ParseAlgo(Ed25519): %v", err)
	}
	if _, err := ParseKind("leaf"); err == nil || err.Error() != `unknown kind "leaf": want name, ipcp or ca` {
		t.Errorf("ParseKind(leaf): %v", err)
	}
}

func TestExpiresSoon(t *testing.T) {
	p := mustIssue(t, mustCA(t, "root", Ed25519), "srv", KindName, Ed25519, 30*day)
	cases := []struct {
		now  time.Time
		soon bool
		left time.Duration
	}{
		{t0, false, 30 * day},
		{t0.Add(15 * day), false, 15 * day},
		{t0.Add(16 * day), true, 14 * day},
		{t0.Add(31 * day), true, -day},
	}
	for _, c := range cases {
		soon, left := ExpiresSoon(p.Cert, c.now, 14*day)
		if soon != c.soon || left != c.left {
			t.Errorf("at %v: %v %v, want %v %v", c.now, soon, left, c.soon, c.left)
		}
	}
}

func TestDescribe(t *testing.T) {
	root := mustCA(t, "root", Ed25519)
	inter := mustIssue(t, root, "inter", KindCA, P256, year)
	cases := []struct {
		p    *Pair
		want []string
	}{
		{root, []string{"subject:     CN=root\n", "kind:        root CA \"root\" (issues certificates and up to 1 level(s) of CAs)\n",
			"issuer:      CN=root\n", "algorithm:   Ed25519 key, signed with Ed25519\n",
			"valid:       2030-06-01 11:55:00 UTC to 2040-05-29 12:00:00 UTC\n", "fingerprint: SHA-256 " + Fingerprint(root.Cert) + "\n"}},
		{inter, []string{"kind:        intermediate CA \"inter\" (issues name and IPCP certificates)\n",
			"algorithm:   ECDSA P-256 key, signed with Ed25519\n"}},
		{mustIssue(t, inter, "srv", KindName, Ed25519, day), []string{"kind:        name certificate for \"srv\"\n",
			"issuer:      CN=inter\n", "algorithm:   Ed25519 key, signed with ECDSA-SHA256\n"}},
		{mustIssue(t, root, "net.a", KindIPCP, Ed25519, day), []string{"kind:        IPCP certificate for \"net.a\"\n"}},
		{forge(t, root, "x"), []string{"kind:        name certificate for \"x\"\n"}},
	}
	plain := forge(t, root, "plain")
	plain.Cert.URIs = nil
	cases = append(cases, struct {
		p    *Pair
		want []string
	}{plain, []string{`kind:        none: certificate "plain" is not an Ouroboros certificate: it has no ouroboros: URI` + "\n"}})
	for _, c := range cases {
		got := Describe(c.p.Cert)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("Describe lacks %q:\n%s", w, got)
			}
		}
		if n := strings.Count(got, "\n"); n != 7 {
			t.Errorf("Describe has %d lines:\n%s", n, got)
		}
	}
	if fp := Fingerprint(root.Cert); len(fp) != 32*3-1 || strings.ToUpper(fp) != fp {
		t.Errorf("fingerprint %q", fp)
	}
}
