package unicast

// Member flows: flows over a lower layer between two members of the layer,
// one per component (data transfer, management), or a short-lived one for
// enrollment. Each begins with a CEP exchange, repeated until answered since
// the lower layer may lose it:
//
//	initiator: CONNECT ──►            acceptor (AcceptLower)
//	           ◄── ACCEPT / REFUSE
//
// then one goroutine per flow reads it: CEP keepalives (sent on every member
// flow each LSDead/4) prove the peer alive, routing messages go to lsr.go,
// data-transfer PDUs to fwd.go. A flow silent for LSDead is taken down.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

// handshakeRepeat is how often an unanswered CONNECT is sent again.
const handshakeRepeat = 250 * time.Millisecond

// acceptTimeout bounds how long an arriving flow may stay silent before its
// CONNECT.
const acceptTimeout = 10 * time.Second

// memberFlow is an established flow to another member.
type memberFlow struct {
	intent    *intent // the intent it was set up for, on the initiating side
	initiator uint64  // the node id of the member that set it up
	port      ipcp.Port
	comp      uint8
	peerName  string
	peerNode  uint64
	peerAddr  atomic.Uint64
	lastHeard atomic.Int64 // unix ns of the last packet from the peer
	out       *dtOutput    // data-transfer flows only
}

func componentName(c uint8) string {
	switch c {
	case compDT:
		return "dt"
	case compMgmt:
		return "mgmt"
	case compEnroll:
		return "enroll"
	}
	return fmt.Sprintf("component %d", c)
}

func parseComponents(s string) ([]uint8, error) {
	switch s {
	case "":
		return []uint8{compDT, compMgmt}, nil
	case "dt":
		return []uint8{compDT}, nil
	case "mgmt":
		return []uint8{compMgmt}, nil
	}
	return nil, ctrl.Errorf(ctrl.CodeInvalid, "unknown component %q: use dt or mgmt", s)
}

// connect sets up one member flow for an intent. It succeeds too when the
// peer keeps a flow it set up itself for the same component, once that
// flow is here.
func (p *IPCP) connect(ctx context.Context, in *intent) error {
	dst, comp := in.key.dst, in.key.comp
	port, err := p.lower.AllocLower(ctx, p, dst, in.q)
	if err != nil {
		return classify(err)
	}
	p.mu.Lock()
	req := cep{typ: cepConnect, component: comp, nodeID: p.nodeID, addr: p.Addr(), name: p.name, layer: p.cfg.Layer}
	p.mu.Unlock()
	ans, err := p.handshake(ctx, port, req)
	if errors.Is(err, errPeerHasIt) {
		port.Down(ctrl.ReasonDown)
		return p.awaitPeerFlow(ctx, in)
	}
	if ended := (endedError{}); errors.As(err, &ended) {
		// When both members connect at once, the one that loses the
		// tie-break ends the other's flow, possibly before its answer
		// went out: the flow it keeps is then on its way here.
		port.Down(ctrl.ReasonDown)
		gctx, cancel := context.WithTimeout(ctx, peerFlowGrace)
		defer cancel()
		if p.awaitPeerFlow(gctx, in) == nil {
			return nil
		}
		return ended.err
	}
	if err != nil {
		port.Down(ctrl.ReasonDown)
		return err
	}
	if ans.addr == addr.None {
		port.Down(ctrl.ReasonDown)
		return ctrl.Errorf(ctrl.CodeInvalid, "%s answered without an address", dst)
	}
	f := &memberFlow{port: port, comp: comp, peerName: ans.name, peerNode: ans.nodeID, intent: in, initiator: p.nodeID}
	f.peerAddr.Store(uint64(ans.addr))
	kept, err := p.addMember(f)
	if !kept {
		port.Down(ctrl.ReasonDown)
	}
	if err != nil || !kept {
		return err
	}
	p.log.Info("connected", "peer", ans.name, "address", ans.addr, "component", componentName(comp))
	return nil
}

// endedError is a handshake whose flow the peer ended before answering.
type endedError struct{ err *ctrl.Error }

func (e endedError) Error() string { return e.err.Error() }
func (e endedError) Unwrap() error { return e.err }

// peerFlowGrace is how long a connect whose flow the peer ended waits for
// the peer's own flow for the component: in a simultaneous connect it is
// set up at the same moment, and arrives within a round trip.
const peerFlowGrace = time.Second

// awaitPeerFlow waits for the flow that the peer set up and keeps for in's
// component, which it refused ours for, until ctx ends.
func (p *IPCP) awaitPeerFlow(ctx context.Context, in *intent) error {
	for {
		a := &p.adj
		a.mu.Lock()
		served, changed := a.servedLocked(in) != nil, a.changed
		a.mu.Unlock()
		if served {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctrl.Errorf(ctrl.CodeUnreachable, "%s keeps a %s flow with this member that has not arrived here",
				in.key.dst, componentName(in.key.comp))
		}
	}
}

// handshake sends req until the peer answers with ACCEPT or REFUSE, and
// returns the ACCEPT.
func (p *IPCP) handshake(ctx context.Context, port ipcp.Port, req cep) (cep, error) {
	msg := req.append(nil)
	answers := make(chan cep, 1)
	readErr := make(chan error, 1)
	go func() {
		bufs, lens := [][]byte{make([]byte, maxPDU)}, []int{0}
		for {
			n, err := port.ReadBatch(bufs, lens)
			if err != nil {
				readErr <- err
				return
			}
			if n == 0 || !isCEP(bufs[0][:lens[0]]) {
				continue
			}
			m, err := parseCEP(bufs[0][:lens[0]])
			if err != nil {
				p.stats.badControl.Add(1)
				continue
			}
			if m.typ == cepAccept || m.typ == cepRefuse {
				answers <- m
				return
			}
		}
	}()
	t := time.NewTicker(handshakeRepeat)
	defer t.Stop()
	tick := t.C
	for {
		if _, err := port.TryWriteBatch([][]byte{msg}); err != nil {
			// The flow ended, maybe after an answer (a REFUSE is
			// followed by the end of the flow): the reader has it, or
			// the end.
			tick = nil
		}
		select {
		case m := <-answers:
			if m.typ == cepRefuse {
				if m.code == refuseDuplicate {
					return cep{}, errPeerHasIt
				}
				return cep{}, ctrl.Errorf(ctrl.CodeNotAllowed, "refused: by %s: %s", m.name, m.body)
			}
			return m, nil
		case err := <-readErr:
			return cep{}, endedError{ctrl.Errorf(ctrl.CodeUnreachable, "unreachable: the flow to the peer ended before it answered: %v", err)}
		case <-tick:
		case <-ctx.Done():
			port.Down(ctrl.ReasonDown) // ends the reading goroutine
			return cep{}, ctrl.Errorf(ctrl.CodeUnreachable, "unreachable: no answer from the peer's IPCP over the lower flow (%v)", ctx.Err())
		}
	}
}

// AcceptLower implements ipcp.Acceptor: a peer reached this IPCP by one of
// its bound names, to enroll or to connect.
func (p *IPCP) AcceptLower(_ string, _ qos.Spec, port ipcp.Port) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
	}
	p.wg.Add(1)
	go p.serveArrival(port)
	return nil
}

// serveArrival waits for the CONNECT on an arriving flow and answers it.
func (p *IPCP) serveArrival(port ipcp.Port) {
	defer p.wg.Done()
	timer := time.AfterFunc(acceptTimeout, func() { port.Down(ctrl.ReasonDown) })
	bufs, lens := [][]byte{make([]byte, maxPDU)}, []int{0}
	for {
		n, err := port.ReadBatch(bufs, lens)
		if err != nil {
			return
		}
		if n == 0 || !isCEP(bufs[0][:lens[0]]) {
			continue
		}
		m, err := parseCEP(bufs[0][:lens[0]])
		if err != nil || m.typ != cepConnect {
			p.stats.badControl.Add(1)
			continue
		}
		timer.Stop()
		if m.component == compEnroll {
			if _, ok := p.checkConnect(m); ok {
				p.peerRestarted(m)
			}
			p.serveEnrollment(port, m)
			return
		}
		p.acceptMember(port, m)
		return
	}
}

// acceptMember answers a CONNECT for data transfer or management.
func (p *IPCP) acceptMember(port ipcp.Port, m cep) {
	ans, ok := p.checkConnect(m)
	if ok {
		p.peerRestarted(m)
		p.adj.mu.Lock()
		g := p.adj.checkDuplicateLocked(m)
		p.adj.mu.Unlock()
		if g != nil {
			ans.typ, ans.code = cepRefuse, refuseDuplicate
			ans.body = fmt.Appendf(nil, "%s keeps the %s flow set up by the member with the lower node id",
				p.name, componentName(m.component))
			_, _ = port.TryWriteBatch([][]byte{ans.append(nil)})
			p.rl.Log(slog.LevelDebug, "refused-duplicate", "refused a second flow for an adjacency", "peer", m.name, "component", componentName(m.component))
			port.Down(ctrl.ReasonDown)
			return
		}
	}
	_, _ = port.TryWriteBatch([][]byte{ans.append(nil)})
	if !ok {
		p.rl.Log(slog.LevelWarn, "refused-connection", "refused a connection", "peer", m.name, "reason", string(ans.body))
		port.Down(ctrl.ReasonDown)
		return
	}
	f := &memberFlow{port: port, comp: m.component, peerName: m.name, peerNode: m.nodeID, initiator: m.nodeID}
	f.peerAddr.Store(uint64(m.addr))
	if kept, _ := p.addMember(f); !kept {
		port.Down(ctrl.ReasonDown)
		return
	}
	p.rl.Log(slog.LevelInfo, "accepted-connection", "accepted a connection", "peer", m.name, "address", m.addr, "component", componentName(m.component))
}

// peerRestarted takes down at once every member flow to an earlier life
// of the IPCP that sent m: one with its name and another node id (an
// IPCP's node id is new at every start). The flows would otherwise stay
// until they had been silent for LSDead, and with them the old address in
// the routing graph and the directory's entries under it; a member that
// comes back enrols and connects within that time.
func (p *IPCP) peerRestarted(m cep) {
	a := &p.adj
	a.mu.Lock()
	var old []*memberFlow
	for f := range a.members {
		if f.peerName == m.name && f.peerNode != m.nodeID {
			old = append(old, f)
		}
	}
	a.mu.Unlock()
	for _, f := range old {
		p.memberDown(f, "the peer restarted (it came back with another node id)")
	}
}

// checkConnect decides on a CONNECT and returns the answer.
func (p *IPCP) checkConnect(m cep) (cep, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ans := cep{typ: cepAccept, component: m.component, nodeID: p.nodeID, addr: p.Addr(), name: p.name, layer: p.cfg.Layer}
	refuse := func(code uint8, format string, args ...any) (cep, bool) {
		ans.typ, ans.code, ans.body = cepRefuse, code, fmt.Appendf(nil, format, args...)
		return ans, false
	}
	switch {
	case !p.inLayerLocked():
		return refuse(refuseNotMember, "%s is in no layer yet", p.name)
	case m.layer != "" && m.layer != p.cfg.Layer:
		return refuse(refuseLayer, "%s is a member of layer %s, not %s", p.name, p.cfg.Layer, m.layer)
	case m.component != compEnroll && m.addr == addr.None:
		return refuse(refuseBad, "a member connects with its address")
	}
	return ans, true
}

// addMember starts serving an established member flow. Of two flows for
// the same peer and component, it keeps the one winner picks and takes
// the other down; it reports whether it kept f (if not, the caller
// releases f's port). It fails if the intent f was set up for was removed
// meanwhile, or if the IPCP is closing.
func (p *IPCP) addMember(f *memberFlow) (bool, error) {
	f.lastHeard.Store(time.Now().UnixNano())
	if f.comp == compDT {
		// Made before f is published: the routing paths read f.out
		// from the member list under p.mu, not this lock.
		f.out = newDTOutput(f)
	}
	kept, err := p.publishMember(f)
	if !kept {
		if f.out != nil {
			f.out.q.Close()
		}
		return false, err
	}
	p.mu.Lock()
	if f.comp == compDT {
		p.rebuildOutputsLocked()
		p.originateLocked()
	}
	if f.comp == compMgmt {
		p.sendDatabase(f)
	}
	p.mu.Unlock()
	// A keepalive at once: the peer's dead timer runs from its side of the
	// handshake, and under load our first periodic one may come too late.
	_, _ = f.port.TryWriteBatch([][]byte{p.keepalive()})
	if f.comp == compDT {
		p.requestRecompute()
	}
	return true, nil
}

// publishMember adds f to the members, taking down the flow it replaces,
// and starts serving it; it reports whether it kept f.
func (p *IPCP) publishMember(f *memberFlow) (bool, error) {
	a := &p.adj
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return false, ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
	}
	if f.intent != nil && f.intent.ctx.Err() != nil {
		a.mu.Unlock()
		return false, ctrl.Errorf(ctrl.CodeNotFound, "disconnected while connecting")
	}
	var lost []*memberFlow
	for g := range a.members {
		if g.peerName != f.peerName || g.comp != f.comp {
			continue
		}
		if winner(f, g) == g {
			a.mu.Unlock()
			p.rl.Log(slog.LevelDebug, "kept-other-flow", "kept the other flow of an adjacency", "peer", f.peerName, "component", componentName(f.comp))
			return false, nil // served by g
		}
		lost = append(lost, g)
	}
	for _, g := range lost {
		delete(a.members, g)
	}
	a.members[f] = struct{}{}
	p.snapshotMembersLocked()
	a.changedLocked()
	if f.out != nil {
		p.wg.Add(1)
		go p.writeDT(f.out)
	}
	p.wg.Add(1)
	go p.readMember(f)
	a.mu.Unlock()
	for _, g := range lost {
		p.memberGone(g, "replaced by a flow set up by the member with the lower node id")
	}
	return true, nil
}

// keepalive returns a CEP keepalive from this member.
func (p *IPCP) keepalive() []byte {
	return (&cep{typ: cepKeepalive, nodeID: p.nodeID, addr: p.Addr(), name: p.name}).append(nil)
}

// memberDown forgets a member flow that ended, and routes around it.
func (p *IPCP) memberDown(f *memberFlow, why string) {
	a := &p.adj
	a.mu.Lock()
	if _, ok := a.members[f]; !ok {
		a.mu.Unlock()
		return
	}
	delete(a.members, f)
	p.snapshotMembersLocked()
	a.changedLocked()
	closed := a.closed
	a.mu.Unlock()
	p.memberGone(f, why)
	if !closed {
		p.rl.Log(slog.LevelInfo, "adjacency-down", "adjacency down", "peer", f.peerName, "component", componentName(f.comp), "reason", why)
	}
}

// memberGone ends a member flow already taken out of the members, and
// routes around it.
func (p *IPCP) memberGone(f *memberFlow, why string) {
	if f.out != nil {
		p.mu.Lock()
		p.rebuildOutputsLocked()
		f.out.q.Close()
		p.originateLocked()
		p.mu.Unlock()
	}
	f.port.Down(ctrl.ReasonDown)
	p.rl.Log(slog.LevelDebug, "member-flow-ended", "member flow ended", "peer", f.peerName, "component", componentName(f.comp), "reason", why)
	p.requestRecompute()
}

// readMember reads one member flow until it ends.
func (p *IPCP) readMember(f *memberFlow) {
	defer p.wg.Done()
	const batch = 16
	bufs, lens := make([][]byte, batch), make([]int, batch)
	for i := range bufs {
		bufs[i] = make([]byte, maxPDU)
	}
	one := make([][]byte, 1)
	for {
		n, err := f.port.ReadBatch(bufs, lens)
		if err != nil {
			p.memberDown(f, readReason(err))
			return
		}
		f.lastHeard.Store(time.Now().UnixNano())
		for i := range n {
			pkt := bufs[i][:lens[i]]
			switch {
			case isCEP(pkt):
				p.memberControl(f, pkt)
			case f.comp == compMgmt:
				p.routingMessage(f, pkt)
			default:
				p.receive(pkt, one)
			}
		}
	}
}

func readReason(err error) string {
	if errors.Is(err, ipcp.ErrPipeDown) {
		return "flow closed"
	}
	return err.Error()
}

// memberControl handles a CEP message on an established flow: keepalives,
// and CONNECTs repeated because our ACCEPT was lost.
func (p *IPCP) memberControl(f *memberFlow, pkt []byte) {
	m, err := parseCEP(pkt)
	if err != nil {
		p.stats.badControl.Add(1)
		return
	}
	switch m.typ {
	case cepConnect:
		ans, _ := p.checkConnect(m)
		_, _ = f.port.TryWriteBatch([][]byte{ans.append(nil)})
	case cepKeepalive:
		if m.nodeID == f.peerNode && m.addr != addr.None && addr.Addr(f.peerAddr.Swap(uint64(m.addr))) != m.addr {
			// The peer was re-addressed after an address collision.
			p.mu.Lock()
			if f.out != nil {
				p.rebuildOutputsLocked()
				p.originateLocked()
			}
			p.mu.Unlock()
			p.requestRecompute()
		}
	}
}

// sendKeepalives proves this member alive on every member flow, and takes
// down the flows whose peers have been silent for LSDead.
func (p *IPCP) sendKeepalives(now time.Time) {
	msg := p.keepalive()
	var dead []*memberFlow
	for _, f := range p.memberList() {
		if now.Sub(time.Unix(0, f.lastHeard.Load())) > p.cfg.LSDead {
			dead = append(dead, f)
			continue
		}
		_, _ = f.port.TryWriteBatch([][]byte{msg})
	}
	for _, f := range dead {
		p.memberDown(f, fmt.Sprintf("silent for %v", p.cfg.LSDead))
	}
}

// snapshotMembersLocked republishes the member flows as a list.
func (p *IPCP) snapshotMembersLocked() {
	l := make([]*memberFlow, 0, len(p.adj.members))
	for f := range p.adj.members {
		l = append(l, f)
	}
	p.memberSnap.Store(&l)
}

// memberList returns the member flows without taking the lock.
func (p *IPCP) memberList() []*memberFlow { return *p.memberSnap.Load() }
