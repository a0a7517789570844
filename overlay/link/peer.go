package link

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"

	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/tunif"
)

func (l *Link) newPeer(f Flow, dialled bool) *Peer {
	maxSDU := f.MaxSDU()
	if maxSDU <= 0 {
		maxSDU = 1 + tunif.MaxPacket // a flow without a limit: the largest packet and a tag
	}
	return &Peer{
		l:       l,
		f:       f,
		dialled: dialled,
		maxSDU:  maxSDU,
		txq:     make([][]byte, 0, l.cfg.Device.BatchSize()),
		replies: make(chan uint64, 4),
		ended:   make(chan struct{}),
	}
}

// Name is the peer's name as this end's configuration knows it.
func (p *Peer) Name() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Name != "" {
		return p.cfg.Name
	}
	return p.hello.Name // before admit: the name it claims
}

// String is the peer's name, for messages (route conflicts name peers).
func (p *Peer) String() string { return p.Name() }

func (p *Peer) done() <-chan struct{} { return p.ended }

func (p *Peer) err() error {
	select {
	case <-p.ended:
		return p.why
	default:
		return nil
	}
}

// send writes a batch of SDUs to the peer's flow, counting what went and
// what did not.
func (p *Peer) send(sdus [][]byte) {
	if len(sdus) == 0 {
		return
	}
	p.wmu.Lock()
	n, err := p.f.WriteBatch(sdus)
	p.wmu.Unlock()
	bytes := 0
	for _, b := range sdus[:n] {
		bytes += len(b)
	}
	p.tx.add(n, bytes)
	if err != nil {
		p.drops.add(peerDown, len(sdus)-n)
		if p.drops.shouldLog(peerDown, p.l.now()) {
			p.l.log.Warn("cannot write to the peer's flow", "peer", p.Name(), "err", err,
				"dropped", p.drops.n[peerDown].Load())
		}
	}
}

// writeMsg encodes m and writes it on the flow.
func (p *Peer) writeMsg(m *wire.Msg) error {
	b, err := wire.Append(nil, m)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, err := p.f.WriteBatch([][]byte{b}); err != nil {
		return fmt.Errorf("writing an ovpn %v: %w", m.Type, err)
	}
	return nil
}

// refuse tells the peer why this end closes the flow (best effort: the
// flow may be gone already). Reasons are cut to what a refuse carries.
func (p *Peer) refuse(why string) {
	if len(why) > wire.MaxReason {
		why = why[:wire.MaxReason]
		for !utf8.ValidString(why) {
			why = why[:len(why)-1]
		}
	}
	p.writeMsg(&wire.Msg{Type: wire.Refuse, Reason: why}) //nolint:errcheck // the flow closes anyway
}

// end ends the peer once: records why, closes the flow, takes the peer out
// of the link's tables and wakes Done. It must not be called with l.mu held.
func (p *Peer) end(why error) {
	p.endOnce.Do(func() {
		p.why = why
		p.f.Close()
		l := p.l
		l.mu.Lock()
		if l.peers[p.cfg.Name] == p {
			delete(l.peers, p.cfg.Name)
			l.publish()
		}
		// Under l.mu: a flow of the same name registering next must
		// find the prefixes free.
		l.routes.Remove(p)
		l.mu.Unlock()
		l.macs.RemovePeer(p)
		close(p.ended)
		if !errors.Is(why, ErrClosed) {
			l.log.Info("peer down", "peer", p.Name(), "reason", why)
		}
		l.fitMTU()
	})
}

// keepalive sends an echo every interval, ends the peer after deadAfter
// silent intervals, and renews a pool lease at a third of its time.
func (p *Peer) keepalive() {
	every := p.l.cfg.Echo
	t := time.NewTicker(every)
	defer t.Stop()
	var renew <-chan time.Time
	p.mu.Lock()
	if p.lease > 0 {
		rt := time.NewTicker(p.lease)
		defer rt.Stop()
		renew = rt.C
	}
	p.mu.Unlock()
	for {
		select {
		case <-p.ended:
			return
		case <-t.C:
			silent := p.l.now().Sub(time.Unix(0, p.lastRx.Load()))
			if silent >= deadAfter*every {
				p.end(fmt.Errorf("peer %s: nothing received for %v (%d echo intervals of %v): presumed dead",
					p.Name(), silent.Round(time.Millisecond), deadAfter, every))
				return
			}
			p.echo()
		case <-renew:
			p.renew()
		case c := <-p.replies:
			p.writeMsg(&wire.Msg{Type: wire.Reply, Cookie: c}) //nolint:errcheck // the echo's sender times out
		}
	}
}

// echo sends an echo with a new cookie; its reply gives the RTT.
func (p *Peer) echo() {
	cookie := rand.Uint64() | 1 // never 0
	p.echoSent.Store(uint64(p.l.now().UnixNano()))
	p.echoCookie.Store(cookie)
	p.writeMsg(&wire.Msg{Type: wire.Echo, Cookie: cookie}) //nolint:errcheck // silence is what ends a peer
}

// renew acquires the peer's lease again and grants it anew.
func (p *Peer) renew() {
	p.mu.Lock()
	name, ok := p.cfg.Name, p.cfg.Lease
	fams := families(p.leased)
	p.mu.Unlock()
	if !ok || fams == 0 {
		return
	}
	ls, err := p.l.cfg.Pool.Acquire(name, fams)
	if err != nil && !errors.Is(err, pool.ErrNotSaved) {
		p.l.log.Error("cannot renew the peer's lease", "peer", name, "err", err)
		return
	}
	if err != nil {
		p.l.log.Warn("lease renewed but not saved", "peer", name, "err", err)
	}
	p.grant(ls) //nolint:errcheck // silence is what ends a peer
}

// grant sends ls to the peer.
func (p *Peer) grant(ls pool.Lease) error {
	d := max(ls.Expires.Sub(p.l.now()).Truncate(time.Second), time.Second)
	return p.writeMsg(&wire.Msg{Type: wire.Grant, Addrs: ls.Addrs, Lease: d})
}

func families(addrs []netip.Prefix) pool.Family {
	var f pool.Family
	for _, a := range addrs {
		f |= pool.Family(1 << family(a.Addr()))
	}
	return f
}

func (p *Peer) status() PeerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	addrs := p.leased
	if len(addrs) == 0 {
		addrs = p.hello.Addrs
	}
	var last time.Time
	if ns := p.lastRx.Load(); ns != 0 {
		last = time.Unix(0, ns)
	}
	return PeerStatus{
		Name:      p.cfg.Name,
		Proven:    p.cfg.Proven,
		Dialled:   p.dialled,
		Addrs:     slices.Clone(addrs),
		Routes:    slices.Clone(p.cfg.Routes),
		Since:     p.since,
		LastRx:    last,
		RTT:       time.Duration(p.rtt.Load()),
		TxPackets: p.tx.packets.Load(),
		TxBytes:   p.tx.bytes.Load(),
		RxPackets: p.rx.packets.Load(),
		RxBytes:   p.rx.bytes.Load(),
		Drops:     p.drops.snapshot(),
	}
}
