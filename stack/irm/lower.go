package irm

// A layered IPCP (unicast) reaches its neighbours over flows of the layers
// below it. Such a flow never leaves irmd: it is a pipe (ipcp.NewPipe) whose
// one end is the upper IPCP's port and whose other end the lower IPCP takes
// as it would an application's port.
//
//	upper IPCP ─► ownerEnd ═╗            ╔═ carrierEnd ─► lower IPCP ─► network
//	                        ╚═══ pipe ═══╝
//	upper IPCP ◄─ ownerEnd ◄═════════════ carrierEnd ◄─ lower IPCP ◄─ network
//
// AllocLower makes one when the upper IPCP asks for a flow; Arrived makes
// one when a flow arrives for a name bound to an upper IPCP. The IRM wraps
// both ends: the owner's to count what passes, both to forget the flow
// when it goes down, so that irm flow list shows it meanwhile.

import (
	"context"
	"crypto/x509"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/crypt/oap"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// lowerQueue is how many SDUs each direction of a lower flow's pipe holds:
// enough to ride out a scheduling delay of either IPCP at line rate.
const lowerQueue = 4096

// lowerFlow is a flow of a layered IPCP (its owner) over a lower layer.
type lowerFlow struct {
	m       *IRM
	id      uint64 // the owner's end's: the flow's id in listings
	name    string
	qos     qos.Spec
	owner   string    // the upper IPCP's name
	carrier ipcp.IPCP // the lower IPCP
	side    string
	created time.Time
	pipe    *ipcp.PipeEnd // the owner's end

	sentPkts, sentBytes atomic.Uint64 // from the owner
	recvPkts, recvBytes atomic.Uint64 // to the owner
	rejected            atomic.Uint64 // sealed packets that did not open
	encrypted           atomic.Bool
	peer                []*x509.Certificate // the peer's verified chain; m.mu held
	forgetOnce          sync.Once
}

// newLowerFlow makes the pipe of a lower flow and lists it. It returns the
// owner's end and the carrier's end.
func (m *IRM) newLowerFlow(n string, q qos.Spec, owner string, carrier ipcp.IPCP, side string) (*ownerEnd, *carrierEnd, error) {
	a, b := ipcp.NewPipe(lowerQueue, m.nextID.Add(1), m.nextID.Add(1))
	f := &lowerFlow{m: m, id: a.ID(), name: n, qos: q, owner: owner, carrier: carrier,
		side: side, created: time.Now(), pipe: a}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, nil, ctrl.Errorf(ctrl.CodeDown, "irmd is shutting down")
	}
	m.lowers[f.id] = f
	return &ownerEnd{carrierEnd: carrierEnd{PipeEnd: a, f: f}}, &carrierEnd{PipeEnd: b, f: f}, nil
}

// down ends the flow for both ends and forgets it.
func (f *lowerFlow) down(r ctrl.Reason) {
	f.pipe.Down(r)
	f.forget()
}

// forget removes the flow from the IRM's list.
func (f *lowerFlow) forget() {
	f.forgetOnce.Do(func() {
		f.m.mu.Lock()
		delete(f.m.lowers, f.id)
		f.m.mu.Unlock()
	})
}

// stat describes the flow for the flow list, as seen by its owner.
func (f *lowerFlow) stat() ctrl.FlowStat {
	info := f.carrier.Info()
	return ctrl.FlowStat{
		ID: f.id, Name: f.name, QoS: f.qos, Layer: info.Layer, IPCP: info.Name,
		Owner: f.owner, Side: f.side, AgeMS: time.Since(f.created).Milliseconds(),
		SentPkts: f.sentPkts.Load(), SentBytes: f.sentBytes.Load(),
		RecvPkts: f.recvPkts.Load(), RecvBytes: f.recvBytes.Load(),
		Encrypted: f.encrypted.Load(), Rejected: f.rejected.Load(),
		Dropped: f.pipe.Dropped(),
	}
}

// carrierEnd is a pipe end whose Down also forgets the flow. The lower IPCP
// holds one as is; the owner's end adds counting.
type carrierEnd struct {
	*ipcp.PipeEnd
	f *lowerFlow
}

// Down implements ipcp.Port.
func (e *carrierEnd) Down(r ctrl.Reason) {
	e.PipeEnd.Down(r)
	e.f.forget()
}

// ownerEnd is the upper IPCP's end of a lower flow. On an encrypted flow
// the pipe seals what the owner writes (membership.go) and the owner's
// reads open what the pipe holds.
type ownerEnd struct {
	carrierEnd
	rmu    sync.Mutex    // serialises reads, for the opener
	opener *crypt.Opener // nil: the flow is not encrypted
}

var (
	_ ipcp.Port = (*carrierEnd)(nil)
	_ ipcp.Port = (*ownerEnd)(nil)
)

// ReadBatch implements ipcp.Port, counting what reaches the owner and
// opening it on an encrypted flow.
func (e *ownerEnd) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	n, err := e.read(bufs, lens)
	var bytes uint64
	for _, l := range lens[:n] {
		bytes += uint64(l)
	}
	e.f.recvPkts.Add(uint64(n))
	e.f.recvBytes.Add(bytes)
	return n, err
}

func (e *ownerEnd) read(bufs [][]byte, lens []int) (int, error) {
	if e.opener == nil {
		return e.PipeEnd.ReadBatch(bufs, lens)
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	for {
		n, err := e.PipeEnd.ReadBatch(bufs, lens)
		if n = e.openBatch(bufs, lens, n); n > 0 || err != nil {
			return n, err
		}
	}
}

// WriteBatch implements ipcp.Port, counting what the owner sends.
func (e *ownerEnd) WriteBatch(bufs [][]byte) (int, error) {
	n, err := e.PipeEnd.WriteBatch(bufs)
	e.sent(bufs[:n])
	return n, err
}

// TryWriteBatch implements ipcp.Port, counting what the owner sends.
func (e *ownerEnd) TryWriteBatch(bufs [][]byte) (int, error) {
	n, err := e.PipeEnd.TryWriteBatch(bufs)
	e.sent(bufs[:n])
	return n, err
}

func (e *ownerEnd) sent(sdus [][]byte) {
	var bytes uint64
	for _, b := range sdus {
		bytes += uint64(len(b))
	}
	e.f.sentPkts.Add(uint64(len(sdus)))
	e.f.sentBytes.Add(bytes)
}

// AllocLower implements ipcp.Lower: it finds an IPCP of another layer that
// reaches the name, in the order applications' flows are placed, and
// allocates a flow through it whose other end it returns to from.
func (m *IRM) AllocLower(ctx context.Context, from ipcp.IPCP, n string, q qos.Spec) (ipcp.Port, error) {
	if err := checkName("the destination", n); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.cfg.AllocTimeout)
		defer cancel()
	}
	owner, layer := m.layerOf(from)
	lower, hash, _ := m.reach(ctx, n, func(e *ipcpEntry, info ipcp.Info) bool {
		// A layer never runs over itself.
		return e.ipcp != from && (layer == "" || info.Layer != layer)
	})
	if lower == nil {
		return nil, ctrl.Errorf(ctrl.CodeUnreachable,
			"no lower layer reaches %q: register it in a layer below on the host where it runs (irm name register %s layer LAYER there), and see that this host's lower layers can resolve it (hosts file, DNS, or peers)", n, n)
	}
	id := m.identityOf(owner)
	req, st, err := m.crypt.memberRequest(id, n)
	if err != nil {
		return nil, err
	}
	up, down, err := m.newLowerFlow(n, q, owner, lower, sideAlloc)
	if err != nil {
		return nil, err
	}
	resp, err := lower.Alloc(ctx, n, hash, q, req, down)
	if err == nil {
		err = m.sealLower(up, n, st, resp)
	}
	if err != nil {
		up.f.down(reasonDown)
		return nil, err
	}
	m.log.Debug("lower flow allocated", "id", up.ID(), "ipcp", owner, "name", n, "via", lower.Info().Name,
		"qos", q.String(), "encrypted", up.f.encrypted.Load())
	return up, nil
}

// sealLower finishes the key exchange of an allocated member flow and
// seals it.
func (m *IRM) sealLower(up *ownerEnd, n string, st *oap.ClientState, resp []byte) error {
	keys, peer, err := m.crypt.memberFinish(n, st, resp)
	if err != nil || keys == nil {
		return err
	}
	return up.seal(keys, peer)
}

// layerOf returns an IPCP's name and layer: the one it reports, else the
// one it is enrolling in.
func (m *IRM) layerOf(ip ipcp.IPCP) (string, string) {
	info := ip.Info()
	if info.Layer != "" {
		return info.Name, info.Layer
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.ipcps[info.Name]; ok && e.ipcp == ip {
		return info.Name, e.joining
	}
	return info.Name, ""
}

// boundIPCP returns an IPCP bound to name n that accepts flows and is not
// of from's layer (a layer never runs over itself), nil if there is none.
func (m *IRM) boundIPCP(from ipcp.IPCP, n string) *ipcpEntry {
	_, layer := m.layerOf(from)
	m.mu.Lock()
	var bound []*ipcpEntry
	if nm, found := m.names[n]; found {
		for _, b := range nm.bound {
			if e, found := m.ipcps[b]; found && e.ipcp != from {
				bound = append(bound, e)
			}
		}
	}
	m.mu.Unlock()
	for _, e := range bound {
		if _, isAcc := e.ipcp.(ipcp.Acceptor); !isAcc {
			continue
		}
		if _, l := m.layerOf(e.ipcp); layer != "" && l == layer {
			continue
		}
		return e
	}
	return nil
}

// acceptLower hands the IPCP e a flow for name n that arrived through
// from, from source src, once the key exchange in the request (data)
// passes e's identity. It returns from's end of the flow and the
// exchange's answer. Arrived counts and logs a refusal.
func (m *IRM) acceptLower(e *ipcpEntry, from ipcp.IPCP, src, n string, q qos.Spec, data []byte) (ipcp.Port, []byte, error) {
	m.mu.Lock()
	id := e.identity
	m.mu.Unlock()
	resp, keys, peer, err := m.crypt.memberRespond(id, src, n, data)
	if err != nil {
		return nil, nil, err
	}
	up, down, err := m.newLowerFlow(n, q, e.name, from, sideAccept)
	if err == nil && keys != nil {
		err = up.seal(keys, peer)
		keys = nil
	}
	if err == nil {
		err = e.ipcp.(ipcp.Acceptor).AcceptLower(n, q, up)
	}
	if err != nil {
		if keys != nil {
			keys.Erase()
		}
		if up != nil {
			up.f.down(reasonDown)
		}
		return nil, nil, err
	}
	m.log.Debug("lower flow accepted", "id", up.ID(), "ipcp", e.name, "name", n, "via", from.Info().Name,
		"qos", q.String(), "encrypted", up.f.encrypted.Load())
	return down, resp, nil
}

// lowerStats lists the lower flows.
func (m *IRM) lowerStats() []ctrl.FlowStat {
	m.mu.Lock()
	flows := make([]*lowerFlow, 0, len(m.lowers))
	for _, f := range m.lowers {
		flows = append(flows, f)
	}
	m.mu.Unlock()
	out := make([]ctrl.FlowStat, 0, len(flows))
	for _, f := range flows {
		out = append(out, f.stat())
	}
	return out
}
