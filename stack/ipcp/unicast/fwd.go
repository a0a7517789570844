package unicast

// Data transfer: every PDU is [DT header | SDU]. The paths through a member:
//
//	app port ─► readApp ─ header, police, pace ─┐
//	                                            ├─► route ─ dst is self ─► deliver ─► FA (eid 0)
//	member flow ─► readMember ─► receive ─ TTL ─┘      │                          ├─► DHT (eid 1)
//	                                                   │                          └─► app port (eid ≥ 64)
//	                                                   └─ else: pff[cube] ─► dtOutput queue (by cube,
//	                                                      ECN marked by depth) ─► writeDT ─► member flow
//
// Only TTL and ECN change on the way. Every packet is handled in the
// goroutine that read it, up to the output queue; each output has one
// writer goroutine, so a slow neighbour only fills its own queue.

import (
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/dt"
)

// queueLimit is how many packets each cube may queue towards a neighbour.
const queueLimit = 1024

// batch is how many packets a reader or writer moves per call.
const batch = 32

// dtOutput is the way out to one neighbour: its data-transfer flow behind a
// queue served by QoS cube.
type dtOutput struct {
	f *memberFlow
	q *dt.Queue
}

func newDTOutput(f *memberFlow) *dtOutput {
	return &dtOutput{f: f, q: dt.NewQueue(queueLimit)}
}

// writeDT drains an output queue into its flow.
func (p *IPCP) writeDT(o *dtOutput) {
	defer p.wg.Done()
	bufs, lens, out := make([][]byte, batch), make([]int, batch), make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, maxPDU)
	}
	for {
		n, err := o.q.DequeueBatch(bufs, lens)
		if err != nil {
			return
		}
		for i := range n {
			out[i] = bufs[i][:lens[i]]
		}
		if _, err := o.f.port.WriteBatch(out[:n]); err != nil {
			return // the flow's reader sees it end and routes around it
		}
	}
}

// rebuildOutputsLocked republishes the outputs by neighbour address.
func (p *IPCP) rebuildOutputsLocked() {
	m := make(map[addr.Addr]*dtOutput)
	for _, f := range p.memberList() {
		if f.out != nil {
			m[addr.Addr(f.peerAddr.Load())] = f.out
		}
	}
	p.out.Store(&m)
	p.reports.routesChanged(time.Now())
}

// isUp reports whether a neighbour has a data-transfer flow: the forwarding
// tables skip next hops that do not (loop-free alternates take over).
func (p *IPCP) isUp(a addr.Addr) bool {
	_, ok := (*p.out.Load())[a]
	return ok
}

// receive handles a PDU from a member flow. one is the reader's scratch
// slice for delivering a single SDU.
func (p *IPCP) receive(pkt []byte, one [][]byte) {
	h, err := p.codec.Parse(pkt)
	if err != nil {
		p.stats.malformed.Add(1)
		return
	}
	if h.Dst != p.Addr() {
		if h.TTL <= 1 {
			p.stats.ttl.Add(1)
			p.reportUnreachable(h, pkt[p.codec.Len():], causeTTL)
			return
		}
		h.TTL--
		pkt[p.codec.TTLOffset()] = h.TTL
	}
	p.route(h, pkt, one)
}

// route sends a PDU on towards its destination, or delivers it here.
func (p *IPCP) route(h dt.Header, pkt []byte, one [][]byte) {
	if h.Dst == p.Addr() {
		p.deliver(h, pkt[p.codec.Len():], one)
		return
	}
	nh, ok := p.pff[h.Cube].Lookup(h.Dst, h.EID, p.upFn)
	var o *dtOutput
	if ok {
		o = (*p.out.Load())[nh]
	}
	if o == nil {
		p.stats.noRoute.Add(1)
		p.reportUnreachable(h, pkt[p.codec.Len():], causeNoRoute)
		return
	}
	ecn := -1
	if p.cfg.Congestion == CongestionMBECN {
		ecn = p.codec.ECNOffset()
	}
	if !o.q.Enqueue(h.Cube, pkt, ecn) {
		p.stats.queueFull.Add(1)
	}
}

// deliver hands a PDU addressed to this member to its endpoint.
func (p *IPCP) deliver(h dt.Header, sdu []byte, one [][]byte) {
	switch {
	case h.EID == dt.EIDFlowAllocator:
		p.faMessage(sdu)
		return
	case h.EID == dt.EIDDirectory:
		p.dht.Receive(append([]byte(nil), sdu...))
		return
	case h.EID < dt.FirstFlowEID:
		p.stats.noFlow.Add(1)
		return
	}
	f := p.fa.get(h.EID)
	if f == nil {
		p.stats.noFlow.Add(1)
		return
	}
	if f.rx != nil {
		p.congestionFeedback(f, h.ECN)
	}
	one[0] = sdu
	if n, _ := f.port.TryWriteBatch(one); n == 0 {
		p.stats.appSlow.Add(1)
	}
}

// sendInternal sends a message to a component of another member (the flow
// allocator or the directory), best effort.
func (p *IPCP) sendInternal(dst addr.Addr, eid uint64, msg []byte) {
	hl := p.codec.Len()
	pkt := make([]byte, hl+len(msg))
	copy(pkt[hl:], msg)
	h := dt.Header{Dst: dst, TTL: p.cfg.TTL, EID: eid}
	p.codec.Put(pkt, h)
	p.route(h, pkt, make([][]byte, 1))
}

// readApp carries an application's SDUs into the layer. The SDUs are read
// behind room for the header, so that nothing is copied to prepend it.
func (p *IPCP) readApp(f *flow) {
	defer p.wg.Done()
	hl := p.codec.Len()
	bufs, views, lens := make([][]byte, batch), make([][]byte, batch), make([]int, batch)
	for i := range bufs {
		bufs[i] = make([]byte, hl+maxPDU)
		views[i] = bufs[i][hl:]
	}
	one := make([][]byte, 1)
	for {
		n, err := f.port.ReadBatch(views, lens)
		if err != nil {
			p.flowEnded(f, err)
			return
		}
		now := time.Now()
		for i := range n {
			pkt := bufs[i][:hl+lens[i]]
			if f.policer != nil && !f.policer.Allow(len(pkt), now) {
				p.stats.policed.Add(1)
				continue
			}
			if wait := f.pace(len(pkt), now); wait > 0 {
				time.Sleep(wait)
				now = time.Now()
			}
			h := dt.Header{Dst: f.peerAddr(), Cube: f.cube, TTL: p.cfg.TTL, EID: f.peerEID}
			p.codec.Put(pkt, h)
			p.route(h, pkt, one)
		}
	}
}

// downReason maps how a flow ended to what its user is told.
func downReason(peer bool) ctrl.Reason {
	if peer {
		return ctrl.ReasonPeer
	}
	return ctrl.ReasonDown
}
