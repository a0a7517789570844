package flow

// What a flow's key exchange proved about its peer, and the name
// operations a long-running endpoint (ovpn) needs without an irm
// subprocess. The name operations wrap irmd's management requests, so
// irmd allows them to whom it allows 'irm' (root, irmd's user, [irmd]
// group) and their errors carry irmd's message.

import (
	"context"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
)

// Peer is what irmd's key exchange proved about the other end of a flow.
type Peer struct {
	// Name is the name the peer's certificate was verified for against a
	// CA irmd trusts: on the allocating side the destination name, on
	// the accepting side the name the dialler allocated from (AllocFrom).
	// Empty: not proven by a CA.
	Name string
	// Fingerprint is the SHA-256 fingerprint (cert.Fingerprint format, as
	// `irm cert show` prints it) of the certificate whose key signed the
	// peer's half of the exchange, whether or not a CA vouches for it;
	// empty if the peer presented none. Pin it to authenticate without a CA.
	Fingerprint string
	// CertName is the name in that certificate (verified or not).
	CertName string
}

// Peer returns what the key exchange proved about the flow's other end;
// the zero Peer for an anonymous peer or an unencrypted flow.
func (f *Flow) Peer() Peer {
	p := f.info.Peer
	if p == nil {
		return Peer{}
	}
	return Peer{Name: p.Name, Fingerprint: p.Fingerprint, CertName: p.CertName}
}

// AllocFrom allocates a flow to name as from: irmd presents the certificate
// of from ([name.FROM] cert in irmd.conf) in the key exchange, so that the
// accepting end can prove who dialled. The process must be bound to from
// (Bind); without a certificate for from irmd presents the host's, as Alloc.
func (p *Process) AllocFrom(ctx context.Context, name, from string, q qos.Spec) (*Flow, error) {
	return p.AllocIn(ctx, "", name, from, q)
}

// AllocIn is AllocFrom in one layer: only the host's IPCPs in layer are
// asked for name ("": any, as AllocFrom). A name no IPCP of that layer
// has fails with ErrNoName as soon as the layer's directory says so, and
// the name is not looked up anywhere else (a udp layer would ask the
// system's DNS for it).
func (p *Process) AllocIn(ctx context.Context, layer, name, from string, q qos.Spec) (*Flow, error) {
	req := ctrl.FlowAlloc{Name: name, From: from, Layer: layer, QoS: q, TimeoutMS: timeoutMS(ctx)}
	f, err := p.newFlow(ctx, ctrl.OpFlowAlloc, req)
	if err != nil {
		return nil, &OpError{Op: "alloc", Name: name, Err: err}
	}
	return f, nil
}

// Register registers name in layer (creating the name if needed). layer
// may be a shell pattern, as in 'irm name register NAME layer LAYER'.
func (p *Process) Register(ctx context.Context, name, layer string) error {
	return p.manage(ctx, "register", name, ctrl.OpNameRegister, ctrl.NameRegister{Name: name, Layers: []string{layer}})
}

// Unregister withdraws name from layer.
func (p *Process) Unregister(ctx context.Context, name, layer string) error {
	return p.manage(ctx, "unregister", name, ctrl.OpNameUnregister, ctrl.NameRegister{Name: name, Layers: []string{layer}})
}

// Bind binds this process to name, so that flows to name are accepted by it.
// The binding ends when the process exits.
func (p *Process) Bind(ctx context.Context, name string) error {
	return p.manage(ctx, "bind", name, ctrl.OpBindProcess, ctrl.BindProcess{PID: p.PID(), Name: name})
}

// Unbind undoes Bind.
func (p *Process) Unbind(ctx context.Context, name string) error {
	return p.manage(ctx, "unbind", name, ctrl.OpUnbindProcess, ctrl.BindProcess{PID: p.PID(), Name: name})
}

// manage sends one management request that answers nothing but success.
func (p *Process) manage(ctx context.Context, op, name string, cop ctrl.Op, req any) error {
	if _, err := p.client.Call(ctx, cop, req, nil); err != nil {
		return &OpError{Op: op, Name: name, Err: fromCtrl(err)}
	}
	return nil
}
