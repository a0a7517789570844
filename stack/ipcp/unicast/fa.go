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
// responder recognises a repeat by the requester's address and eid. A
// member that drops a request for want of a route answers FLOW_UNREACH
// instead (unreach.go), and the allocation fails at once.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
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

// flowTable is the flow allocator's state: the flows and the allocations
// under way, under their own lock. It is a leaf lock: nothing else is locked
// while it is held.
type flowTable struct {
	mu      sync.Mutex
	closed  bool                     // the IPCP is closing: no flow starts
	flows   map[uint64]*flow         // application flows by local endpoint id
	answers map[reqKey]answer        // flow requests answered or being answered
	allocs  map[uint64]*pendingAlloc // allocations waiting for a reply, by local eid
	// tab is flows as the data path reads them, without the lock.
	tab atomic.Pointer[map[uint64]*flow]
}

func newFlowTable() *flowTable {
	t := &flowTable{flows: map[uint64]*flow{}, answers: map[reqKey]answer{}, allocs: map[uint64]*pendingAlloc{}}
	t.tab.Store(&map[uint64]*flow{})
	return t
}

// get returns the flow with the local endpoint id, or nil, without the lock.
func (t *flowTable) get(eid uint64) *flow { return (*t.tab.Load())[eid] }

// count returns the number of flows.
func (t *flowTable) count() int { return len(*t.tab.Load()) }

// close stops flows from starting and returns those there are.
func (t *flowTable) close() []*flow {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	out := make([]*flow, 0, len(t.flows))
	for _, f := range t.flows {
		out = append(out, f)
	}
	return out
}

// newEIDLocked picks an unused endpoint id for a flow.
func (t *flowTable) newEIDLocked() uint64 {
	for {
		eid := rand.Uint64()
		if eid < dt.FirstFlowEID {
			continue
		}
		if _, ok := t.flows[eid]; ok {
			continue
		}
		if _, ok := t.allocs[eid]; ok {
			continue
		}
		return eid
	}
}

// publishLocked republishes the flows for the data path.
func (t *flowTable) publishLocked() {
	m := make(map[uint64]*flow, len(t.flows))
	for k, v := range t.flows {
		m[k] = v
	}
	t.tab.Store(&m)
}

// pendingAlloc is an allocation waiting for its reply. The flow of a
// positive reply is started by the receive path itself, before the packet
// after the reply is read: the far end may send its first SDUs right
// behind the reply, and a flow started later, by the allocating goroutine,
// lost them.
type pendingAlloc struct {
	eid     uint64
	q       qos.Spec
	port    ipcp.Port
	replies chan faMsg   // refusals and FLOW_UNREACH
	started chan started // the positive reply, once its flow started (or failed to)
}

// started is the outcome of a positive reply.
type started struct {
	reply faMsg
	err   error
}

// waitReply registers an allocation under a new endpoint id; done
// unregisters it.
func (t *flowTable) waitReply(q qos.Spec, port ipcp.Port) (pa *pendingAlloc, done func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pa = &pendingAlloc{eid: t.newEIDLocked(), q: q, port: port,
		replies: make(chan faMsg, 1), started: make(chan started, 1)}
	t.allocs[pa.eid] = pa
	return pa, func() { t.abandon(pa) }
}

// claim takes the allocation waiting for eid off the table, for the
// receive path to start its flow; nil if none waits.
func (t *flowTable) claim(eid uint64) *pendingAlloc {
	t.mu.Lock()
	defer t.mu.Unlock()
	pa := t.allocs[eid]
	delete(t.allocs, eid)
	return pa
}

// abandon unregisters an allocation that gives up. It reports whether the
// receive path had claimed it already: its flow is then started or about
// to be, and the allocation must take the outcome from pa.started.
func (t *flowTable) abandon(pa *pendingAlloc) (claimed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.allocs[pa.eid] != pa {
		return true
	}
	delete(t.allocs, pa.eid)
	return false
}

// lookupCache keeps recent directory answers, for Alloc after Reachable,
// under its own lock.
type lookupCache struct {
	mu sync.Mutex
	m  map[string][]addr.Addr
}

// put remembers the addresses of a hash.
func (c *lookupCache) put(hash []byte, addrs []addr.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 1024 {
		c.m = map[string][]addr.Addr{}
	}
	c.m[string(hash)] = addrs
}

// take returns and forgets the addresses of a hash.
func (c *lookupCache) take(hash []byte) []addr.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.m[string(hash)]
	delete(c.m, string(hash))
	return a
}

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

// Reachable implements ipcp.IPCP: it looks the name up in the directory. A
// name registered only at members with no route from here is reachable
// through this layer all the same, so that Alloc reports the cause.
func (p *IPCP) Reachable(ctx context.Context, name string, hash []byte) bool {
	return p.Lookup(ctx, name, hash) == nil
}

// Lookup implements ipcp.Looker: Reachable, with why not. A name the
// closest members do not hold (asked twice) wraps ipcp.ErrNoName; a
// lookup that failed otherwise (no answer in time, the layer not joined)
// says so, so that irmd does not report a name missing that it could not
// look up.
func (p *IPCP) Lookup(ctx context.Context, name string, hash []byte) error {
	p.mu.Lock()
	in := p.inLayerLocked()
	d, layer := p.dht, p.cfg.Layer
	p.mu.Unlock()
	if !in {
		return fmt.Errorf("IPCP %s is in no layer", p.name)
	}
	addrs, err := lookup(ctx, d, hash)
	switch {
	case len(addrs) > 0 && (err == nil || errors.Is(err, dir.ErrNoRoute)):
		p.lookups.put(hash, p.withRoutes(addrs))
		return nil
	case err == nil || errors.Is(err, dir.ErrNotFound):
		return fmt.Errorf("%q in layer %s: %w", name, layer, ipcp.ErrNoName)
	}
	return fmt.Errorf("looking %q up in layer %s: %w", name, layer, err)
}

// lookup asks the directory for a name's addresses, twice if the first
// answer is "not found": over lossy links an answer from a holder can be
// lost twice over, and a second lookup costs only a round trip or two.
// With dir.ErrNoRoute it returns the addresses that have no route.
func lookup(ctx context.Context, d *dir.DHT, hash []byte) ([]addr.Addr, error) {
	addrs, err := d.Lookup(ctx, hash)
	if errors.Is(err, dir.ErrNotFound) || (err == nil && len(addrs) == 0) {
		addrs, err = d.Lookup(ctx, hash)
	}
	return addrs, err
}

// Alloc implements ipcp.IPCP. The request goes to one of the members where
// the name is registered and this one has a route to, chosen at random;
// when the layer reports that member unreachable, or it does not answer
// within candidateWait, to the next, until none is left (the last one
// gets what is left of ctx).
func (p *IPCP) Alloc(ctx context.Context, name string, hash []byte, q qos.Spec, data []byte, port ipcp.Port) ([]byte, error) {
	if n := len((&faMsg{code: faReq, hash: hash, data: data}).append(nil)); n > MaxSDU {
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "the flow request (%d bytes with its key exchange) is larger than the layer's %d-byte SDU", n, MaxSDU)
	}
	p.mu.Lock()
	if !p.inLayerLocked() {
		p.mu.Unlock()
		return nil, ctrl.Errorf(ctrl.CodeUnreachable, "IPCP %s is in no layer", p.name)
	}
	d, layer := p.dht, p.cfg.Layer
	p.mu.Unlock()
	dsts := p.withRoutes(p.lookups.take(hash))
	if len(dsts) == 0 {
		found, err := lookup(ctx, d, hash)
		if dsts = p.withRoutes(found); len(dsts) == 0 && len(found) > 0 && p.awaitSettled(ctx) {
			// Routes were changing (a member joined, or left): the
			// route to one that just joined may have been on its way.
			dsts = p.withRoutes(found)
		}
		switch {
		case len(dsts) > 0:
		case len(found) > 0:
			return nil, ctrl.Errorf(ctrl.CodeUnreachable, "no route to the member at %v for %q (the only address the directory has for it; the member left, or restarted under another address)", found[0], name)
		case errors.Is(err, dir.ErrNotFound) || err == nil:
			return nil, ctrl.Errorf(ctrl.CodeNoName, "%q is not registered in layer %s", name, layer)
		default:
			return nil, ctrl.Errorf(ctrl.CodeUnreachable, "looking %q up in layer %s: %v", name, layer, err)
		}
	}
	dsts = slices.Clone(dsts)
	rand.Shuffle(len(dsts), func(i, j int) { dsts[i], dsts[j] = dsts[j], dsts[i] })
	var err error
	for i, dst := range dsts {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if i < len(dsts)-1 {
			actx, cancel = context.WithTimeout(ctx, candidateWait)
		}
		reply, unreach, aerr := p.allocAt(actx, dst, name, hash, q, data, port)
		cancel()
		err = aerr
		if !unreach && (aerr == nil || actx.Err() == nil || ctx.Err() != nil) {
			return reply, err
		}
	}
	return nil, err
}

// candidateWait is how long an allocation waits for an answer from one of
// several members where a name is registered before it tries the next: a
// member that died behind a lower layer stays in the routing graph until
// its neighbours find it silent (ls_t_dead), and its requests vanish. An
// answer that comes after the allocation moved on is released at once
// (faMessage's late reply).
const candidateWait = 2 * time.Second

// withRoutes returns the addresses the member has a route to: a
// directory entry of an address that left the routing graph (a member
// gone, or restarted under another address) leads nowhere, and a request
// sent there would wait for the routes to settle, or out the allocation's
// deadline.
func (p *IPCP) withRoutes(dsts []addr.Addr) []addr.Addr {
	out := dsts[:0:0]
	for _, a := range dsts {
		if p.routable(a) {
			out = append(out, a)
		}
	}
	return out
}

// awaitSettled waits until the member's routes have been unchanged for
// routeSettle, at most that long; it reports whether they changed
// meanwhile, or false if ctx ended first.
func (p *IPCP) awaitSettled(ctx context.Context) bool {
	const poll = 20 * time.Millisecond
	waited := false
	for !p.reports.settled(time.Now()) {
		waited = true
		select {
		case <-time.After(poll):
		case <-ctx.Done():
			return false
		}
	}
	return waited
}

// routable reports whether the member at a is in the routing graph: this
// member, or one it has a route to. It takes no lock.
func (p *IPCP) routable(a addr.Addr) bool {
	if a == p.Addr() {
		return true
	}
	_, ok := p.pff[0].Lookup(a, 0, nil)
	return ok
}

// allocAt asks the member at dst for the flow. unreach says the layer
// reported dst unreachable, so that another member may be tried.
func (p *IPCP) allocAt(ctx context.Context, dst addr.Addr, name string, hash []byte, q qos.Spec, data []byte, port ipcp.Port) (reply []byte, unreach bool, err error) {
	pa, done := p.fa.waitReply(q, port)
	req := (&faMsg{code: faReq, srcAddr: p.Addr(), srcEID: pa.eid, qos: q, hash: hash, data: data}).append(nil)
	t := time.NewTicker(requestRepeat)
	defer t.Stop()
	for {
		p.sendInternal(dst, dt.EIDFlowAllocator, req)
		select {
		case s := <-pa.started:
			return s.reply.data, false, s.err
		case r := <-pa.replies:
			done()
			if r.code == faUnreach {
				return nil, true, ctrl.Errorf(ctrl.CodeUnreachable, "%s", p.noRouteError(r, name))
			}
			return nil, false, ctrl.Errorf(ctrl.CodeUnreachable, "the host of the member at %v refused the flow to %q; there: %s", dst, name, r.reason)
		case <-t.C:
			continue
		case <-ctx.Done():
			err = ctrl.Errorf(ctrl.CodeTimeout, "no answer from the member at %v for %q", dst, name)
		case <-p.ctx.Done():
			err = ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
		}
		if p.fa.abandon(pa) { // the reply came as we gave up: take it
			s := <-pa.started
			return s.reply.data, false, s.err
		}
		return nil, false, err
	}
}

// startFlow records an allocated flow and starts carrying it.
func (p *IPCP) startFlow(eid uint64, peer addr.Addr, peerEID uint64, key reqKey, q qos.Spec, reply []byte, port ipcp.Port) error {
	f, err := p.addFlow(eid, peer, peerEID, key, q, reply, port)
	if err == nil {
		p.startReading(f)
	}
	return err
}

// startReading starts carrying what the application writes on f.
func (p *IPCP) startReading(f *flow) {
	p.wg.Add(1)
	go p.readApp(f)
}

// addFlow records an allocated flow: what arrives for it is delivered from
// now on. Nothing is sent on it until startReading.
func (p *IPCP) addFlow(eid uint64, peer addr.Addr, peerEID uint64, key reqKey, q qos.Spec, reply []byte, port ipcp.Port) (*flow, error) {
	now := time.Now()
	f := &flow{eid: eid, peerEID: peerEID, key: key, port: port, cube: q.Cube()}
	f.peer.Store(uint64(peer))
	if q.Bandwidth > 0 && q.Bandwidth < 1<<62 {
		f.policer = ca.NewPolicer(q.Bandwidth, policerBurst, now)
	}
	p.mu.Lock()
	mbecn := p.cfg.Congestion == CongestionMBECN
	p.mu.Unlock()
	if mbecn {
		f.tx, f.rx = ca.NewSender(now), &ca.Receiver{}
	}
	t := p.fa
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
	}
	t.flows[eid] = f
	if key != (reqKey{}) {
		t.answers[key] = answer{eid: eid, data: reply}
	}
	t.publishLocked()
	return f, nil
}

// removeFlow forgets a flow; false if it was already gone.
func (p *IPCP) removeFlow(f *flow) bool {
	t := p.fa
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.flows[f.eid] != f {
		return false
	}
	delete(t.flows, f.eid)
	if f.key != (reqKey{}) {
		delete(t.answers, f.key)
	}
	t.publishLocked()
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
		if p.allocAnswer(m) {
			return
		}
		if f := p.fa.get(m.dstEID); f != nil && f.peerEID == m.srcEID {
			return // the answer to a repeated request: the flow is up
		}
		// A late reply: the request gave up. Release the peer's flow.
		if m.result == 0 {
			p.sendInternal(m.srcAddr, dt.EIDFlowAllocator,
				(&faMsg{code: faDealloc, dstEID: m.srcEID, srcEID: m.dstEID}).append(nil))
		}
	case faUnreach:
		p.allocAnswer(m) // a report for an allocation that ended is moot
	case faUpdate:
		if f := p.fa.get(m.dstEID); f != nil && f.tx != nil {
			f.mu.Lock()
			f.tx.Update(m.ece, time.Now())
			f.mu.Unlock()
		}
	case faDealloc:
		f := p.fa.get(m.dstEID)
		if f != nil && f.peerEID == m.srcEID && p.removeFlow(f) {
			f.port.Down(ctrl.ReasonPeer)
		}
	}
}

// allocAnswer passes a FLOW_REPLY or FLOW_UNREACH to the allocation waiting
// for it; false if none is. A positive reply's flow is started here, so
// that the SDUs the far end sends right behind it find it.
func (p *IPCP) allocAnswer(m faMsg) bool {
	// m.data lies in the receive buffer, which the next packet (the
	// flow's first SDU, delivered now that the flow starts here) reuses
	// before the allocation reads it.
	m.data = bytes.Clone(m.data)
	if m.code != faUnreach && m.result == 0 {
		pa := p.fa.claim(m.dstEID)
		if pa == nil {
			return false
		}
		err := p.startFlow(pa.eid, m.srcAddr, m.srcEID, reqKey{}, pa.q, nil, pa.port)
		pa.started <- started{m, err} // claimed once: the buffer holds it
		return true
	}
	p.fa.mu.Lock()
	pa := p.fa.allocs[m.dstEID]
	p.fa.mu.Unlock()
	if pa == nil {
		return false
	}
	select {
	case pa.replies <- m:
	default:
	}
	return true
}

// flowRequest admits a FLOW_REQ (admit.go): a repeat gets the same answer;
// a new one, within the rate limits, is refused if the name is not
// registered here, and otherwise queued for a worker, which hands it to the
// IRM (that may take a while: a program may be started).
func (p *IPCP) flowRequest(m faMsg) {
	key := reqKey{m.srcAddr, m.srcEID}
	t := p.fa
	t.mu.Lock()
	a, repeat := t.answers[key]
	t.mu.Unlock()
	if repeat {
		if a.eid != 0 {
			p.replyRequest(m, 0, a.eid, "", a.data)
		}
		return
	}
	if cause := p.reqs.rate(m.srcAddr, time.Now()); cause != "" {
		p.requestDropped(cause, m)
		return
	}
	p.mu.Lock()
	_, registered := p.regs[string(m.hash)]
	p.mu.Unlock()
	t.mu.Lock()
	if !registered || t.closed {
		closed := t.closed
		t.mu.Unlock()
		why := "the name is not registered at " + p.name
		if closed {
			why = p.name + " is shutting down"
		}
		p.replyRequest(m, 1, 0, why, nil)
		return
	}
	if _, ok := t.answers[key]; ok {
		t.mu.Unlock()
		return // a repeat that overtook us: that one is being answered
	}
	t.answers[key] = answer{} // being answered
	t.mu.Unlock()
	m.hash = append([]byte(nil), m.hash...)
	m.data = append([]byte(nil), m.data...)
	if cause := p.reqs.enqueue(m, key); cause != "" {
		t.mu.Lock()
		delete(t.answers, key)
		t.mu.Unlock()
		p.requestDropped(cause, m)
	}
}

// replyRequest answers the FLOW_REQ m.
func (p *IPCP) replyRequest(m faMsg, result uint8, eid uint64, reason string, data []byte) {
	msg := &faMsg{code: faReply, result: result, srcAddr: p.Addr(), dstEID: m.srcEID, srcEID: eid, reason: reason, data: data}
	p.sendInternal(m.srcAddr, dt.EIDFlowAllocator, msg.append(nil))
}

// serveRequest hands an admitted FLOW_REQ to the IRM and answers it.
func (p *IPCP) serveRequest(m faMsg, key reqKey) {
	t := p.fa
	port, back, err := p.host.Arrived(p.ctx, p, fmt.Sprint("address ", m.srcAddr), m.hash, m.qos, m.data)
	if err == nil && len((&faMsg{code: faReply, data: back}).append(nil)) > MaxSDU {
		err = fmt.Errorf("the reply's key exchange (%d bytes) is larger than the layer's %d-byte SDU", len(back), MaxSDU)
		port.Down(ctrl.ReasonDown)
	} else if err == nil {
		t.mu.Lock()
		eid := t.newEIDLocked()
		t.mu.Unlock()
		// The reply goes before the flow's first SDU: the application
		// may have written one already, and one that overtook the reply
		// would find no flow at the allocating member.
		var f *flow
		if f, err = p.addFlow(eid, m.srcAddr, m.srcEID, key, m.qos, back, port); err == nil {
			p.replyRequest(m, 0, eid, "", back)
			p.startReading(f)
			return
		}
		port.Down(ctrl.ReasonDown)
	}
	t.mu.Lock()
	delete(t.answers, key)
	t.mu.Unlock()
	p.replyRequest(m, 1, 0, err.Error(), nil)
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
