package oap

import (
	"testing"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
)

// TestRoundTrip runs both key exchanges with and without a certificate on
// either side, with both signature algorithms: both ends agree on the
// suite and the keys, and learn who the other is exactly when it presented
// a certificate.
func TestRoundTrip(t *testing.T) {
	for _, kex := range []KEX{X25519, X25519MLKEM768} {
		for _, algo := range []cert.Algo{cert.Ed25519, cert.P256} {
			for _, mode := range []struct {
				name           string
				client, server bool
			}{{"anonymous", false, false}, {"server-cert", false, true}, {"client-cert", true, false}, {"mutual", true, true}} {
				t.Run(kex.String()+"/"+string(algo)+"/"+mode.name, func(t *testing.T) {
					testRoundTrip(t, kex, algo, mode.client, mode.server)
				})
			}
		}
	}
}

func testRoundTrip(t *testing.T, kex KEX, algo cert.Algo, clientCert, serverCert bool) {
	clk := newClock()
	p := newPKI(t, "ca", algo)
	scfg := Config{KEX: X25519, Roots: p.roots, Now: clk.Now}
	ccfg := Config{KEX: kex, Roots: p.roots, Now: clk.Now}
	if serverCert {
		scfg.Cert = p.issue(t, serverName, cert.KindName, algo)
	}
	if clientCert {
		ccfg.Cert = p.issue(t, "client.test", cert.KindName, algo)
	}
	cli, srv := exchange(t, fixedServer(scfg), ccfg)
	if cli.suite != srv.suite || cli.suite != defaultSuites()[0] {
		t.Errorf("suites: client %v, server %v, want both %v", cli.suite, srv.suite, defaultSuites()[0])
	}
	if !keysMatch(t, cli.keys, srv.keys) {
		t.Fatal("the two ends derived different keys")
	}
	if oneWay(t, cli.keys, cli.keys) {
		t.Error("a packet the client sealed opens with the client's own keys: one key for both directions")
	}
	checkPeer(t, "client sees", cli.peer, serverCert, serverName)
	checkPeer(t, "server sees", srv.peer, clientCert, "client.test")
}

func checkPeer(t *testing.T, who string, p Peer, authenticated bool, name string) {
	t.Helper()
	switch {
	case !authenticated && (p.Cert != nil || p.Name != ""):
		t.Errorf("%s %q with a certificate, but none was presented", who, p.Name)
	case authenticated && (p.Cert == nil || p.Name != name):
		t.Errorf("%s %q (certificate %v), want %q", who, p.Name, p.Cert != nil, name)
	}
}

// TestFreshKeys checks that two exchanges with the same configuration
// never share keys: the key shares are ephemeral.
func TestFreshKeys(t *testing.T) {
	clk := newClock()
	s := fixedServer(Config{Now: clk.Now})
	pool := NewKeyPool(2)
	ccfg := Config{KEX: X25519MLKEM768, Pool: pool, Now: clk.Now}
	first, _ := exchange(t, s, ccfg)
	for range 5 {
		_, srv := exchange(t, s, ccfg)
		if keysMatch(t, first.keys, srv.keys) {
			t.Fatal("a later exchange derived the keys of the first")
		}
	}
}

// TestSuiteNegotiation checks that the server picks the first suite of
// the client's list that it allows.
func TestSuiteNegotiation(t *testing.T) {
	aes, cc := crypt.AES256GCM, crypt.ChaCha20Poly1305
	for _, tc := range []struct {
		name           string
		client, server []crypt.Suite
		want           crypt.Suite
	}{
		{"client order wins", []crypt.Suite{cc, aes}, []crypt.Suite{aes, cc}, cc},
		{"client order wins 2", []crypt.Suite{aes, cc}, []crypt.Suite{cc, aes}, aes},
		{"server allows one", []crypt.Suite{aes, cc}, []crypt.Suite{cc}, cc},
		{"client offers one", []crypt.Suite{aes}, nil, aes},
		{"defaults", nil, nil, crypt.DefaultSuite()},
		{"none in common", []crypt.Suite{aes}, []crypt.Suite{cc}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s := fixedServer(Config{Suites: tc.server, Now: clk.Now})
			cli, srv, err := tryExchange(s, Config{Suites: tc.client, Now: clk.Now})
			if tc.want == 0 {
				wantErr(t, err, ErrNoSuite)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cli.suite != tc.want || srv.suite != tc.want || cli.keys.Suite() != tc.want {
				t.Fatalf("suite: client %v (keys %v), server %v; want %v", cli.suite, cli.keys.Suite(), srv.suite, tc.want)
			}
			if !keysMatch(t, cli.keys, srv.keys) {
				t.Fatal("keys differ")
			}
		})
	}
}

// TestServerSkipsUnknownSuites checks that a suite value the server does
// not know is passed over, not refused: a later client may offer more.
func TestServerSkipsUnknownSuites(t *testing.T) {
	got, err := chooseSuite([]byte{9, 0, byte(crypt.ChaCha20Poly1305)}, defaultSuites())
	if err != nil || got != crypt.ChaCha20Poly1305 {
		t.Fatalf("chooseSuite = %v, %v; want %v", got, err, crypt.ChaCha20Poly1305)
	}
}

// TestKEXStrength checks that the server refuses a key exchange weaker
// than its own and accepts a stronger one.
func TestKEXStrength(t *testing.T) {
	for _, tc := range []struct {
		client, server KEX
		ok             bool
	}{
		{X25519, X25519, true},
		{X25519MLKEM768, X25519, true},
		{X25519MLKEM768, X25519MLKEM768, true},
		{X25519, X25519MLKEM768, false},
	} {
		t.Run(tc.client.String()+"-to-"+tc.server.String(), func(t *testing.T) {
			clk := newClock()
			cli, srv, err := tryExchange(fixedServer(Config{KEX: tc.server, Now: clk.Now}), Config{KEX: tc.client, Now: clk.Now})
			if !tc.ok {
				wantErr(t, err, ErrWeakKEX)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !keysMatch(t, cli.keys, srv.keys) {
				t.Fatal("keys differ")
			}
		})
	}
}

// TestParseKEX checks the configuration names and their round trip.
func TestParseKEX(t *testing.T) {
	for _, k := range []KEX{X25519, X25519MLKEM768} {
		got, err := ParseKEX(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKEX(%q) = %v, %v", k.String(), got, err)
		}
	}
	if got, err := ParseKEX(" X25519-MLKEM768 "); err != nil || got != X25519MLKEM768 {
		t.Errorf("ParseKEX is not case-insensitive: %v, %v", got, err)
	}
	for _, s := range []string{"", "x448", "mlkem768", "p256"} {
		if _, err := ParseKEX(s); err == nil {
			t.Errorf("ParseKEX(%q) accepted", s)
		}
	}
	if s := KEX(7).String(); s != "kex(7)" {
		t.Errorf("KEX(7).String() = %q", s)
	}
}

// TestMessageSizes pins the sizes the wire format documents.
func TestMessageSizes(t *testing.T) {
	for _, tc := range []struct {
		kex       KEX
		req, resp int
	}{
		{X25519, 20 + 8 + 1 + 2 + 2 + 32 + 1 + 2, 20 + 1 + 2 + 32 + 1 + 2},
		{X25519MLKEM768, 20 + 8 + 1 + 2 + 2 + 1216 + 1 + 2, 20 + 1 + 2 + 1120 + 1 + 2},
	} {
		clk := newClock()
		req, st, err := NewRequest(Config{KEX: tc.kex, Now: clk.Now}, serverName)
		if err != nil {
			t.Fatal(err)
		}
		resp, _, _, _, err := fixedServer(Config{Now: clk.Now}).Respond(testSource, serverName, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(req) != tc.req || len(resp) != tc.resp {
			t.Errorf("%v: request %d, response %d bytes; want %d, %d", tc.kex, len(req), len(resp), tc.req, tc.resp)
		}
		if _, _, _, err := st.Finish(resp); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFinishOnce checks that a ClientState finishes once: its ephemeral
// keys are gone after the first Finish, even a failed one.
func TestFinishOnce(t *testing.T) {
	clk := newClock()
	req, st, err := NewRequest(Config{Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, _, _, err := fixedServer(Config{Now: clk.Now}).Respond(testSource, serverName, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.Finish(resp[:10]); err == nil {
		t.Fatal("a truncated response finished the exchange")
	}
	_, _, _, err = st.Finish(resp)
	wantErr(t, err, ErrFinished)
}

// TestResponseToAnotherRequest checks that a client refuses the response
// to someone else's request.
func TestResponseToAnotherRequest(t *testing.T) {
	clk := newClock()
	s := fixedServer(Config{Now: clk.Now})
	_, st, err := NewRequest(Config{Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := NewRequest(Config{Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, _, _, err := s.Respond(testSource, serverName, other)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = st.Finish(resp)
	wantErr(t, err, ErrMismatch)
}

// TestConfigErrors checks that a bad configuration fails at once, with
// what is wrong.
func TestConfigErrors(t *testing.T) {
	p := newPKI(t, "ca", cert.Ed25519)
	leaf := p.issue(t, "client.test", cert.KindName, cert.Ed25519)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"unknown kex", Config{KEX: 9}},
		{"unknown suite", Config{Suites: []crypt.Suite{7}}},
		{"too many suites", Config{Suites: make([]crypt.Suite, MaxSuites+1)}},
		{"require without roots", Config{RequirePeerCert: true}},
		{"pair without key", Config{Cert: &cert.Pair{Cert: leaf.Cert}}},
		{"pair without certificate", Config{Cert: &cert.Pair{Key: leaf.Key}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := NewRequest(tc.cfg, serverName); err == nil {
				t.Error("NewRequest accepted the configuration")
			}
			req, _, err := NewRequest(Config{}, serverName)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, _, err := fixedServer(tc.cfg).Respond(testSource, serverName, req); err == nil {
				t.Error("Respond accepted the configuration")
			}
		})
	}
}
