package irm

// Member flows, the flows of layered IPCPs over lower layers, run the same
// key exchange (OAP) as applications' flows, in the lower flow's
// allocation, and irmd seals and opens their packets in the lower flow's
// pipe, so that the lower layer only carries ciphertext:
//
//	upper IPCP ─► ownerEnd ─ seal (pipe transform) ═══ pipe ═══► lower IPCP
//	upper IPCP ◄─ ownerEnd.ReadBatch ◄─ open ◄═════ pipe ═══════ lower IPCP
//
// In a layer bootstrapped with a CA (an authenticated layer) each end
// presents its IPCP certificate and requires the other's, from the layer's
// CA: an IPCP without one can neither enroll nor connect, and since every
// packet of a member flow is authenticated, nothing can be injected into
// one. A layer without a CA is open: its member flows are encrypted
// (anonymously) but anyone who reaches a member may join.

import (
	"crypto/x509"
	"fmt"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ctrl"
)

// layerIdentity authenticates a layered IPCP to the other members of its
// layer.
type layerIdentity struct {
	roots *x509.CertPool // the layer's CAs: every member's certificate chains to one
	pair  *cert.Pair     // the IPCP's own certificate
	cas   []string       // the CAs' names, for the log
}

// loadIdentity reads the files of an IPCP's identity and checks that they
// fit together: the certificate is an IPCP certificate for ipcpName that
// one of the CAs issued, so that a mistake shows now rather than as
// refused enrollments later.
func loadIdentity(ipcpName string, id *ctrl.IPCPIdentity, now time.Time) (*layerIdentity, error) {
	if id == nil {
		return nil, nil
	}
	switch {
	case len(id.CA) == 0:
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %s: a certificate needs ca, the layer's CA that checks the other members'", ipcpName)
	case id.Cert == "" || id.Key == "":
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %s: ca needs cert and key, the IPCP's own certificate that the other members check (irm cert issue ipcp)", ipcpName)
	}
	roots, err := cert.Pool(id.CA...)
	if err != nil {
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %s: ca: %v", ipcpName, err)
	}
	pair, err := cert.Load(id.Cert, id.Key)
	if err != nil {
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %s: cert: %v", ipcpName, err)
	}
	chain := append([]*x509.Certificate{pair.Cert}, pair.Chain...)
	if err := cert.Verify(chain, roots, cert.KindIPCP, ipcpName, now); err != nil {
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %s: %s: %v", ipcpName, id.Cert, err)
	}
	var cas []string
	for _, f := range id.CA {
		certs, err := cert.LoadCerts(f)
		if err != nil {
			return nil, ctrl.Errorf(ctrl.CodeInvalid, "IPCP %s: ca: %v", ipcpName, err)
		}
		for _, c := range certs {
			cas = append(cas, c.Subject.CommonName)
		}
	}
	return &layerIdentity{roots: roots, pair: pair, cas: cas}, nil
}

// CheckIdentity reports whether id, the CAs, certificate and key of IPCP
// ipcpName, would be accepted as it bootstraps or enrolls: the files load,
// the key pairs with the certificate, and the certificate is an IPCP
// certificate for ipcpName from one of the CAs.
func CheckIdentity(ipcpName string, id *ctrl.IPCPIdentity) error {
	_, err := loadIdentity(ipcpName, id, time.Now())
	return err
}

// setIdentity gives an IPCP its identity (nil: none, an open layer) as it
// bootstraps or enrolls, replacing what an earlier attempt gave it.
func (m *IRM) setIdentity(e *ipcpEntry, id *ctrl.IPCPIdentity) error {
	if id == nil {
		m.mu.Lock()
		e.identity = nil
		m.mu.Unlock()
		return nil
	}
	if !layered(e.typ) {
		return ctrl.Errorf(ctrl.CodeInvalid, "ca, cert and key apply to unicast and broadcast IPCPs, whose layers authenticate members; %q is a %s IPCP", e.name, e.typ)
	}
	li, err := loadIdentity(e.name, id, time.Now())
	if err != nil {
		return err
	}
	m.warnExpiry("the certificate of IPCP "+e.name, li.pair)
	m.mu.Lock()
	e.identity = li
	m.mu.Unlock()
	return nil
}

// identityOf returns the identity of the IPCP named n, nil if it has none.
func (m *IRM) identityOf(n string) *layerIdentity {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.ipcps[n]; ok {
		return e.identity
	}
	return nil
}

// logLayerSecurity says whether a new layer authenticates its members.
func (m *IRM) logLayerSecurity(e *ipcpEntry, layer string) {
	if !layered(e.typ) {
		return
	}
	m.mu.Lock()
	id := e.identity
	m.mu.Unlock()
	if id == nil {
		m.log.Warn("layer is open: any IPCP that reaches a member can enroll and connect; bootstrap it with ca, cert and key to admit only members with a certificate",
			"layer", layer, "ipcp", e.name)
		return
	}
	m.log.Info("layer admits only members with a certificate from its CA", "layer", layer, "ipcp", e.name, "ca", id.cas)
}

// memberConfig is the key exchange configuration of a member flow of an
// IPCP with identity id (nil: an open layer) to or for name n.
func (c *flowCrypt) memberConfig(id *layerIdentity, n string) oap.Config {
	p := c.policy(n)
	c.mu.Lock()
	revoked := c.revoked
	c.mu.Unlock()
	cfg := oap.Config{KEX: p.KEX, Suites: p.Suites, Pool: c.pool, PeerKind: cert.KindIPCP, Revoked: revoked}
	if id != nil {
		cfg.Cert, cfg.Roots, cfg.RequirePeerCert = id.pair, id.roots, true
	}
	return cfg
}

// memberPlain reports whether a member flow to n may go unencrypted: only
// in an open layer, and where the name's policy lets its flows go so.
func (c *flowCrypt) memberPlain(id *layerIdentity, n string) bool {
	return id == nil && c.policy(n).Plain
}

// memberRequest starts the exchange of a member flow to n; no request (and
// no state) when the flow goes unencrypted.
func (c *flowCrypt) memberRequest(id *layerIdentity, n string) ([]byte, *oap.ClientState, error) {
	if c.memberPlain(id, n) {
		return nil, nil, nil
	}
	return c.newRequest(n, func() oap.Config { return c.memberConfig(id, n) })
}

// memberFinish completes a member flow's exchange with the peer's answer,
// and returns the keys and the peer's verified chain. No keys and no
// error: the flow goes unencrypted.
func (c *flowCrypt) memberFinish(n string, st *oap.ClientState, resp []byte) (*crypt.Keys, []*x509.Certificate, error) {
	if st == nil {
		return nil, nil, nil
	}
	if len(resp) == 0 {
		return nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, "%q accepted the flow without a key exchange: refusing it unencrypted", n)
	}
	keys, _, peer, err := st.Finish(resp)
	if err != nil {
		return nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, "key exchange with %q failed: %v", n, err)
	}
	return &keys, peer.Chain, nil
}

// memberRespond answers a member flow's request from source src for n at
// an IPCP with identity id, and returns the answer, the keys and the peer's verified
// chain. No response and no keys: the flow goes unencrypted, which only an
// open layer's policy allows.
func (c *flowCrypt) memberRespond(id *layerIdentity, src, n string, req []byte) ([]byte, *crypt.Keys, []*x509.Certificate, error) {
	if len(req) == 0 {
		switch {
		case id != nil:
			return nil, nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, "layer admits only members with a certificate from its CA: the request to %q carried no key exchange", n)
		case !c.memberPlain(id, n):
			return nil, nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, "flows to %q are encrypted: the request carried no key exchange", n)
		}
		return nil, nil, nil, nil
	}
	c.start()
	resp, keys, _, peer, err := c.server.RespondWith(c.memberConfig(id, n), src, n, req)
	switch {
	case err != nil && id != nil:
		return nil, nil, nil, refused(oapCause(err), ctrl.Errorf(ctrl.CodeNotAllowed, "layer admits only members with a certificate from its CA: key exchange for %q refused: %v", n, err))
	case err != nil:
		return nil, nil, nil, refused(oapCause(err), ctrl.Errorf(ctrl.CodeNotAllowed, "key exchange for %q refused: %v", n, err))
	}
	return resp, &keys, peer.Chain, nil
}

// seal makes the flow's owner end seal what it writes and open what it
// reads with keys, which it erases; peer is the other end's verified
// chain (nil: anonymous).
func (e *ownerEnd) seal(keys *crypt.Keys, peer []*x509.Certificate) error {
	defer keys.Erase()
	s, err := keys.Sealer()
	if err != nil {
		return fmt.Errorf("member flow keys: %w", err)
	}
	o, err := keys.Opener()
	if err != nil {
		return fmt.Errorf("member flow keys: %w", err)
	}
	e.opener = o
	e.PipeEnd.SetWriteTransform(s.Seal)
	e.f.encrypted.Store(true)
	e.f.m.mu.Lock()
	e.f.peer = peer
	e.f.m.mu.Unlock()
	return nil
}

// openBatch opens, in place, the n sealed packets that a read put in bufs,
// moving each plaintext to the front of the next free buffer. It returns
// how many opened; the others are dropped and counted.
func (e *ownerEnd) openBatch(bufs [][]byte, lens []int, n int) int {
	out := 0
	for i := range n {
		pkt := bufs[i][:lens[i]]
		if len(pkt) < crypt.Overhead {
			e.f.rejected.Add(1)
			continue
		}
		pt, err := e.opener.Open(pkt[crypt.HeaderSize:crypt.HeaderSize], pkt)
		if err != nil {
			e.f.rejected.Add(1)
			continue
		}
		lens[out] = copy(bufs[out], pt)
		out++
	}
	return out
}
