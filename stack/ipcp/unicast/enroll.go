package unicast

// Enrollment: a new IPCP joins a layer through a member reached by name
// over a lower layer.
//
//	enrollee                              member
//	CONNECT (enroll, node id) ──────────►  assigns an address no member has
//	          ◄──────────── ACCEPT (address, clock, layer configuration)
//	DONE ───────────────────────────────►  both close the flow
//
// Enrolling creates no adjacency: connect does (as in the reference).

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

// enrollLinger is how long a member keeps an enrollment flow open for a
// repeated CONNECT (its ACCEPT was lost) or the DONE.
const enrollLinger = 5 * time.Second

// clockSkewWarning is the clock difference with the member that is logged.
const clockSkewWarning = time.Second

// Enroll implements ipcp.Layered.
func (p *IPCP) Enroll(ctx context.Context, layer, dst string) error {
	if dst == "" {
		dst = layer
	}
	p.mu.Lock()
	err := p.checkCreatedLocked()
	req := cep{typ: cepConnect, component: compEnroll, nodeID: p.nodeID, name: p.name, layer: layer}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	port, err := p.lower.AllocLower(ctx, p, dst, qos.Raw)
	if err != nil {
		return classify(err)
	}
	defer port.Down(ctrl.ReasonPeer)
	ans, err := p.handshake(ctx, port, req)
	if err != nil {
		return ctrl.Errorf(ctrl.CodeUnreachable, "enrolling through %s: %v", dst, err)
	}
	if layer != "" && ans.layer != layer {
		return ctrl.Errorf(ctrl.CodeInvalid, "%s is a member of layer %s, not %s", ans.name, ans.layer, layer)
	}
	e, err := parseEnrollment(ans.layer, ans.body)
	if err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "enrolling through %s: %v", ans.name, err)
	}
	done := req
	done.typ = cepDone
	_, _ = port.TryWriteBatch([][]byte{done.append(nil)})
	if skew := time.Since(e.clock); skew > clockSkewWarning || skew < -clockSkewWarning {
		p.log.Warn("clock differs from the member's", "member", ans.name, "difference", skew.Round(time.Millisecond))
	}

	p.mu.Lock()
	if err := p.checkCreatedLocked(); err != nil {
		p.mu.Unlock()
		return err
	}
	if err := p.startLocked(e.cfg, e.assigned, ipcp.StateEnrolled); err != nil {
		p.mu.Unlock()
		return err
	}
	d := p.dht
	p.mu.Unlock()
	d.AddContact(ans.addr)
	p.log.Info("enrolled", "layer", ans.layer, "member", ans.name, "address", e.assigned)
	return nil
}

// serveEnrollment answers an enrollee on its enrollment flow.
func (p *IPCP) serveEnrollment(port ipcp.Port, m cep) {
	defer port.Down(ctrl.ReasonPeer)
	ans, ok := p.checkConnect(m)
	if ok {
		p.mu.Lock()
		e := enrollment{assigned: p.assignLocked(m.nodeID), clock: time.Now(), cfg: p.cfg}
		p.mu.Unlock()
		ans.body = e.append(nil)
		p.rl.Log(slog.LevelInfo, "enrolling", "enrolling", "enrollee", m.name, "address", e.assigned)
	}
	msg := ans.append(nil)
	_, _ = port.TryWriteBatch([][]byte{msg})
	if !ok {
		p.rl.Log(slog.LevelWarn, "refused-enrollment", "refused an enrollment", "enrollee", m.name, "reason", string(ans.body))
		return
	}
	timer := time.AfterFunc(enrollLinger, func() { port.Down(ctrl.ReasonDown) })
	defer timer.Stop()
	bufs, lens := [][]byte{make([]byte, maxPDU)}, []int{0}
	for {
		if _, err := port.ReadBatch(bufs, lens); err != nil {
			return
		}
		r, err := parseCEP(bufs[0][:lens[0]])
		switch {
		case err != nil:
			p.stats.badControl.Add(1)
		case r.typ == cepConnect:
			_, _ = port.TryWriteBatch([][]byte{msg})
		case r.typ == cepDone:
			return
		}
	}
}

// assignLocked picks an address for an enrollee: the same for a repeated
// request, and none that the routing database or an earlier enrollment
// knows. Members this one does not know of yet are found by collision
// detection in routing.
func (p *IPCP) assignLocked(node uint64) addr.Addr {
	p.enr.mu.Lock()
	defer p.enr.mu.Unlock()
	if a, ok := p.enr.assigned[node]; ok {
		return a
	}
	given := make(map[addr.Addr]bool, len(p.enr.assigned))
	for _, a := range p.enr.assigned {
		given[a] = true
	}
	a := addr.Pick(p.cfg.AddrSize, func(a addr.Addr) bool {
		_, known := p.db.Get(a)
		return known || given[a] || a == p.Addr()
	})
	p.enr.assigned[node] = a
	return a
}

// admissions is what a member remembers of the enrollees it admitted,
// under its own lock.
type admissions struct {
	mu       sync.Mutex
	assigned map[uint64]addr.Addr // addresses given to enrollees, by node id
}
