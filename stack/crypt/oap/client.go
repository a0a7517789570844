package oap

// The client's half of an exchange:
//
//	NewRequest: ephemeral keys (pool) ─► header, timestamp, suites, key share,
//	            chain ─► sign ─► request ──────────────────────────► server
//	Finish:     response ─► parse ─► id, kex, suite match? ─► server's chain
//	            and signature ─► shared secret ─► transcript ─► DeriveKeys

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
)

// ClientState is a request waiting for its response. Finish consumes it.
// It is not safe for concurrent use.
type ClientState struct {
	cfg  Config
	name string
	req  []byte
	id   [idSize]byte
	kex  KEX
	keys clientKeys
	done bool
}

// serverName is the name the server's certificate must be for. An IPCP is
// reached by its own name or its layer's, and any member answers for the
// layer: what an IPCP certificate proves is membership, which the layer's
// CA (cfg.Roots) vouches for, so any IPCP name is accepted.
func (st *ClientState) serverName() string {
	if st.cfg.PeerKind == cert.KindIPCP {
		return ""
	}
	return st.name
}

// NewRequest starts an exchange with the server of the destination name
// under cfg: it returns the request to carry in the flow allocation and the
// state that finishes the exchange with the response. If cfg.Cert is set
// the request carries its chain and is signed for name.
func NewRequest(cfg Config, name string) (req []byte, st *ClientState, err error) {
	req, st, err = newRequest(cfg, name)
	if err != nil {
		return nil, nil, fmt.Errorf("oap: request to %q: %w", name, err)
	}
	return req, st, nil
}

func newRequest(cfg Config, name string) (req []byte, st *ClientState, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	chain, err := cfg.chainDER()
	if err != nil {
		return nil, nil, err
	}
	st = &ClientState{cfg: cfg, name: name, kex: cfg.KEX}
	if _, err := rand.Read(st.id[:]); err != nil {
		return nil, nil, fmt.Errorf("request id: %w", err)
	}
	keys, share, err := newClientShare(cfg.KEX, cfg.Pool)
	if err != nil {
		return nil, nil, err
	}
	st.keys = keys
	ts := uint64(cfg.Now().UnixNano())
	req = appendHeader(make([]byte, 0, requestSize(share, chain)), typeRequest, cfg.KEX, &st.id)
	req = appendRequestBody(req, ts, cfg.Suites, share, chain)
	var sig []byte
	if cfg.Cert != nil {
		if sig, err = sign(cfg.Cert.Key, signedRequest(name, req)); err != nil {
			return nil, nil, err
		}
	}
	req = appendSig(req, sig)
	if len(req) > MaxMessage {
		return nil, nil, fmt.Errorf("request of %d bytes, at most %d: the certificate chain is too long", len(req), MaxMessage)
	}
	// The transcript needs the request as sent, whatever the caller does
	// with its copy.
	st.req = slices.Clone(req)
	return req, st, nil
}

// requestSize is a request's length without its signature, plus room for
// the longest one.
func requestSize(share []byte, chain [][]byte) int {
	n := headerSize + 8 + 1 + MaxSuites + 2 + len(share) + 1 + 2 + maxSig
	for _, c := range chain {
		n += 2 + len(c)
	}
	return n
}

// Finish completes the exchange with the server's response: it checks that
// the response answers this request, authenticates the server as its
// Config asks (a server certificate must be for the destination name), and
// derives the flow's keys, the client being the initiator. It can be called
// once: the ephemeral keys are dropped whatever the outcome, so a forged
// response fails the allocation rather than leave them in memory.
func (st *ClientState) Finish(resp []byte) (crypt.Keys, crypt.Suite, Peer, error) {
	k, suite, peer, err := st.finish(resp)
	if err != nil {
		return crypt.Keys{}, 0, Peer{}, fmt.Errorf("oap: response from %q: %w", st.name, err)
	}
	return k, suite, peer, nil
}

func (st *ClientState) finish(resp []byte) (crypt.Keys, crypt.Suite, Peer, error) {
	if st.done {
		return crypt.Keys{}, 0, Peer{}, ErrFinished
	}
	st.done = true
	keys := st.keys
	st.keys = clientKeys{}
	p, err := parseResponse(resp)
	if err != nil {
		return crypt.Keys{}, 0, Peer{}, err
	}
	if err := st.match(&p); err != nil {
		return crypt.Keys{}, 0, Peer{}, err
	}
	peer, err := authPeer(&st.cfg, p.certs, p.sig, signedResponse(st.req, resp[:p.signed]), st.serverName())
	if err != nil {
		return crypt.Keys{}, 0, Peer{}, err
	}
	secret, err := keys.finish(st.kex, p.share)
	if err != nil {
		return crypt.Keys{}, 0, Peer{}, err
	}
	defer clear(secret)
	k, err := crypt.DeriveKeys(p.suite, secret, transcript(st.req, resp), true)
	if err != nil {
		return crypt.Keys{}, 0, Peer{}, err
	}
	return k, p.suite, peer, nil
}

// match checks that p answers this request: its id and key exchange, and a
// suite the client offered.
func (st *ClientState) match(p *response) error {
	switch {
	case p.id != st.id:
		return fmt.Errorf("%w: id %x, request %x", ErrMismatch, p.id, st.id)
	case p.kex != st.kex:
		return fmt.Errorf("%w: key exchange %v, requested %v", ErrMismatch, p.kex, st.kex)
	case !slices.Contains(st.cfg.Suites, p.suite):
		return fmt.Errorf("%w: suite %v, offered %v", ErrMismatch, p.suite, st.cfg.Suites)
	}
	return nil
}

// transcript returns SHA-256(request || response), the salt of the key
// derivation: it binds the keys to every byte both ends sent.
func transcript(req, resp []byte) []byte {
	h := sha256.New()
	h.Write(req)
	h.Write(resp)
	return h.Sum(nil)
}
