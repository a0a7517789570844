package flow

// Skeleton of the identity contract; the implementation replaces the bodies.

import (
	"context"
	"errors"

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

// Peer returns what the key exchange proved about the flow's other end.
func (f *Flow) Peer() Peer { return Peer{} }

var errTODO = errors.New("flow: not implemented yet")

// AllocFrom allocates a flow to name as from: irmd presents the certificate
// of from ([name.FROM] cert in irmd.conf) in the key exchange, so that the
// accepting end can prove who dialled. The process must be bound to from.
func (p *Process) AllocFrom(ctx context.Context, name, from string, q qos.Spec) (*Flow, error) {
	return nil, errTODO
}

// Register registers name in layer (creating the name if needed).
func (p *Process) Register(ctx context.Context, name, layer string) error { return errTODO }

// Unregister withdraws name from layer.
func (p *Process) Unregister(ctx context.Context, name, layer string) error { return errTODO }

// Bind binds this process to name, so that flows to name are accepted by it.
func (p *Process) Bind(ctx context.Context, name string) error { return errTODO }

// Unbind undoes Bind.
func (p *Process) Unbind(ctx context.Context, name string) error { return errTODO }
