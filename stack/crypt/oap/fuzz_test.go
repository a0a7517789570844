package oap

import (
	"bytes"
	"testing"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// fuzzSetup returns a server and a client configuration that authenticate
// each other, on a fixed clock so that the seeds stay fresh.
func fuzzSetup(f *testing.F) (s *Server, ccfg Config) {
	clk := newClock()
	p := newPKI(f, "ca", cert.Ed25519)
	scfg := Config{Cert: p.issue(f, serverName, cert.KindName, cert.Ed25519), Roots: p.roots, Now: clk.Now}
	s = fixedServer(scfg)
	s.pool = nil
	ccfg = Config{Roots: p.roots, Now: clk.Now, Cert: p.issue(f, "client.test", cert.KindName, cert.P256)}
	return s, ccfg
}

// FuzzRespond feeds arbitrary requests to a Server: it never panics, a
// request it decodes encodes back to the same bytes, and a response it
// returns is one a client decodes.
func FuzzRespond(f *testing.F) {
	s, ccfg := fuzzSetup(f)
	for _, kex := range []KEX{X25519, X25519MLKEM768} {
		for _, signed := range []bool{false, true} {
			c := ccfg
			c.KEX = kex
			if !signed {
				c.Cert = nil
			}
			req, _, err := NewRequest(c, serverName)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(req)
		}
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		if q, err := parseRequest(req); err == nil {
			if enc := encodeRequest(&q); !bytes.Equal(enc, req) {
				t.Fatalf("request does not round-trip:\n in  %x\n out %x", req, enc)
			}
		}
		resp, _, _, _, err := s.Respond(testSource, serverName, req)
		if err != nil {
			return
		}
		if _, err := parseResponse(resp); err != nil || len(resp) > MaxMessage {
			t.Fatalf("response of %d bytes does not decode: %v", len(resp), err)
		}
	})
}

// FuzzFinish feeds arbitrary responses to a waiting client: it never
// panics, and a response it decodes encodes back to the same bytes. The
// kex byte picks the X25519 or the hybrid exchange, so that mutations
// reach both.
func FuzzFinish(f *testing.F) {
	s, ccfg := fuzzSetup(f)
	states := map[KEX]*ClientState{}
	for _, kex := range []KEX{X25519, X25519MLKEM768} {
		c := ccfg
		c.KEX = kex
		req, st, err := NewRequest(c, serverName)
		if err != nil {
			f.Fatal(err)
		}
		resp, _, _, _, err := s.Respond(testSource, serverName, req)
		if err != nil {
			f.Fatal(err)
		}
		states[kex] = st
		f.Add(resp)
	}
	f.Fuzz(func(t *testing.T, resp []byte) {
		if p, err := parseResponse(resp); err == nil {
			if enc := encodeResponse(&p); !bytes.Equal(enc, resp) {
				t.Fatalf("response does not round-trip:\n in  %x\n out %x", resp, enc)
			}
		}
		st := states[X25519]
		if len(resp) > 2 && KEX(resp[2]) == X25519MLKEM768 {
			st = states[X25519MLKEM768]
		}
		c := *st
		c.Finish(resp)
	})
}
