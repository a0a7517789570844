package oap

import (
	"bytes"
	"fmt"
	"testing"
	"time"

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
// returns is one a client decodes. A second Server, without Roots, takes
// the same requests: it never names a peer, and reports a signing leaf
// only when the request carried a chain.
func FuzzRespond(f *testing.F) {
	s, ccfg := fuzzSetup(f)
	rootless := fixedServer(Config{Now: ccfg.Now})
	rootless.pool = nil
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
			f.Add(req, byte(1))
		}
	}
	f.Fuzz(func(t *testing.T, req []byte, src byte) {
		if q, err := parseRequest(req); err == nil {
			if enc := encodeRequest(&q); !bytes.Equal(enc, req) {
				t.Fatalf("request does not round-trip:\n in  %x\n out %x", req, enc)
			}
		}
		if _, _, _, peer, err := rootless.Respond(fmt.Sprint("192.0.2.", src), serverName, req); err == nil {
			q, _ := parseRequest(req)
			if peer.Name != "" || peer.Cert != nil || peer.Chain != nil || (peer.Signed != nil) != (len(q.certs) > 0) {
				t.Fatalf("without roots the peer is %+v, from %d certificates", peer, len(q.certs))
			}
		}
		resp, _, _, peer, err := s.Respond(fmt.Sprint("192.0.2.", src), serverName, req)
		if err != nil {
			return
		}
		if peer.Signed != peer.Cert {
			t.Fatalf("with roots the signing leaf %v is not the verified one %v", peer.Signed, peer.Cert)
		}
		if _, err := parseResponse(resp); err != nil || len(resp) > MaxMessage {
			t.Fatalf("response of %d bytes does not decode: %v", len(resp), err)
		}
	})
}

// FuzzReplayCache drives the replay cache with operations read from the
// input, 4 bytes each (source, id, timestamp in the window or, with the
// high bit, a replay of the id's accepted request, clock step), in a small
// cache under pressure, and checks it against a model that forgets
// nothing: a request it accepted is never accepted again while its
// timestamp is in the window, from any source, and it never holds more
// than its size or a source more than its share.
func FuzzReplayCache(f *testing.F) {
	f.Add([]byte{0, 1, 30, 0, 1, 1, 30, 0, 0, 1, 0, 200, 2, 1, 0x80, 1})
	f.Add(bytes.Repeat([]byte{3, 7, 34, 90, 1, 7, 0x80, 3}, 40))
	// A full cache of three sources drops its oldest second; then that
	// second's first request comes again.
	var evict []byte
	for i := range 17 {
		evict = append(evict, byte(i%3), byte(i), byte(i/6), 0)
	}
	f.Add(append(evict, 1, 0, 0x80, 0))
	f.Fuzz(func(t *testing.T, ops []byte) {
		const max, share = 16, 6
		c := newReplayCache(max, share)
		accepted := map[[idSize]byte]time.Time{}
		now := t0
		for ; len(ops) >= 4; ops = ops[4:] {
			src := fmt.Sprint(ops[0] % 5)
			id := testID(0, int(ops[1]%40))
			ts := now.Add(time.Duration(ops[2]%36)*time.Second - MaxAge)
			prev, seen := accepted[id]
			replay := ops[2]&0x80 != 0 && seen
			if replay {
				ts = prev
			}
			now = now.Add(time.Duration(ops[3]) * 10 * time.Millisecond)
			err := c.add(src, id, ts, now)
			if replay && err == nil && !prev.Before(now.Add(-MaxAge)) {
				t.Fatalf("id %x at %v accepted again at %v, while in the window", id, prev, now)
			}
			if err == nil {
				accepted[id] = ts
			}
			if c.size() > max || c.held(src) > share {
				t.Fatalf("holds %d ids, %d of source %s: at most %d, %d", c.size(), c.held(src), src, max, share)
			}
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
