package oap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// TestServerCertForAnotherName checks that a client refuses a server whose
// certificate, from the right CA, is for another name.
func TestServerCertForAnotherName(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	s := fixedServer(Config{Cert: p.issue(t, "other.test", cert.KindName, cert.Ed25519), Now: clk.Now})
	_, _, err := tryExchange(s, Config{Roots: p.roots, Now: clk.Now})
	wantErr(t, err, ErrCertificate)
	wantErr(t, err, cert.ErrWrongName)
}

// TestServerCertOfWrongKind checks that an IPCP certificate does not
// authenticate a name, and that PeerKind asks for one.
func TestServerCertOfWrongKind(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	s := fixedServer(Config{Cert: p.issue(t, serverName, cert.KindIPCP, cert.Ed25519), Now: clk.Now})
	_, _, err := tryExchange(s, Config{Roots: p.roots, Now: clk.Now})
	wantErr(t, err, cert.ErrWrongKind)
	cli, _, err := tryExchange(s, Config{Roots: p.roots, PeerKind: cert.KindIPCP, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if cli.peer.Name != serverName {
		t.Errorf("peer %q, want %q", cli.peer.Name, serverName)
	}
}

// TestServerWithoutRequiredCert checks that a client requiring a server
// certificate refuses a server without one.
func TestServerWithoutRequiredCert(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	_, _, err := tryExchange(fixedServer(Config{Now: clk.Now}), Config{Roots: p.roots, RequirePeerCert: true, Now: clk.Now})
	wantErr(t, err, ErrNoCert)
}

// TestClientWithoutRequiredCert checks that a server requiring client
// certificates refuses a client without one, and admits one with one.
func TestClientWithoutRequiredCert(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.P256)
	s := fixedServer(Config{Roots: p.roots, RequirePeerCert: true, Now: clk.Now})
	_, _, err := tryExchange(s, Config{Now: clk.Now})
	wantErr(t, err, ErrNoCert)
	_, srv, err := tryExchange(s, Config{Cert: p.issue(t, "client.test", cert.KindName, cert.P256), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if srv.peer.Name != "client.test" {
		t.Errorf("server sees %q, want client.test", srv.peer.Name)
	}
}

// TestClientCertFromAnotherCA checks that a server refuses a client whose
// certificate another CA issued, required or not.
func TestClientCertFromAnotherCA(t *testing.T) {
	for _, require := range []bool{true, false} {
		clk := newClock()
		ours, theirs := newPKI(t, "ours", cert.Ed25519), newPKI(t, "theirs", cert.Ed25519)
		s := fixedServer(Config{Roots: ours.roots, RequirePeerCert: require, Now: clk.Now})
		_, _, err := tryExchange(s, Config{Cert: theirs.issue(t, "client.test", cert.KindName, cert.Ed25519), Now: clk.Now})
		wantErr(t, err, ErrCertificate)
		wantErr(t, err, cert.ErrUntrusted)
	}
}

// TestServerCertFromAnotherCA checks the same for the client.
func TestServerCertFromAnotherCA(t *testing.T) {
	clk := newClock()
	ours, theirs := newPKI(t, "ours", cert.P256), newPKI(t, "theirs", cert.P256)
	s := fixedServer(Config{Cert: theirs.issue(t, serverName, cert.KindName, cert.P256), Now: clk.Now})
	_, _, err := tryExchange(s, Config{Roots: ours.roots, Now: clk.Now})
	wantErr(t, err, cert.ErrUntrusted)
}

// TestExpiredCert checks that a certificate is checked at the Config's
// clock.
func TestExpiredCert(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	s := fixedServer(Config{Roots: p.roots, Now: clk.Now})
	leaf := p.issue(t, "client.test", cert.KindName, cert.Ed25519)
	clk.Advance(25 * time.Hour)
	_, _, err := tryExchange(s, Config{Cert: leaf, Now: clk.Now})
	wantErr(t, err, cert.ErrExpired)
}

// TestIntermediateCA checks a chain through an intermediate CA, which the
// holder presents after its certificate.
func TestIntermediateCA(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "root", cert.Ed25519)
	inter, err := p.ca.Issue("intermediate", cert.KindCA, cert.P256, 40*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Issue(serverName, cert.KindName, cert.Ed25519, 24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.ChainDER()) != 2 {
		t.Fatalf("chain of %d certificates, want 2", len(leaf.ChainDER()))
	}
	cli, _ := exchange(t, fixedServer(Config{Cert: leaf, Now: clk.Now}), Config{Roots: p.roots, RequirePeerCert: true, Now: clk.Now})
	if cli.peer.Name != serverName {
		t.Errorf("peer %q, want %q", cli.peer.Name, serverName)
	}
}

// TestSignatureByAnotherKey checks that a certificate presented with a
// signature by another key (a stolen certificate without its key) is
// refused, on both sides.
func TestSignatureByAnotherKey(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	thief := p.issue(t, "thief.test", cert.KindName, cert.Ed25519)
	stolenClient := *p.issue(t, "client.test", cert.KindName, cert.Ed25519)
	stolenClient.Key = thief.Key
	s := fixedServer(Config{Roots: p.roots, Now: clk.Now})
	_, _, err := tryExchange(s, Config{Cert: &stolenClient, Now: clk.Now})
	wantErr(t, err, ErrSignature)

	stolenServer := *p.issue(t, serverName, cert.KindName, cert.Ed25519)
	stolenServer.Key = thief.Key
	_, _, err = tryExchange(fixedServer(Config{Cert: &stolenServer, Now: clk.Now}), Config{Roots: p.roots, Now: clk.Now})
	wantErr(t, err, ErrSignature)
}

// TestSignatureBoundToName checks that a client's signed request for one
// name does not authenticate it to another name on the same host: the
// signature covers the destination name.
func TestSignatureBoundToName(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	s := fixedServer(Config{Roots: p.roots, Now: clk.Now})
	req, _, err := NewRequest(Config{Cert: p.issue(t, "client.test", cert.KindName, cert.Ed25519), Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, _, err = s.Respond(testSource, "other.test", req)
	wantErr(t, err, ErrSignature)
	if _, _, _, _, err := s.Respond(testSource, serverName, req); err != nil {
		t.Fatalf("the refusal for another name spent the request's id: %v", err)
	}
}

// TestNoRootsReportsSignedLeaf checks that without Roots a peer's
// certificate names nobody but is reported as the one that signed, at
// either end, so that its fingerprint can be pinned.
func TestNoRootsReportsSignedLeaf(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	srvCert, cliCert := p.issue(t, "other.test", cert.KindName, cert.Ed25519), p.issue(t, "client.test", cert.KindName, cert.P256)
	s := fixedServer(Config{Cert: srvCert, Now: clk.Now})
	cli, srv := exchange(t, s, Config{Cert: cliCert, Now: clk.Now})
	for _, c := range []struct {
		end  string
		peer Peer
		want *cert.Pair
		name string
	}{{"client", cli.peer, srvCert, "other.test"}, {"server", srv.peer, cliCert, "client.test"}} {
		if c.peer.Cert != nil || c.peer.Name != "" || c.peer.Chain != nil {
			t.Errorf("%s: peer %+v named or verified without roots", c.end, c.peer)
		}
		if c.peer.Signed == nil || !c.peer.Signed.Equal(c.want.Cert) {
			t.Fatalf("%s: signed leaf %v, want the peer's certificate", c.end, c.peer.Signed)
		}
		if got, want := c.peer.Fingerprint(), cert.Fingerprint(c.want.Cert); got != want {
			t.Errorf("%s: fingerprint %s, want %s", c.end, got, want)
		}
		if got := c.peer.CertName(cert.KindName); got != c.name {
			t.Errorf("%s: certificate name %q, want %q", c.end, got, c.name)
		}
		if got := c.peer.CertName(cert.KindIPCP); got != "" {
			t.Errorf("%s: a name certificate gave the IPCP name %q", c.end, got)
		}
	}
	anon, _ := exchange(t, fixedServer(Config{Now: clk.Now}), Config{Now: clk.Now})
	if anon.peer.Signed != nil || anon.peer.Fingerprint() != "" || anon.peer.CertName(cert.KindName) != "" {
		t.Errorf("a peer without a certificate reported as %+v", anon.peer)
	}
}

// TestForgedSignatureWithoutRoots checks that a certificate whose
// signature does not verify is refused even by an end that checks no
// chain: it is not reported, and the exchange fails. A request's last
// byte is its signature's.
func TestForgedSignatureWithoutRoots(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	s := fixedServer(Config{Now: clk.Now})
	req, _, err := NewRequest(Config{Cert: p.issue(t, "client.test", cert.KindName, cert.Ed25519), Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	req[len(req)-1] ^= 1
	_, _, _, _, err = s.Respond(testSource, serverName, req)
	wantErr(t, err, ErrSignature)

	s = fixedServer(Config{Cert: p.issue(t, serverName, cert.KindName, cert.Ed25519), Now: clk.Now})
	req, st, err := NewRequest(Config{Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, _, _, err := s.Respond(testSource, serverName, req)
	if err != nil {
		t.Fatal(err)
	}
	resp[len(resp)-1] ^= 1
	_, _, _, err = st.Finish(resp)
	wantErr(t, err, ErrSignature)
}

// TestCertWithoutItsKey checks that a certificate presented by someone
// who does not hold its key (copied from an earlier exchange, say) is
// refused at either end, with Roots or without: the presenter signs
// with its own key, which is not the certificate's.
func TestCertWithoutItsKey(t *testing.T) {
	p := newPKI(t, "ca", cert.Ed25519)
	stolen := func(victim *cert.Pair) *cert.Pair {
		thief := p.issue(t, "thief.test", cert.KindName, cert.Ed25519)
		forged := *victim
		forged.Key = thief.Key
		return &forged
	}
	for _, roots := range []*x509.CertPool{nil, p.roots} {
		clk := newClock()
		s := fixedServer(Config{Roots: roots, Now: clk.Now})
		_, _, err := tryExchange(s, Config{Cert: stolen(p.issue(t, "client.test", cert.KindName, cert.Ed25519)), Now: clk.Now})
		wantErr(t, err, ErrSignature)

		s = fixedServer(Config{Cert: stolen(p.issue(t, serverName, cert.KindName, cert.Ed25519)), Now: clk.Now})
		_, _, err = tryExchange(s, Config{Roots: roots, Now: clk.Now})
		wantErr(t, err, ErrSignature)
	}
}

// TestRevokedWithoutRoots checks that a revoked certificate is refused by
// an end without Roots too: a pinned certificate can be revoked.
func TestRevokedWithoutRoots(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	c := p.issue(t, "client.test", cert.KindName, cert.Ed25519)
	r, err := cert.ParseRevoked([]string{cert.Fingerprint(c.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = tryExchange(fixedServer(Config{Revoked: r, Now: clk.Now}), Config{Cert: c, Now: clk.Now})
	wantErr(t, err, cert.ErrRevoked)
}

// TestMalformedCertWithoutRoots checks that a certificate that does not
// parse is refused, not ignored, by an end without Roots.
func TestMalformedCertWithoutRoots(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	req, _, err := NewRequest(Config{Cert: p.issue(t, "client.test", cert.KindName, cert.Ed25519), Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	q, err := parseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(q.certs[0])
	bad[len(bad)/2] ^= 0xff
	q.certs = [][]byte{bad}
	_, _, _, _, err = fixedServer(Config{Now: clk.Now}).Respond(testSource, serverName, encodeRequest(&q))
	if !errors.Is(err, ErrCertificate) && !errors.Is(err, ErrSignature) {
		t.Fatalf("a corrupted certificate: %v, want it refused", err)
	}
}

// TestUnsupportedKey checks that a certificate key this protocol does not
// sign with (here ECDSA on P-384) is refused when configured, and that a
// signature under one does not verify.
func TestUnsupportedKey(t *testing.T) {
	p := newPKI(t, "ca", cert.Ed25519)
	leaf := *p.issue(t, "client.test", cert.KindName, cert.Ed25519)
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf.Key = k
	if _, _, err := NewRequest(Config{Cert: &leaf}, serverName); err == nil {
		t.Fatal("NewRequest accepted a P-384 key")
	}
	m := []byte("message")
	h := sha256.Sum256(m)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, verify(k.Public(), m, sig), ErrSignature)
}

// TestIPCPMembership checks how IPCPs authenticate each other: a member
// reached by the layer's name answers with its own IPCP certificate, which
// the client accepts whatever IPCP name it carries; RespondWith applies the
// acceptor's own policy; an IPCP certificate from another CA, or a name
// certificate, does not pass for membership.
func TestIPCPMembership(t *testing.T) {
	clk := newClock()
	layer, other := newPKI(t, "layer", cert.Ed25519), newPKI(t, "other", cert.Ed25519)
	member := Config{Cert: layer.issue(t, "net.b", cert.KindIPCP, cert.Ed25519), Roots: layer.roots,
		RequirePeerCert: true, PeerKind: cert.KindIPCP, Now: clk.Now}
	// The server's lookup would admit anyone: RespondWith must not use it.
	s := fixedServer(Config{Now: clk.Now})
	try := func(cli Config) (Peer, Peer, error) {
		req, st, err := NewRequest(cli, "net")
		if err != nil {
			return Peer{}, Peer{}, err
		}
		resp, _, _, sp, err := s.RespondWith(member, testSource, "net", req)
		if err != nil {
			return Peer{}, Peer{}, err
		}
		_, _, cp, err := st.Finish(resp)
		return cp, sp, err
	}
	joiner := member
	joiner.Cert = layer.issue(t, "net.a", cert.KindIPCP, cert.Ed25519)
	cp, sp, err := try(joiner)
	if err != nil {
		t.Fatalf("a member's exchange: %v", err)
	}
	if cp.Name != "net.b" || sp.Name != "net.a" {
		t.Errorf("peers %q and %q, want net.b and net.a", cp.Name, sp.Name)
	}
	outsider := joiner
	outsider.Cert = other.issue(t, "net.a", cert.KindIPCP, cert.Ed25519)
	_, _, err = try(outsider)
	wantErr(t, err, cert.ErrUntrusted)
	anonymous := joiner
	anonymous.Cert = nil
	_, _, err = try(anonymous)
	wantErr(t, err, ErrNoCert)
	named := joiner
	named.Cert = layer.issue(t, "net.a", cert.KindName, cert.Ed25519)
	_, _, err = try(named)
	wantErr(t, err, cert.ErrWrongKind)
}

// TestRevokedPeer checks that a peer whose certificate is revoked is
// refused at either end, though its CA is trusted.
func TestRevokedPeer(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	srvCert := p.issue(t, serverName, cert.KindName, cert.Ed25519)
	cliCert := p.issue(t, "client.test", cert.KindName, cert.Ed25519)
	revoked := func(c *cert.Pair) cert.Revoked {
		r, err := cert.ParseRevoked([]string{cert.Fingerprint(c.Cert)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	s := fixedServer(Config{Cert: srvCert, Roots: p.roots, Revoked: revoked(cliCert), Now: clk.Now})
	_, _, err := tryExchange(s, Config{Cert: cliCert, Roots: p.roots, Now: clk.Now})
	wantErr(t, err, cert.ErrRevoked)
	s = fixedServer(Config{Cert: srvCert, Now: clk.Now})
	_, _, err = tryExchange(s, Config{Roots: p.roots, Revoked: revoked(srvCert), Now: clk.Now})
	wantErr(t, err, cert.ErrRevoked)
	if _, _, err := tryExchange(s, Config{Roots: p.roots, Revoked: revoked(cliCert), Now: clk.Now}); err != nil {
		t.Fatalf("a server whose certificate is not revoked: %v", err)
	}
}
