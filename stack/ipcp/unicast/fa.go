package unicast

// The flow allocator: flows between applications, one round trip after the
// directory lookup.
//
//	requester                               responder (where the name is registered)
//	FLOW_REQ (src addr, src eid, qos, hash) ─►  asks its IRM for an accepting process
//	        ◄──── FLOW_REPLY (result, responder's addr and eid)
//	...data both ways, each side addressing the other's eid...
//	FLOW_DEALLOC ───────────────────────────►  the peer's user is told
//	        ◄──── FLOW_UPDATE (ece), while congested (mb-ecn)
//
// Requests are repeated until answered (the layer may lose them); the
// responder recognises a repeat by the requester's address and eid.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/ca"
	"o7s.dev/ouroboros/stack/unicast/dir"
	"o7s.dev/ouroboros/stack/unicast/dt"
)

// requestRepeat is how often an unanswered FLOW_REQ is sent again.
const requestRepeat = 500 * time.Millisecond

// policerBurst is the burst a policed flow may send above its rate.
const policerBurst = 64 << 10

// flow is an application's flow through the layer.
type flow struct {
	eid     uint64
	peer    atomic.Uint64 // the peer member's address
	peerEID uint64
	key     reqKey // the request that made it, at the responder
	port    ipcp.Port
	cube    qos.Cube
	policer *ca.Policer

	mu sync.Mutex // guards tx and rx: several goroutines carry a flow's packets
	tx *ca.Sender
	rx *ca.Receiver
}

// answer is how a flow request was answered: the local endpoint id (0
// while the answer is being made) and the data carried back, kept so that a
// repeated request gets the same reply.
type answer struct {
	eid  uint64
	data []byte
}

// reqKey identifies a flow request by its requester.
type reqKey struct {
	addr addr.Addr
	eid  uint64
}

func (f *flow) peerAddr() addr.Addr { return addr.Addr(f.peer.Load()) }

// pace returns how long to wait before sending n bytes under congestion
// avoidance.
func (f *flow) pace(n int, now time.Time) time.Duration {
	if f.tx == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tx.Admit(n, now)
}

// Register implements ipcp.IPCP: the name is published in the directory.
func (p *IPCP) Register(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
	}
	p.regs[string(hash)] = struct{}{}
	if p.inLayerLocked() {
		p.publishLocked(hash)
	}
	return nil
}

// publishLocked publishes a hash in the background: the directory keeps
// republishing it, so a first failure (no route yet) is not final.
func (p *IPCP) publishLocked(hash []byte) {
	d := p.dht
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		if err := d.Publish(ctx, hash); err != nil && p.ctx.Err() == nil {
			p.log.Warn("directory: publishing a name failed; it is retried", "err", err)
		}
	}()
}

// Unregister implements ipcp.IPCP.
func (p *IPCP) Unregister(hash []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.regs[string(hash)]; !ok {
		return nil
	}
	delete(p.regs, string(hash))
	if p.inLayerLocked() {
		d := p.dht
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
			defer cancel()
			_ = d.Withdraw(ctx, hash)
		}()
	}
	return nil
}

// Reachable implements ipcp.IPCP: it looks the name up in the directory.
func (p *IPCP) Reachable(ctx context.Context, _ string, hash []byte) bool {
	p.mu.Lock()
	in := p.inLayerLocked()
	d := p.dht
	p.mu.Unlock()
	if !in {
		return false
	}
	addrs, err := lookup(ctx, d, hash)
	if err != nil || len(addrs) == 0 {
		return false
	}
	p.mu.Lock()
	if len(p.lookups) > 1024 {
		clear(p.lookups)
	}
	p.lookups[string(hash)] = addrs
	p.mu.Unlock()
	return true
}

// lookup asks the directory for a name's addresses, twice if the first
// answer is "not found": over lossy links an answer from a holder can be
// lost twice over, and a second lookup costs only a round trip or two.
func lookup(ctx context.Context, d *dir.DHT, hash []byte) ([]addr.Addr, error) {
	addrs, err := d.Lookup(ctx, hash)
	if errors.Is(err, dir.ErrNotFound) || (err == nil && len(addrs) == 0) {
		addrs, err = d.Lookup(ctx, hash)
	}
	return addrs, err
}

// Alloc implements ipcp.IPCP.
func (p *IPCP) Alloc(ctx context.Context, name string, hash []byte, q qos.Spec, data []byte, port ipcp.Port) ([]byte, error) {
	if n := len((&faMsg{code: faReq, hash: hash, data: data}).append(nil)); n > MaxSDU {
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "the flow request (%d bytes with its key exchange) is larger than the layer's %d-byte SDU", n, MaxSDU)
	}
	p.mu.Lock()
	if !p.inLayerLocked() {
		p.mu.Unlock()
		return nil, ctrl.Errorf(ctrl.CodeUnreachable, "IPCP %s is in no layer", p.name)
	}
	dsts := p.lookups[string(hash)]
	delete(p.lookups, string(hash))
	d := p.dht
	p.mu.Unlock()
	if len(dsts) == 0 {
		var err error
		if dsts, err = lookup(ctx, d, hash); err != nil || len(dsts) == 0 {
			if errors.Is(err, dir.ErrNotFound) || err == nil {
				return nil, ctrl.Errorf(ctrl.CodeUnreachable, "%q is not registered in layer %s", name, p.Info().Layer)
			}
			return nil, ctrl.Errorf(ctrl.CodeUnreachable, "looking %q up in layer %s: %v", name, p.Info().Layer, err)
		}
	}
	dst := dsts[rand.IntN(len(dsts))]

	p.mu.Lock()
	eid := p.newEIDLocked()
	replies := make(chan faMsg, 1)
	p.allocs[eid] = replies
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.allocs, eid)
		p.mu.Unlock()
	}()

	req := (&faMsg{code: faReq, srcAddr: p.Addr(), srcEID: eid, qos: q, hash: hash, data: data}).append(nil)
	t := time.NewTicker(requestRepeat)
	defer t.Stop()
	for {
		p.sendInternal(dst, dt.EIDFlowAllocator, req)
		select {
		case r := <-replies:
			if r.result != 0 {
				return nil, ctrl.Errorf(ctrl.CodeUnreachable, "%q refused the flow: %s", name, r.reason)
			}
			return r.data, p.startFlow(eid, r.srcAddr, r.srcEID, reqKey{}, q, nil, port)
		case <-t.C:
		case <-ctx.Done():
			return nil, ctrl.Errorf(ctrl.CodeTimeout, "no answer from the member at %v for %q", dst, name)
		case <-p.ctx.Done():
			return nil, ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
		}
	}
}

// newEIDLocked picks an unused endpoint id for a flow.
func (p *IPCP) newEIDLocked() uint64 {
	for {
		eid := rand.Uint64()
		if eid < dt.FirstFlowEID {
			continue
		}
		if _, ok := p.flows[eid]; ok {
			continue
		}
		if _, ok := p.allocs[eid]; ok {
			continue
		}
		return eid
	}
}

// startFlow records an allocated flow and starts carrying it.
func (p *IPCP) startFlow(eid uint64, peer addr.Addr, peerEID uint64, key reqKey, q qos.Spec, reply []byte, port ipcp.Port) error {
	now := time.Now()
	f := &flow{eid: eid, peerEID: peerEID, key: key, port: port, cube: q.Cube()}
	f.peer.Store(uint64(peer))
	if q.Bandwidth > 0 && q.Bandwidth < 1<<62 {
		f.policer = ca.NewPolicer(q.Bandwidth, policerBurst, now)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
	}
	if p.cfg.Congestion == CongestionMBECN {
		f.tx, f.rx = ca.NewSender(now), &ca.Receiver{}
	}
	p.flows[eid] = f
	if key != (reqKey{}) {
		p.answers[key] = answer{eid: eid, data: reply}
	}
	p.publishFlowsLocked()
	p.wg.Add(1)
	go p.readApp(f)
	return nil
}

func (p *IPCP) publishFlowsLocked() {
	m := make(map[uint64]*flow, len(p.flows))
	for k, v := range p.flows {
		m[k] = v
	}
	p.flowTab.Store(&m)
}

// removeFlow forgets a flow; false if it was already gone.
func (p *IPCP) removeFlow(f *flow) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flows[f.eid] != f {
		return false
	}
	delete(p.flows, f.eid)
	if f.key != (reqKey{}) {
		delete(p.answers, f.key)
	}
	p.publishFlowsLocked()
	return true
}

// flowEnded is called when the application's side of a flow ends: the peer
// is told, twice since the layer may lose one.
func (p *IPCP) flowEnded(f *flow, err error) {
	if !p.removeFlow(f) {
		return
	}
	f.port.Down(downReason(errors.Is(err, io.EOF)))
	msg := (&faMsg{code: faDealloc, dstEID: f.peerEID, srcEID: f.eid}).append(nil)
	for range 2 {
		p.sendInternal(f.peerAddr(), dt.EIDFlowAllocator, msg)
	}
}

// faMessage handles a message to the flow allocator.
func (p *IPCP) faMessage(b []byte) {
	m, err := parseFA(b)
	if err != nil {
		p.stats.badControl.Add(1)
		return
	}
	switch m.code {
	case faReq:
		p.flowRequest(m)
	case faReply:
		p.mu.Lock()
		ch := p.allocs[m.dstEID]
		p.mu.Unlock()
		if ch == nil {
			if f := (*p.flowTab.Load())[m.dstEID]; f != nil && f.peerEID == m.srcEID {
				return // the answer to a repeated request: the flow is up
			}
			// A late reply: the request gave up. Release the peer's flow.
			if m.result == 0 {
				p.sendInternal(m.srcAddr, dt.EIDFlowAllocator,
					(&faMsg{code: faDealloc, dstEID: m.srcEID, srcEID: m.dstEID}).append(nil))
			}
			return
		}
		select {
		case ch <- m:
		default:
		}
	case faUpdate:
		if f := (*p.flowTab.Load())[m.dstEID]; f != nil && f.tx != nil {
			f.mu.Lock()
			f.tx.Update(m.ece, time.Now())
			f.mu.Unlock()
		}
	case faDealloc:
		f := (*p.flowTab.Load())[m.dstEID]
		if f != nil && f.peerEID == m.srcEID && p.removeFlow(f) {
			f.port.Down(ctrl.ReasonPeer)
		}
	}
}

// flowRequest answers a FLOW_REQ: a repeat gets the same answer; a new one
// is handed to the IRM, which may take a while (a program may be started).
func (p *IPCP) flowRequest(m faMsg) {
	key := reqKey{m.srcAddr, m.srcEID}
	reply := func(result uint8, eid uint64, reason string, data []byte) {
		msg := &faMsg{code: faReply, result: result, srcAddr: p.Addr(), dstEID: m.srcEID, srcEID: eid, reason: reason, data: data}
		p.sendInternal(m.srcAddr, dt.EIDFlowAllocator, msg.append(nil))
	}
	p.mu.Lock()
	if a, ok := p.answers[key]; ok {
		p.mu.Unlock()
		if a.eid != 0 {
			reply(0, a.eid, "", a.data)
		}
		return
	}
	if _, ok := p.regs[string(m.hash)]; !ok {
		p.mu.Unlock()
		reply(1, 0, "the name is not registered at "+p.name, nil)
		return
	}
	p.answers[key] = answer{} // being answered
	p.wg.Add(1)
	p.mu.Unlock()
	hash := append([]byte(nil), m.hash...)
	data := append([]byte(nil), m.data...)
	go func() {
		defer p.wg.Done()
		port, back, err := p.host.Arrived(p.ctx, p, hash, m.qos, data)
		if err == nil && len((&faMsg{code: faReply, data: back}).append(nil)) > MaxSDU {
			err = fmt.Errorf("the reply's key exchange (%d bytes) is larger than the layer's %d-byte SDU", len(back), MaxSDU)
			port.Down(ctrl.ReasonDown)
		} else if err == nil {
			p.mu.Lock()
			eid := p.newEIDLocked()
			p.mu.Unlock()
			if err = p.startFlow(eid, m.srcAddr, m.srcEID, key, m.qos, back, port); err == nil {
				reply(0, eid, "", back)
				return
			}
			port.Down(ctrl.ReasonDown)
		}
		p.mu.Lock()
		delete(p.answers, key)
		p.mu.Unlock()
		reply(1, 0, err.Error(), nil)
	}()
}

// congestionFeedback turns the ECN of an arriving packet into flow updates
// to the sender.
func (p *IPCP) congestionFeedback(f *flow, ecn uint8) {
	f.mu.Lock()
	send, ece := f.rx.Packet(ecn)
	f.mu.Unlock()
	if send {
		p.sendInternal(f.peerAddr(), dt.EIDFlowAllocator, (&faMsg{code: faUpdate, dstEID: f.peerEID, ece: ece}).append(nil))
	}
}
