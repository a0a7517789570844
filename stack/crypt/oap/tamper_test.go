package oap

import (
	"bytes"
	"testing"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// tamperCase is an exchange configuration the tampering tests run.
type tamperCase struct {
	name             string
	kex              KEX
	clientCert, srvC bool
}

// tamperCases are the configurations the tampering tests run: the hybrid
// only once, as every byte of its shares costs a KEM operation.
func tamperCases() []tamperCase {
	return []tamperCase{
		{"x25519/anonymous", X25519, false, false},
		{"x25519/mutual", X25519, true, true},
		{"x25519/server-cert", X25519, false, true},
		{"hybrid/anonymous", X25519MLKEM768, false, false},
	}
}

// tamperSetup returns the two ends' configurations for tc.
func tamperSetup(t *testing.T, tc tamperCase, clk *clock) (scfg, ccfg Config) {
	p := newPKI(t, "ca", cert.Ed25519)
	scfg = Config{Roots: p.roots, Now: clk.Now}
	ccfg = Config{KEX: tc.kex, Roots: p.roots, Now: clk.Now}
	if tc.srvC {
		scfg.Cert = p.issue(t, serverName, cert.KindName, cert.Ed25519)
	}
	if tc.clientCert {
		ccfg.Cert = p.issue(t, "client.test", cert.KindName, cert.P256)
	}
	return scfg, ccfg
}

// flip returns a copy of b with one bit of byte i inverted.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1 << (i % 8)
	return c
}

// TestTamperRequest flips one bit in every byte of a request: the server
// refuses it, the client refuses the answer, or the two ends derive keys
// that do not open each other's packets. Never do both ends agree.
func TestTamperRequest(t *testing.T) {
	for _, tc := range tamperCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			scfg, ccfg := tamperSetup(t, tc, clk)
			s := fixedServer(scfg)
			s.pool = nil
			req, st, err := NewRequest(ccfg, serverName)
			if err != nil {
				t.Fatal(err)
			}
			var refused, finishRefused, mismatched int
			for i := range req {
				s.replay = newReplayCache(DefaultReplayCache, DefaultReplayPerSource)
				resp, skeys, _, _, err := s.Respond(testSource, serverName, flip(req, i))
				if err != nil {
					refused++
					continue
				}
				c := *st // a fresh Finish for every response
				ckeys, _, _, err := c.Finish(resp)
				if err != nil {
					finishRefused++
					continue
				}
				if keysMatch(t, ckeys, skeys) {
					t.Fatalf("byte %d of the request modified, and both ends agree on keys", i)
				}
				mismatched++
			}
			t.Logf("%d bytes: refused by the server %d, by the client %d, keys differ %d", len(req), refused, finishRefused, mismatched)
		})
	}
}

// TestTamperResponse flips one bit in every byte of a response: the client
// refuses it, or derives keys that do not match the server's.
func TestTamperResponse(t *testing.T) {
	for _, tc := range tamperCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			scfg, ccfg := tamperSetup(t, tc, clk)
			req, st, err := NewRequest(ccfg, serverName)
			if err != nil {
				t.Fatal(err)
			}
			resp, skeys, _, _, err := fixedServer(scfg).Respond(testSource, serverName, req)
			if err != nil {
				t.Fatal(err)
			}
			var refused, mismatched int
			for i := range resp {
				c := *st
				ckeys, _, _, err := c.Finish(flip(resp, i))
				if err != nil {
					refused++
					continue
				}
				if keysMatch(t, ckeys, skeys) {
					t.Fatalf("byte %d of the response modified, and both ends agree on keys", i)
				}
				mismatched++
			}
			if tc.srvC && mismatched > 0 {
				t.Errorf("%d modified signed responses accepted", mismatched)
			}
			c := *st
			ckeys, _, _, err := c.Finish(resp)
			if err != nil || !keysMatch(t, ckeys, skeys) {
				t.Fatalf("the untouched response: %v", err)
			}
			t.Logf("%d bytes: refused %d, keys differ %d", len(resp), refused, mismatched)
		})
	}
}

// TestSignedRequestTamper checks that a signed request with any byte
// modified is refused by the server outright.
func TestSignedRequestTamper(t *testing.T) {
	clk := newClock()
	scfg, ccfg := tamperSetup(t, tamperCase{kex: X25519, clientCert: true}, clk)
	s := fixedServer(scfg)
	s.pool = nil
	req, _, err := NewRequest(ccfg, serverName)
	if err != nil {
		t.Fatal(err)
	}
	for i := range req {
		if _, _, _, _, err := s.Respond(testSource, serverName, flip(req, i)); err == nil {
			t.Fatalf("byte %d of a signed request modified, and the server accepted it", i)
		}
	}
}

// TestTruncateExtend checks that every truncation of a message and one
// trailing byte are refused as malformed.
func TestTruncateExtend(t *testing.T) {
	clk := newClock()
	scfg, ccfg := tamperSetup(t, tamperCase{kex: X25519MLKEM768, clientCert: true, srvC: true}, clk)
	req, st, err := NewRequest(ccfg, serverName)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, _, _, err := fixedServer(scfg).Respond(testSource, serverName, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range [][]byte{req, resp} {
		for n := range len(msg) {
			if _, err := parseRequest(msg[:n]); err == nil {
				t.Fatalf("request truncated to %d bytes parsed", n)
			}
			if _, err := parseResponse(msg[:n]); err == nil {
				t.Fatalf("response truncated to %d bytes parsed", n)
			}
		}
	}
	_, err = parseRequest(append(bytes.Clone(req), 0))
	wantErr(t, err, ErrMalformed)
	c := *st
	_, _, _, err = c.Finish(append(bytes.Clone(resp), 0))
	wantErr(t, err, ErrMalformed)
}
