// Package local is the local IPCP: a layer that connects processes of one
// host. A name registered in it is reachable by every process of the host,
// and a flow through it is two application ports spliced together inside
// irmd:
//
//	app A ═socket═► Port A ─► routineSplice ─► Port B ═socket═► app B
//	app A ◄═socket═ Port A ◄─ routineSplice ◄─ Port B ◄═socket═ app B
//
// Each direction is one goroutine moving batches of SDUs with one system call
// per batch each way. It is lossless: a slow reader fills its socket, the
// splice blocks, and the writer's socket fills in turn (back-pressure).
package local

import (
	"context"
	"errors"
	"io"
	"sync"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/schema"
)

// MaxSDU is the largest SDU the local layer carries.
const MaxSDU = 65535

// batch is how many SDUs a splice moves per system call.
const batch = 16

// IPCP is a local IPCP.
type IPCP struct {
	name string
	host ipcp.Host

	mu     sync.Mutex
	layer  string
	hash   ipcp.HashAlgo
	state  ipcp.State
	names  map[string]struct{} // registered hashes, as strings
	splice map[*splice]struct{}
	closed bool
	wg     sync.WaitGroup

	// bufs recycles the splices' batch buffers (1 MiB each): allocating and
	// zeroing them for every flow made allocation several times slower.
	bufs sync.Pool
}

// spliceBufs is one splice direction's batch of SDU buffers.
type spliceBufs struct {
	bufs [][]byte
	lens []int
	out  [][]byte
}

func newSpliceBufs() any {
	b := &spliceBufs{bufs: make([][]byte, batch), lens: make([]int, batch), out: make([][]byte, batch)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, MaxSDU)
	}
	return b
}

var _ ipcp.IPCP = (*IPCP)(nil)

// New returns a local IPCP in the created state.
func New(name string, host ipcp.Host) *IPCP {
	return &IPCP{name: name, host: host, state: ipcp.StateCreated, hash: ipcp.DefaultHash,
		names: make(map[string]struct{}), splice: make(map[*splice]struct{}),
		bufs: sync.Pool{New: newSpliceBufs}}
}

// Info implements ipcp.IPCP.
func (p *IPCP) Info() ipcp.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ipcp.Info{Name: p.name, Type: ipcp.Local, Layer: p.layer, State: p.state, Hash: p.hash, Flows: len(p.splice)}
}

// MaxSDU implements ipcp.IPCP.
func (p *IPCP) MaxSDU() int { return MaxSDU }

// Bootstrap implements ipcp.IPCP. The options are the local type's table
// in stack/schema: only "hash".
func (p *IPCP) Bootstrap(_ context.Context, layer string, opts map[string]string) error {
	vals, err := schema.Lookup(schema.Local).Parse(opts)
	if err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s: %v", p.name, err)
	}
	h := ipcp.HashAlgo(vals["hash"])
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != ipcp.StateCreated {
		return ctrl.Errorf(ctrl.CodeExists, "ipcp %s is already in layer %s", p.name, p.layer)
	}
	p.layer, p.hash, p.state = layer, h, ipcp.StateBootstrapped
	return nil
}

// Register implements ipcp.IPCP.
func (p *IPCP) Register(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == ipcp.StateCreated {
		return ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s is not in a layer yet: bootstrap it first", p.name)
	}
	p.names[string(hash)] = struct{}{}
	return nil
}

// Unregister implements ipcp.IPCP.
func (p *IPCP) Unregister(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.names, string(hash))
	return nil
}

// Reachable implements ipcp.IPCP.
func (p *IPCP) Reachable(_ context.Context, _ string, hash []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.names[string(hash)]
	return ok && !p.closed
}

// Alloc implements ipcp.IPCP: it asks the host for the accepting process's
// port, hands over the data both ways, and splices the two ports.
func (p *IPCP) Alloc(ctx context.Context, name string, hash []byte, q qos.Spec, data []byte, a ipcp.Port) ([]byte, error) {
	if !p.Reachable(ctx, name, hash) {
		return nil, ctrl.Errorf(ctrl.CodeUnreachable, "name is not registered in layer %s", p.layerName())
	}
	b, reply, err := p.host.Arrived(ctx, p, "local", hash, q, data)
	if err != nil {
		return nil, err
	}
	s := &splice{a: a, b: b}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		b.Down(ctrl.ReasonDown)
		return nil, ctrl.Errorf(ctrl.CodeDown, "ipcp %s is shutting down", p.name)
	}
	p.splice[s] = struct{}{}
	p.wg.Add(2)
	p.mu.Unlock()
	go p.routineSplice(s, a, b)
	go p.routineSplice(s, b, a)
	return reply, nil
}

func (p *IPCP) layerName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.layer
}

// Close implements ipcp.IPCP.
func (p *IPCP) Close() error {
	p.mu.Lock()
	p.closed = true
	ss := make([]*splice, 0, len(p.splice))
	for s := range p.splice {
		ss = append(ss, s)
	}
	p.mu.Unlock()
	for _, s := range ss {
		s.end(ctrl.ReasonDown, ctrl.ReasonDown)
	}
	p.wg.Wait()
	return nil
}

// splice is one flow through the layer.
type splice struct {
	a, b ipcp.Port
	once sync.Once
}

// end tells both applications the flow is over.
func (s *splice) end(ra, rb ctrl.Reason) {
	s.once.Do(func() {
		s.a.Down(ra)
		s.b.Down(rb)
	})
}

// routineSplice copies SDUs from src to dst until src ends. When src's
// application deallocates (EOF after its last SDU), dst's application is
// told its peer is gone, after everything src wrote was handed to dst.
//
// That dst's application has closed its end does not end this direction:
// the flow ends when the other direction reads dst's end of stream, and
// until then what src writes is read and dropped, since nobody will read
// it. Ending the flow at once would close src's socket with SDUs still
// queued in it, written before src's application learnt that its peer
// left: data the layer had accepted would be lost although nothing failed.
func (p *IPCP) routineSplice(s *splice, src, dst ipcp.Port) {
	defer p.wg.Done()
	sb := p.bufs.Get().(*spliceBufs)
	defer p.bufs.Put(sb)
	bufs, lens, out := sb.bufs, sb.lens, sb.out
	dstGone := false
	for {
		n, err := src.ReadBatch(bufs, lens)
		for i := 0; i < n; i++ {
			out[i] = bufs[i][:lens[i]]
		}
		if n > 0 && !dstGone {
			if _, werr := dst.WriteBatch(out[:n]); werr != nil {
				if !errors.Is(werr, io.ErrClosedPipe) {
					s.peerLeft() // dst's port is down: so is the flow
					break
				}
				dstGone = true
			}
		}
		if err != nil {
			s.peerLeft()
			break
		}
	}
	p.mu.Lock()
	delete(p.splice, s)
	p.mu.Unlock()
}

// peerLeft ends the flow because one application left (or its socket
// failed): the other learns that its peer deallocated. The port of the one
// that left sends nothing to it, since it ended the flow itself.
func (s *splice) peerLeft() { s.end(ctrl.ReasonPeer, ctrl.ReasonPeer) }
