package oap

import (
	"bytes"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
)

// t0 is the start of every test's fake clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a fake clock both ends of a test share.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pki is a CA with the certificates the tests present.
type pki struct {
	ca    *cert.Pair
	roots *x509.CertPool
}

func newPKI(t testing.TB, name string, algo cert.Algo) *pki {
	t.Helper()
	ca, err := cert.NewCA(name, algo, 48*time.Hour, t0)
	if err != nil {
		t.Fatalf("new CA: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &pki{ca: ca, roots: roots}
}

// issue returns a certificate for name of kind, valid for a day from t0.
func (p *pki) issue(t testing.TB, name string, kind cert.Kind, algo cert.Algo) *cert.Pair {
	t.Helper()
	c, err := p.ca.Issue(name, kind, algo, 24*time.Hour, t0)
	if err != nil {
		t.Fatalf("issue %s %q: %v", kind, name, err)
	}
	return c
}

// serverName is the destination name of every test exchange.
const serverName = "server.test"

// testSource is the source the tests' requests come from.
const testSource = "192.0.2.1"

// fixedServer returns a Server that answers every name with cfg.
func fixedServer(cfg Config) *Server {
	return NewServer(func(string) (Config, error) { return cfg, nil })
}

// result is one end's outcome of an exchange.
type result struct {
	keys  crypt.Keys
	suite crypt.Suite
	peer  Peer
}

// exchange runs a whole exchange and fails the test on any error.
func exchange(t testing.TB, s *Server, ccfg Config) (cli, srv result) {
	t.Helper()
	cli, srv, err := tryExchange(s, ccfg)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return cli, srv
}

// tryExchange runs a whole exchange and returns the first error.
func tryExchange(s *Server, ccfg Config) (cli, srv result, err error) {
	return tryExchangeFrom(s, testSource, ccfg)
}

// tryExchangeFrom is tryExchange with requests from src.
func tryExchangeFrom(s *Server, src string, ccfg Config) (cli, srv result, err error) {
	req, st, err := NewRequest(ccfg, serverName)
	if err != nil {
		return cli, srv, err
	}
	resp, k, suite, peer, err := s.Respond(src, serverName, req)
	if err != nil {
		return cli, srv, err
	}
	srv = result{k, suite, peer}
	k, suite, peer, err = st.Finish(resp)
	if err != nil {
		return cli, srv, err
	}
	return result{k, suite, peer}, srv, nil
}

// keysMatch reports whether a and b are the two ends of one flow: a
// packet sealed by either end opens at the other.
func keysMatch(t testing.TB, a, b crypt.Keys) bool {
	t.Helper()
	return oneWay(t, a, b) && oneWay(t, b, a)
}

func oneWay(t testing.TB, from, to crypt.Keys) bool {
	t.Helper()
	s, err := from.Sealer()
	if err != nil {
		t.Fatalf("sealer: %v", err)
	}
	o, err := to.Opener()
	if err != nil {
		t.Fatalf("opener: %v", err)
	}
	msg := []byte("a flow's first SDU")
	p, err := s.Seal(nil, msg)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	got, err := o.Open(nil, p)
	if errors.Is(err, crypt.ErrAuth) {
		return false
	}
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("opened %q, sealed %q", got, msg)
	}
	return true
}

// wantErr fails the test unless err is target.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// encodeRequest encodes a decoded request again, for round-trip checks.
func encodeRequest(q *request) []byte {
	b := appendHeader(nil, typeRequest, q.kex, &q.id)
	b = appendRequestBodyRaw(b, q.ts, q.suites, q.share, q.certs)
	return appendSig(b, q.sig)
}

// appendRequestBodyRaw is appendRequestBody with suites as wire bytes.
func appendRequestBodyRaw(b []byte, ts uint64, suites []byte, share []byte, chain [][]byte) []byte {
	s := make([]crypt.Suite, len(suites))
	for i, v := range suites {
		s[i] = crypt.Suite(v)
	}
	return appendRequestBody(b, ts, s, share, chain)
}

// encodeResponse encodes a decoded response again.
func encodeResponse(p *response) []byte {
	b := appendHeader(nil, typeResponse, p.kex, &p.id)
	b = append(b, byte(p.suite))
	b = appendShare(b, p.share)
	b = appendChain(b, p.certs)
	return appendSig(b, p.sig)
}
