package oap

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
)

// validRequest returns the fields of a well-formed request, to break one
// at a time.
func validRequest() request {
	return request{
		kex:    X25519,
		id:     [idSize]byte{1, 2, 3},
		ts:     uint64(t0.UnixNano()),
		suites: []byte{1, 2},
		share:  bytes.Repeat([]byte{9}, x25519Size),
	}
}

// TestParseRequestBounds checks that each bound of the request format is
// enforced, and that the valid request it starts from decodes.
func TestParseRequestBounds(t *testing.T) {
	cert := bytes.Repeat([]byte{0x30}, 100)
	for _, tc := range []struct {
		name   string
		edit   func(q *request)
		raw    func(b []byte) []byte
		target error
	}{
		{name: "valid"},
		{name: "version 2", raw: func(b []byte) []byte { b[0] = 2; return b }, target: ErrVersion},
		{name: "version 0", raw: func(b []byte) []byte { b[0] = 0; return b }, target: ErrVersion},
		{name: "response type", raw: func(b []byte) []byte { b[1] = typeResponse; return b }, target: ErrMalformed},
		{name: "unknown kex", raw: func(b []byte) []byte { b[2] = 3; return b }, target: ErrMalformed},
		{name: "flags", raw: func(b []byte) []byte { b[3] = 1; return b }, target: ErrMalformed},
		{name: "timestamp beyond int64", edit: func(q *request) { q.ts = math.MaxInt64 + 1 }, target: ErrMalformed},
		{name: "no suites", edit: func(q *request) { q.suites = nil }, target: ErrMalformed},
		{name: "nine suites", edit: func(q *request) { q.suites = make([]byte, 9) }, target: ErrMalformed},
		{name: "eight suites", edit: func(q *request) { q.suites = make([]byte, 8) }},
		{name: "short share", edit: func(q *request) { q.share = q.share[:31] }, target: ErrMalformed},
		{name: "hybrid share for x25519", edit: func(q *request) { q.share = make([]byte, 32+mlkemEKSize) }, target: ErrMalformed},
		{name: "certificate without signature", edit: func(q *request) { q.certs = [][]byte{cert} }, target: ErrMalformed},
		{name: "signature without certificate", edit: func(q *request) { q.sig = make([]byte, 64) }, target: ErrMalformed},
		{name: "signed", edit: func(q *request) { q.certs, q.sig = [][]byte{cert}, make([]byte, 64) }},
		{name: "long signature", edit: func(q *request) { q.certs, q.sig = [][]byte{cert}, make([]byte, maxSig+1) }, target: ErrMalformed},
		{name: "four certificates", edit: func(q *request) { q.certs, q.sig = [][]byte{cert, cert, cert, cert}, make([]byte, 64) }},
		{name: "five certificates", edit: func(q *request) { q.certs, q.sig = [][]byte{cert, cert, cert, cert, cert}, make([]byte, 64) }, target: ErrMalformed},
		{name: "empty certificate", edit: func(q *request) { q.certs, q.sig = [][]byte{{}}, make([]byte, 64) }, target: ErrMalformed},
		{name: "certificate too long", edit: func(q *request) { q.certs, q.sig = [][]byte{make([]byte, MaxCertSize+1)}, make([]byte, 64) }, target: ErrMalformed},
		{name: "message too long", edit: func(q *request) {
			c := make([]byte, MaxCertSize)
			q.certs, q.sig = [][]byte{c, c}, make([]byte, 64)
		}, target: ErrMalformed},
		{name: "trailing byte", raw: func(b []byte) []byte { return append(b, 0) }, target: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := validRequest()
			if tc.edit != nil {
				tc.edit(&q)
			}
			b := encodeRequest(&q)
			if tc.raw != nil {
				b = tc.raw(b)
			}
			got, err := parseRequest(b)
			if tc.target == nil {
				if err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				if !bytes.Equal(encodeRequest(&got), b) {
					t.Fatal("request does not round-trip")
				}
				return
			}
			wantErr(t, err, tc.target)
		})
	}
}

// TestParseResponseBounds checks the bounds the response adds.
func TestParseResponseBounds(t *testing.T) {
	valid := response{kex: X25519MLKEM768, suite: crypt.AES256GCM, share: make([]byte, x25519Size+mlkemCTSize)}
	b := encodeResponse(&valid)
	if _, err := parseResponse(b); err != nil {
		t.Fatalf("valid response refused: %v", err)
	}
	short := valid
	short.share = short.share[:x25519Size+mlkemCTSize-1]
	_, err := parseResponse(encodeResponse(&short))
	wantErr(t, err, ErrMalformed)
	_, err = parseRequest(b)
	wantErr(t, err, ErrMalformed)
}

// TestOversizedRequestRefused checks that the Server refuses a message
// over MaxMessage before reading it.
func TestOversizedRequestRefused(t *testing.T) {
	req := make([]byte, MaxMessage+1)
	req[0], req[1], req[2] = Version, typeRequest, byte(X25519)
	_, _, _, _, err := fixedServer(Config{}).Respond(testSource, serverName, req)
	wantErr(t, err, ErrMalformed)
}

// TestChainTooLongToSend checks that a chain the peer would refuse fails
// at the sender, with a message saying so.
func TestChainTooLongToSend(t *testing.T) {
	clk := newClock()
	p := newPKI(t, "ca", cert.Ed25519)
	leaf := *p.issue(t, "client.test", cert.KindName, cert.Ed25519)
	for range MaxCerts {
		leaf.Chain = append(leaf.Chain, p.ca.Cert)
	}
	_, _, err := NewRequest(Config{Cert: &leaf, Now: clk.Now}, serverName)
	if err == nil || !strings.Contains(err.Error(), "at most 4") {
		t.Fatalf("error %v, want one about the chain length", err)
	}
}

// TestErrorsSayWhere checks that an error names the exchange it comes
// from, once.
func TestErrorsSayWhere(t *testing.T) {
	_, _, _, _, err := fixedServer(Config{}).Respond(testSource, serverName, []byte{2})
	if err == nil || strings.Count(err.Error(), "oap:") != 1 || !strings.Contains(err.Error(), serverName) {
		t.Fatalf("error %q", err)
	}
}
