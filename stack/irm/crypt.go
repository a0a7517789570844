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
	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ctrl"
)

// flowCrypt holds irmd's key-exchange state: ephemeral keys made ahead of
// time, and the replay cache of requests it answered.
type flowCrypt struct {
	pool   *oap.KeyPool
	server *oap.Server
}

func newFlowCrypt() *flowCrypt {
	c := &flowCrypt{pool: oap.NewKeyPool(0)}
	c.server = oap.NewServer(func(string) (oap.Config, error) { return c.config(), nil })
	return c
}

// config is the exchange's configuration: X25519 and either AEAD, the
// faster on this machine first.
func (c *flowCrypt) config() oap.Config {
	return oap.Config{KEX: oap.X25519, Pool: c.pool}
}

// request starts the exchange for a flow to name.
func (c *flowCrypt) request(name string) ([]byte, *oap.ClientState, error) {
	req, st, err := oap.NewRequest(c.config(), name)
	if err != nil {
		return nil, nil, ctrl.Errorf(ctrl.CodeInternal, "key exchange for %q: %v", name, err)
	}
	return req, st, nil
}

// finish completes the exchange with the peer's answer and returns the
// keys, encoded for the application.
func (c *flowCrypt) finish(name string, st *oap.ClientState, resp []byte) ([]byte, error) {
	if len(resp) == 0 {
		return nil, ctrl.Errorf(ctrl.CodeNotAllowed, "%q accepted the flow without a key exchange: refusing it unencrypted", name)
	}
	keys, _, _, err := st.Finish(resp)
	if err != nil {
		return nil, ctrl.Errorf(ctrl.CodeNotAllowed, "key exchange with %q failed: %v", name, err)
	}
	return encodeKeys(keys)
}

// respond answers a request for a flow to name and returns the answer and
// this end's keys, encoded for the application.
func (c *flowCrypt) respond(name string, req []byte) (resp, keys []byte, err error) {
	if len(req) == 0 {
		return nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, "flows to %q are encrypted: the request carried no key exchange", name)
	}
	resp, k, _, _, err := c.server.Respond(name, req)
	if err != nil {
		return nil, nil, ctrl.Errorf(ctrl.CodeNotAllowed, "key exchange for %q refused: %v", name, err)
	}
	if keys, err = encodeKeys(k); err != nil {
		return nil, nil, err
	}
	return resp, keys, nil
}

func encodeKeys(k crypt.Keys) ([]byte, error) {
	defer k.Erase()
	b, err := k.MarshalBinary()
	if err != nil {
		return nil, ctrl.Errorf(ctrl.CodeInternal, "%v", err)
	}
	return b, nil
}
