// Package ipcptest holds in-memory doubles of what an IPCP talks to, so that
// IPCP types can be tested without an IRM: Port, an application's end of a
// flow made of channels, and Host, which accepts every flow on a new Port.
package ipcptest

import (
	"context"
	"errors"
	"io"
	"sync"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// ErrDown is what ReadBatch returns once Down was called.
var ErrDown = errors.New("ipcptest: port down")

// Port is an ipcp.Port made of channels. The test writes the application's
// SDUs to In (closing it deallocates the flow: ReadBatch returns io.EOF)
// and reads what the IPCP delivers from Out; a full Out drops, as an
// application's full socket would. Down sends its reason to Reasons once.
type Port struct {
	In      chan []byte
	Out     chan []byte
	Reasons chan ctrl.Reason

	closed chan struct{}
	once   sync.Once
}

var _ ipcp.Port = (*Port)(nil)

// NewPort returns a Port whose Out holds outCap SDUs.
func NewPort(outCap int) *Port {
	return &Port{In: make(chan []byte, 16), Out: make(chan []byte, outCap),
		Reasons: make(chan ctrl.Reason, 1), closed: make(chan struct{})}
}

// ID implements ipcp.Port.
func (p *Port) ID() uint64 { return 1 }

// ReadBatch implements ipcp.Port: one SDU per call.
func (p *Port) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	select {
	case b, ok := <-p.In:
		if !ok {
			return 0, io.EOF
		}
		lens[0] = copy(bufs[0], b)
		return 1, nil
	case <-p.closed:
		return 0, ErrDown
	}
}

// WriteBatch implements ipcp.Port; it never blocks, like TryWriteBatch.
func (p *Port) WriteBatch(bufs [][]byte) (int, error) { return p.TryWriteBatch(bufs) }

// TryWriteBatch implements ipcp.Port, copying each SDU.
func (p *Port) TryWriteBatch(bufs [][]byte) (int, error) {
	for i, b := range bufs {
		select {
		case p.Out <- append([]byte(nil), b...):
		default:
			return i, nil
		}
	}
	return len(bufs), nil
}

// Down implements ipcp.Port.
func (p *Port) Down(r ctrl.Reason) {
	p.once.Do(func() {
		p.Reasons <- r
		close(p.closed)
	})
}

// Host is an ipcp.Host that accepts every flow on a new Port and hands the
// Port to the test on Ports.
type Host struct {
	Ports  chan *Port
	outCap int
}

var _ ipcp.Host = (*Host)(nil)

// NewHost returns a Host whose Ports' Out hold outCap SDUs.
func NewHost(outCap int) *Host { return &Host{Ports: make(chan *Port, 8), outCap: outCap} }

// Arrived implements ipcp.Host. The data carried back is the request's,
// prefixed with "re:", so that tests see it cross both ways.
func (h *Host) Arrived(_ context.Context, _ ipcp.IPCP, _ string, _ []byte, _ qos.Spec, data []byte) (ipcp.Port, []byte, error) {
	p := NewPort(h.outCap)
	h.Ports <- p
	return p, append([]byte("re:"), data...), nil
}
