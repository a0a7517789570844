package oap

// The server's half of an exchange, in the order of the checks, cheapest
// first so that junk costs little:
//
//	request ─► parse ─► config for the name ─► timestamp in window?
//	        ─► KEX strong enough? ─► common suite? ─► id seen? (early)
//	        ─► client's chain and signature ─► remember id (replay cache)
//	        ─► key share: ephemeral X25519 (pool) [+ ML-KEM encapsulate]
//	        ─► response, signed ─► transcript ─► DeriveKeys

import (
	"fmt"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
)

// Server answers requests for the names of one host. It holds the replay
// cache, which must see every request for those names, and a pool of
// ephemeral keys. It is safe for concurrent use.
type Server struct {
	cfg    func(name string) (Config, error)
	replay *replayCache
	pool   *KeyPool
}

// NewServer returns a Server that looks up the Config of the name each
// request is for with cfg; an error from cfg refuses the request with it.
func NewServer(cfg func(name string) (Config, error)) *Server {
	return &Server{cfg: cfg, replay: newReplayCache(DefaultReplayCache, DefaultReplayPerSource), pool: NewKeyPool(0)}
}

// Respond answers the request of a flow allocation to name that came from
// src, a key for the requester as the layer sees it (an IP address, a
// layer address): the replay cache holds a bounded share of ids per
// source. It checks the request against name's Config, authenticates the client if it sent a
// certificate (or if the Config requires one), and returns the response
// to carry in the allocation reply, with the flow's keys, the suite chosen
// and the client's identity. On error, there is no response: the
// allocation is refused, and the error says why (ErrReplay, ErrTimestamp,
// ErrWeakKEX, ErrNoSuite, ErrNoCert, ErrCertificate, ErrSignature,
// ErrMalformed, ErrVersion, ErrReplayCacheFull, or the Config's).
func (s *Server) Respond(src, name string, req []byte) (resp []byte, keys crypt.Keys, suite crypt.Suite, peer Peer, err error) {
	cfg, err := s.config(name)
	if err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, fmt.Errorf("oap: request for %q: %w", name, err)
	}
	return s.RespondWith(cfg, src, name, req)
}

// RespondWith is Respond under cfg instead of the Config NewServer's lookup
// gives for name: for a flow whose acceptor has its own policy, as an IPCP
// of an authenticated layer has. The replay cache is the same.
func (s *Server) RespondWith(cfg Config, src, name string, req []byte) (resp []byte, keys crypt.Keys, suite crypt.Suite, peer Peer, err error) {
	cfg, err = cfg.withDefaults()
	if err == nil {
		resp, keys, suite, peer, err = s.respond(cfg, src, name, req)
	}
	if err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, fmt.Errorf("oap: request for %q: %w", name, err)
	}
	return resp, keys, suite, peer, nil
}

func (s *Server) respond(cfg Config, src, name string, req []byte) ([]byte, crypt.Keys, crypt.Suite, Peer, error) {
	q, err := parseRequest(req)
	if err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, err
	}
	suite, err := s.admit(&cfg, &q)
	if err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, err
	}
	peer, err := authPeer(&cfg, q.certs, q.sig, signedRequest(name, req[:q.signed]), "")
	if err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, fmt.Errorf("client: %w", err)
	}
	if err := s.replay.add(src, q.id, time.Unix(0, int64(q.ts)), cfg.Now()); err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, err
	}
	resp, secret, err := s.answer(&cfg, req, &q, suite)
	if err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, err
	}
	defer clear(secret)
	keys, err := crypt.DeriveKeys(suite, secret, transcript(req, resp), false)
	if err != nil {
		return nil, crypt.Keys{}, 0, Peer{}, err
	}
	return resp, keys, suite, peer, nil
}

// config returns name's Config with its defaults.
func (s *Server) config(name string) (Config, error) {
	cfg, err := s.cfg(name)
	if err != nil {
		return Config{}, err
	}
	return cfg.withDefaults()
}

// admit runs the cheap checks of a request: its age, its key exchange, a
// suite in common and a first look for a replay. It returns the suite.
func (s *Server) admit(cfg *Config, q *request) (crypt.Suite, error) {
	now := cfg.Now()
	ts := time.Unix(0, int64(q.ts))
	switch {
	case ts.After(now.Add(MaxFuture)):
		return 0, fmt.Errorf("%w: timestamp %v is %v ahead of this host's clock (at most %v)",
			ErrTimestamp, ts.UTC(), ts.Sub(now), MaxFuture)
	case ts.Before(now.Add(-MaxAge)):
		return 0, fmt.Errorf("%w: timestamp %v is %v old (at most %v)",
			ErrTimestamp, ts.UTC(), now.Sub(ts), MaxAge)
	case q.kex.rank() < cfg.KEX.rank():
		return 0, fmt.Errorf("%w: the client uses %v, this name requires at least %v", ErrWeakKEX, q.kex, cfg.KEX)
	case s.replay.has(q.id, now):
		return 0, fmt.Errorf("%w: id %x", ErrReplay, q.id)
	}
	return chooseSuite(q.suites, cfg.Suites)
}

// answer builds the signed response and returns it with the shared secret.
func (s *Server) answer(cfg *Config, req []byte, q *request, suite crypt.Suite) (resp, secret []byte, err error) {
	chain, err := cfg.chainDER()
	if err != nil {
		return nil, nil, err
	}
	share, secret, err := serverShare(q.kex, q.share, s.pool)
	if err != nil {
		return nil, nil, err
	}
	n := headerSize + 1 + 2 + len(share) + 1 + 2 + maxSig
	for _, c := range chain {
		n += 2 + len(c)
	}
	resp = appendHeader(make([]byte, 0, n), typeResponse, q.kex, &q.id)
	resp = append(resp, byte(suite))
	resp = appendShare(resp, share)
	resp = appendChain(resp, chain)
	var sig []byte
	if cfg.Cert != nil {
		if sig, err = sign(cfg.Cert.Key, signedResponse(req, resp)); err != nil {
			clear(secret)
			return nil, nil, err
		}
	}
	resp = appendSig(resp, sig)
	if len(resp) > MaxMessage {
		clear(secret)
		return nil, nil, fmt.Errorf("response of %d bytes, at most %d: the certificate chain is too long", len(resp), MaxMessage)
	}
	return resp, secret, nil
}

// ReplayHeld returns the number of request ids the replay cache holds: at
// most DefaultReplayCache, and DefaultReplayPerSource of one source.
func (s *Server) ReplayHeld() int { return s.replay.size() }
