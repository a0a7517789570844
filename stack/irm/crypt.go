package irm

// Flow encryption. irmd runs every application flow's key exchange (OAP)
// and hands each application its end's keys; the application seals and
// opens the flow's packets, FRCT header included, so the IPCPs only ever
// carry ciphertext:
//
//	allocating irmd                             accepting irmd
//	oap.NewRequest ── in the flow request ──►  oap.Server.Respond
//	Finish ◄──────── in the flow reply ──────  keys ─► accepting app
//	keys ─► allocating app
//
// Flows of layered IPCPs over lower layers (member flows) carry no key
// exchange in this release.

import (
	"crypto/x509"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ctrl"
)

// CryptPolicy is how flows to a name are encrypted, by the host's
// administrator (irmd.conf); an application cannot change it.
type CryptPolicy struct {
	// Plain lets flows to the name go unencrypted: this host then sends
	// no key exchange for them and accepts requests without one. A flow
	// is unencrypted only if both hosts' policies say so.
	Plain bool
	// Suites are the ciphers allowed, preferred first; empty allows both,
	// the faster on this machine first.
	Suites []crypt.Suite
	// KEX is the key exchange this host asks for, and the weakest it
	// accepts; 0 is X25519.
	KEX oap.KEX
	// Cert is the name's certificate, presented when this host accepts a
	// flow to the name, and when a process bound to the name allocates a
	// flow from it (AllocFrom) instead of the host's.
	Cert *cert.Pair
	// RequireCert refuses a flow to the name unless the other end shows a
	// valid certificate from a CA of SetCryptIdentity.
	RequireCert bool
}

// expiryWarning is how long before a certificate expires irmd warns.
const expiryWarning = 30 * 24 * time.Hour

// flowCrypt holds irmd's key-exchange state: ephemeral keys made ahead of
// time, the replay cache of requests it answered, and the policies.
type flowCrypt struct {
	// The pool and server are made at the first flow: they generate keys
	// in the background, which an IRM that never allocates (a test, a
	// failed start) should not pay for.
	once   sync.Once
	pool   *oap.KeyPool
	server *oap.Server

	mu       sync.Mutex
	policies map[string]CryptPolicy
	roots    *x509.CertPool // CAs a peer's certificate must chain to; nil: none checked
	host     *cert.Pair     // presented when this host allocates
	revoked  cert.Revoked   // refused whatever CA issued them
}

func newFlowCrypt() *flowCrypt {
	return &flowCrypt{policies: map[string]CryptPolicy{}}
}

func (c *flowCrypt) start() {
	c.once.Do(func() {
		c.pool = oap.NewKeyPool(0)
		c.server = oap.NewServer(func(name string) (oap.Config, error) { return c.config(name, true), nil })
	})
}

func (c *flowCrypt) policy(name string) CryptPolicy {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.policies[name]
}

// config is the exchange's configuration for flows to name, at the end
// that accepts them (server) or allocates them.
func (c *flowCrypt) config(name string, server bool) oap.Config {
	p := c.policy(name)
	kex := p.KEX
	if kex == 0 {
		kex = oap.X25519
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg := oap.Config{KEX: kex, Suites: p.Suites, Pool: c.pool, Roots: c.roots,
		RequirePeerCert: p.RequireCert && c.roots != nil, Cert: c.host, Revoked: c.revoked}
	if server {
		cfg.Cert = p.Cert
	}
	return cfg
}

// SetCryptPolicy sets how flows to name are encrypted and authenticated.
func (m *IRM) SetCryptPolicy(name string, p CryptPolicy) {
	if p.Cert != nil {
		m.warnExpiry("the certificate of "+name, p.Cert)
	}
	m.crypt.mu.Lock()
	defer m.crypt.mu.Unlock()
	m.crypt.policies[name] = p
}

// SetCryptIdentity sets the CAs a peer's certificate must chain to (nil:
// peers' certificates are not checked) and the certificate this host
// presents when it allocates flows (nil: none).
func (m *IRM) SetCryptIdentity(roots *x509.CertPool, host *cert.Pair) {
	if host != nil {
		m.warnExpiry("the host's certificate", host)
	}
	m.crypt.mu.Lock()
	defer m.crypt.mu.Unlock()
	m.crypt.roots, m.crypt.host = roots, host
}

// SetRevoked sets the certificates refused in every flow's key exchange,
// those of names and of IPCPs alike, even when a trusted CA issued them. A
// revoked CA revokes what it issued. Flows whose other end showed a
// certificate that is now revoked are ended, and it returns how many.
func (m *IRM) SetRevoked(r cert.Revoked) int {
	m.crypt.mu.Lock()
	m.crypt.revoked = r
	m.crypt.mu.Unlock()
	var ports []*port
	var lowers []*lowerFlow
	m.mu.Lock()
	for _, p := range m.ports {
		if r.Check(p.peer) != nil {
			ports = append(ports, p)
		}
	}
	for _, f := range m.lowers {
		if r.Check(f.peer) != nil {
			lowers = append(lowers, f)
		}
	}
	m.mu.Unlock()
	for _, p := range ports {
		m.log.Warn("flow ended: the peer's certificate is revoked", "id", p.id, "name", p.name, "err", r.Check(p.peer))
		p.Down(reasonDown)
	}
	for _, f := range lowers {
		m.log.Warn("member flow ended: the peer's certificate is revoked", "id", f.id, "ipcp", f.owner, "name", f.name, "err", r.Check(f.peer))
		f.down(reasonDown)
	}
	return len(ports) + len(lowers)
}

// warnExpiry logs a certificate that expires soon, or has.
func (m *IRM) warnExpiry(what string, p *cert.Pair) {
	if soon, left := cert.ExpiresSoon(p.Cert, time.Now(), expiryWarning); soon {
		if left <= 0 {
			m.log.Error(what+" has expired: flows that need it are refused", "expired", p.Cert.NotAfter)
			return
		}
		m.log.Warn(what+" expires soon: renew it (irm cert issue)", "expires", p.Cert.NotAfter, "in", left.Round(time.Hour))
	}
}

// request starts the exchange for a flow to name from the name from (""
// for the host): it presents from's certificate if it has one, else the
// host's. It returns no request (and no state) when the name's policy
// lets its flows go unencrypted.
func (c *flowCrypt) request(name, from string) ([]byte, *oap.ClientState, error) {
	if c.policy(name).Plain {
		return nil, nil, nil
	}
	var own *cert.Pair
	if from != "" {
		own = c.policy(from).Cert
	}
	return c.newRequest(name, func() oap.Config {
		cfg := c.config(name, false)
		if own != nil {
			cfg.Cert = own
		}
		return cfg
	})
}

// newRequest starts an exchange for a flow to name under the Config that
// cfg returns; cfg is called once the key pool runs, which it refers to.
func (c *flowCrypt) newRequest(name string, cfg func() oap.Config) ([]byte, *oap.ClientState, error) {
	c.start()
	req, st, err := oap.NewRequest(cfg(), name)
	if err != nil {
		return nil, nil, ctrl.Errorf(ctrl.CodeInternal, "key exchange for %q: %v", name, err)
	}
	return req, st, nil
}

// finish completes the exchange with the peer's answer and returns the
// keys, encoded for the application, and what it proved about the peer.
func (c *flowCrypt) finish(name string, st *oap.ClientState, resp []byte) ([]byte, proof, error) {
	if st == nil {
		return nil, proof{}, nil // unencrypted by policy
	}
	if len(resp) == 0 {
		return nil, proof{}, ctrl.Errorf(ctrl.CodeNotAllowed, "%q accepted the flow without a key exchange: refusing it unencrypted", name)
	}
	keys, _, peer, err := st.Finish(resp)
	if err != nil {
		return nil, proof{}, ctrl.Errorf(ctrl.CodeNotAllowed, "key exchange with %q failed: %v", name, err)
	}
	b, err := encodeKeys(keys)
	return b, proofOf(peer), err
}

// respond answers a request from source src for a flow to name and
// returns the answer, this end's keys, encoded for the application, and
// what it proved about the client. A request without a key exchange gets
// none of them: the caller refuses it unless policy allows. A refusal
// carries its cause (refusal).
func (c *flowCrypt) respond(src, name string, req []byte) (resp, keys []byte, peer proof, err error) {
	if len(req) == 0 {
		return nil, nil, proof{}, nil
	}
	c.start()
	resp, k, _, p, err := c.server.Respond(src, name, req)
	if err != nil {
		return nil, nil, proof{}, refused(oapCause(err), ctrl.Errorf(ctrl.CodeNotAllowed, "key exchange for %q refused: %v", name, err))
	}
	if keys, err = encodeKeys(k); err != nil {
		return nil, nil, proof{}, err
	}
	return resp, keys, proofOf(p), nil
}

// proof is what a flow's key exchange proved about the other end of an
// application's flow: the certificates a revocation decided later is
// checked against (the verified chain, or the leaf alone when no CA
// vouched for it; nil: anonymous), and what the application is told.
type proof struct {
	chain []*x509.Certificate
	info  *ctrl.FlowPeer
}

// proofOf describes an exchange's peer for the application; it is worked
// out once, at allocation, so that nothing of it is left on the data path.
func proofOf(p oap.Peer) proof {
	if p.Signed == nil {
		return proof{}
	}
	chain := p.Chain
	if chain == nil {
		chain = []*x509.Certificate{p.Signed}
	}
	return proof{chain: chain, info: &ctrl.FlowPeer{Name: p.Name, Fingerprint: p.Fingerprint(), CertName: p.CertName(cert.KindName)}}
}

func encodeKeys(k crypt.Keys) ([]byte, error) {
	defer k.Erase()
	b, err := k.MarshalBinary()
	if err != nil {
		return nil, ctrl.Errorf(ctrl.CodeInternal, "%v", err)
	}
	return b, nil
}
