package irm

import (
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/seqpkt"
)

const (
	reasonDown = ctrl.ReasonDown
	sideAlloc  = "alloc"
	sideAccept = "accept"
)

// port is the IRM's end of one application flow (ipcp.Port). It counts what
// passes and remembers whether the application ended the flow, so that it
// is not told about its own deallocation.
type port struct {
	m       *IRM
	id      uint64
	proc    *proc
	name    string
	qos     qos.Spec
	ipcp    ipcp.IPCP
	side    string
	created time.Time
	conn    *seqpkt.Conn

	sentPkts, sentBytes atomic.Uint64 // from the application
	recvPkts, recvBytes atomic.Uint64 // to the application
	dropped             atomic.Uint64 // for the application, its queue full
	// rejected, rejectedBytes: what the application reported did not
	// open (report.go).
	rejected, rejectedBytes atomic.Uint64
	appGone                 atomic.Bool
	encrypted               atomic.Bool // the application got keys
	downOnce                sync.Once
	// peer is the other end's certificate chain, as revocations check it
	// (proof.chain), nil if it showed none. m.mu held.
	peer []*x509.Certificate
	// proven is what the application was told about the other end, for
	// the flow list; nil: nothing was proven.
	proven atomic.Pointer[ctrl.FlowPeer]
	// admitted is an accepted flow's place under the caps on flows held
	// (admit.go), given back when the flow ends; nil for others. m.mu held.
	admitted *ticket
}

var _ ipcp.Port = (*port)(nil)

// newPort makes a socket pair for a flow of proc and registers the IRM's
// end. It returns the port and the application's end, a descriptor which
// the caller passes to the application and then closes.
//
// A process over its flow limits (Limits) gets none, with the reason.
func (m *IRM) newPort(pr *proc, name string, q qos.Spec, ip ipcp.IPCP, side string) (*port, int, error) {
	if err := m.limits.addFlow(pr); err != nil {
		m.refusals.Log(slog.LevelWarn, "flow limit", "flow refused", "name", name, "pid", pr.pid, "uid", pr.uid, "err", err)
		return nil, -1, err
	}
	irmEnd, appEnd, err := seqpkt.PairFD()
	if err != nil {
		m.limits.dropFlow(pr)
		return nil, -1, ctrl.Errorf(ctrl.CodeInternal, "flow socket: %v", err)
	}
	p := &port{m: m, id: m.nextID.Add(1), proc: pr, name: name, qos: q, ipcp: ip,
		side: side, created: time.Now(), conn: irmEnd}
	m.mu.Lock()
	m.ports[p.id] = p
	m.mu.Unlock()
	return p, appEnd, nil
}

// ID implements ipcp.Port.
func (p *port) ID() uint64 { return p.id }

// ReadBatch implements ipcp.Port.
func (p *port) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	n, err := p.conn.ReadBatch(bufs, lens)
	var bytes uint64
	for _, l := range lens[:n] {
		bytes += uint64(l)
	}
	p.sentPkts.Add(uint64(n))
	p.sentBytes.Add(bytes)
	if errors.Is(err, io.EOF) {
		p.appGone.Store(true)
	}
	return n, err
}

// WriteBatch implements ipcp.Port.
func (p *port) WriteBatch(bufs [][]byte) (int, error) {
	n, err := p.conn.WriteBatch(bufs)
	p.delivered(bufs[:n], err)
	return n, err
}

// TryWriteBatch implements ipcp.Port. What the application's socket does
// not take is dropped by the layer, and counted here for the flow list.
func (p *port) TryWriteBatch(bufs [][]byte) (int, error) {
	n, err := p.conn.TryWriteBatch(bufs)
	p.delivered(bufs[:n], err)
	p.dropped.Add(uint64(len(bufs) - n))
	return n, err
}

// delivered counts SDUs handed to the application, and notes from a
// closed socket that the application ended the flow itself.
func (p *port) delivered(sdus [][]byte, err error) {
	var bytes uint64
	for _, b := range sdus {
		bytes += uint64(len(b))
	}
	p.recvPkts.Add(uint64(len(sdus)))
	p.recvBytes.Add(bytes)
	if errors.Is(err, io.ErrClosedPipe) {
		p.appGone.Store(true)
	}
}

// Down implements ipcp.Port: the notice goes out on the control connection
// before the socket closes, so the application knows the reason by the time
// it reads the end of the flow.
func (p *port) Down(reason ctrl.Reason) {
	p.downOnce.Do(func() {
		if !p.appGone.Load() {
			p.proc.notify(ctrl.OpFlowDown, ctrl.FlowDown{ID: p.id, Reason: reason})
		}
		p.conn.Close()
		p.m.mu.Lock()
		delete(p.m.ports, p.id)
		t := p.admitted
		p.admitted = nil
		p.m.mu.Unlock()
		if t != nil {
			t.release()
		}
		p.m.limits.dropFlow(p.proc)
		p.m.reclaim.note(1)
	})
}

// setPeer records what the key exchange proved about the other end.
func (p *port) setPeer(pf proof) {
	p.m.mu.Lock()
	p.peer = pf.chain
	p.m.mu.Unlock()
	p.proven.Store(pf.info)
}

// hold makes the port hold t until it ends; if it ended already, t goes
// at once.
func (p *port) hold(t *ticket) {
	p.m.mu.Lock()
	live := p.m.ports[p.id] == p
	if live {
		p.admitted = t
	}
	p.m.mu.Unlock()
	if !live {
		t.release()
	}
}

// stat describes the port for the flow list. What it received is what
// the application accepted: irmd delivered more, the packets that the
// application reported did not open.
func (p *port) stat() ctrl.FlowStat {
	info := p.ipcp.Info()
	rej, rejBytes := p.rejected.Load(), p.rejectedBytes.Load()
	return ctrl.FlowStat{
		ID: p.id, Name: p.name, QoS: p.qos, Layer: info.Layer, IPCP: info.Name,
		PID: p.proc.pid, Side: p.side, AgeMS: time.Since(p.created).Milliseconds(),
		SentPkts: p.sentPkts.Load(), SentBytes: p.sentBytes.Load(),
		RecvPkts: less(p.recvPkts.Load(), rej), RecvBytes: less(p.recvBytes.Load(), rejBytes),
		Encrypted: p.encrypted.Load(), Dropped: p.dropped.Load(),
		Rejected: rej, RejectedBytes: rejBytes, Peer: p.proven.Load(),
	}
}

// less is a-b, or 0 when a report got ahead of irmd's own count.
func less(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
