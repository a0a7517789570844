package link

// The exchange when a flow comes up (docs/protocol.md, "ovpn control
// messages"):
//
//	both ends: send hello{name, mode, mtu, addresses, want} at once
//	           read the peer's hello ─► mode? own name? admit(hello)
//	           any of them fails ─► refuse{reason}, close
//	accepting a want: pool.Acquire ─► grant{addresses, lease}, or refuse
//	having sent a want: wait for the grant (or a refuse)
//	           allowed prefixes ─► tie-break with a peer of the same name
//	           ─► routes.Update ─► up: reader and keepalive goroutines

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
)

// The first resend of a hello, and the longest wait between two.
const (
	helloResend    = 200 * time.Millisecond
	maxHelloResend = time.Second
)

func (l *Link) add(ctx context.Context, f Flow, dialled, onDemand bool, admit Admit) (*Peer, error) {
	dev := l.cfg.Device.Name()
	if l.isClosed() {
		f.Close()
		return nil, fmt.Errorf("link %s: %w", dev, ErrClosed)
	}
	// ReadBatch has no deadline: ending ctx closes the flow under it.
	stop := context.AfterFunc(ctx, func() { f.Close() })
	p := l.newPeer(f, dialled)
	p.onDemand = onDemand
	r := newPeerReader(p)
	prefixes, err := l.exchange(p, r, admit)
	if !stop() {
		err = fmt.Errorf("no complete exchange before %w", context.Cause(ctx))
	}
	if err == nil {
		err = l.register(p, prefixes)
	}
	if err != nil {
		f.Close()
		if name := p.Name(); name != "" {
			return nil, fmt.Errorf("link %s: peer %s: %w", dev, name, err)
		}
		return nil, fmt.Errorf("link %s: a peer that sent no hello: %w", dev, err)
	}
	l.log.Info("peer up", "peer", p.Name(), "dialled", dialled, "proven", p.cfg.Proven, "allowed", prefixes)
	go r.run()
	go p.keepalive()
	return p, nil
}

// exchange runs the hello exchange on p's flow and returns the prefixes p
// may hold. It refuses the peer itself when this end says no.
func (l *Link) exchange(p *Peer, r *peerReader, admit Admit) ([]netip.Prefix, error) {
	l.mu.Lock()
	own := slices.Clone(l.addrs)
	l.mu.Unlock()
	// A tap bridges a LAN that has its own addresses: only tun asks. A
	// client asks on every flow, the ones it accepts too: when both ends
	// dial, the flow that survives the tie-break may be the office's.
	// A flow dialled on demand is not the office's.
	if len(l.cfg.Addrs) == 0 && l.cfg.Mode == wire.Tun && !p.onDemand {
		p.want = wire.WantIPv4 | wire.WantIPv6
	}
	p.sentHello = &wire.Msg{Type: wire.Hello, Name: l.cfg.Name, Mode: l.cfg.Mode,
		MTU: uint32(l.mtu.Load()), Addrs: own, Want: p.want}
	if err := p.writeMsg(p.sentHello); err != nil {
		return nil, err
	}
	// A raw flow may lose the hello (or the grant it asks for): it goes
	// again until the exchange is done; a peer already up answers it.
	defer p.resendHello()()
	m, err := r.readControl(wire.Hello)
	if err != nil {
		return nil, err
	}
	h := Hello{Name: m.Name, Mode: m.Mode, MTU: int(m.MTU), Addrs: m.Addrs, Routes: m.Routes, Want: m.Want, Gateway: m.Gateway}
	p.mu.Lock()
	p.hello = h
	p.mu.Unlock()
	pc, err := l.admitHello(h, admit)
	if err != nil {
		p.refuse(err.Error())
		return nil, err
	}
	if pc.Name == "" {
		pc.Name = h.Name
	}
	p.mu.Lock()
	p.cfg = pc
	p.cfg.Routes = slices.Clone(pc.Routes)
	p.mu.Unlock()
	var leased []netip.Prefix
	if h.Want != 0 {
		if leased, err = l.lease(p, h.Want); err != nil {
			p.refuse(err.Error())
			return nil, err
		}
	}
	if p.want != 0 {
		g, err := r.readControl(wire.Grant)
		if err != nil {
			return nil, err
		}
		l.applyGrant(g.Addrs)
	}
	l.claims(p, h, pc)
	l.mu.Lock()
	own = slices.Clone(l.addrs)
	l.mu.Unlock()
	return l.allowed(pc, h, leased, own), nil
}

// resendHello sends this end's hello again, at growing intervals, until
// the function it returns is called.
func (p *Peer) resendHello() (stop func()) {
	done := make(chan struct{})
	go func() {
		for wait := helloResend; ; wait = min(2*wait, maxHelloResend) {
			select {
			case <-done:
				return
			case <-time.After(wait):
				p.writeMsg(p.sentHello) //nolint:errcheck // Add's context bounds the exchange
			}
		}
	}()
	return func() { close(done) }
}

// admitHello checks what this end checks itself, then asks admit.
func (l *Link) admitHello(h Hello, admit Admit) (PeerConfig, error) {
	switch {
	case h.Mode != l.cfg.Mode:
		return PeerConfig{}, fmt.Errorf("mode mismatch: %s runs %v, %s runs %v; both ends must run the same mode",
			h.Name, h.Mode, l.cfg.Name, l.cfg.Mode)
	case h.Name == l.cfg.Name:
		return PeerConfig{}, fmt.Errorf("the peer claims this end's own name %s", h.Name)
	}
	pc, err := admit(h)
	if err != nil {
		return PeerConfig{}, fmt.Errorf("not admitted: %w", err)
	}
	return pc, nil
}

// lease acquires addresses for the peer from the pool and grants them.
func (l *Link) lease(p *Peer, want wire.Want) ([]netip.Prefix, error) {
	p.mu.Lock()
	pc := p.cfg
	p.mu.Unlock()
	switch {
	case l.cfg.Pool == nil:
		return nil, fmt.Errorf("no address pool here (%s); give the client an address", l.cfg.Name)
	case !pc.Lease:
		return nil, fmt.Errorf("%s may not lease an address from %s", pc.Name, l.cfg.Name)
	}
	ls, err := l.cfg.Pool.Acquire(pc.Name, pool.Family(want))
	if err != nil && !errors.Is(err, pool.ErrNotSaved) {
		return nil, err
	}
	if err != nil {
		l.log.Warn("lease granted but not saved", "peer", pc.Name, "err", err)
	}
	if err := p.grant(ls); err != nil {
		return nil, err
	}
	granted := l.inOwnSubnets(ls.Addrs)
	p.mu.Lock()
	p.leased = granted
	p.lease = max(ls.Expires.Sub(l.now())/3, 1)
	p.mu.Unlock()
	return granted, nil
}

// claims counts and logs the routes the peer's hello claims that its
// configuration does not give it: they are never installed.
func (l *Link) claims(p *Peer, h Hello, pc PeerConfig) {
	var extra []netip.Prefix
	for _, r := range h.Routes {
		if !slices.ContainsFunc(pc.Routes, func(c netip.Prefix) bool { return c.Masked() == r.Masked() }) {
			extra = append(extra, r)
		}
	}
	if len(extra) > 0 {
		p.drops.add(claimedRoute, len(extra))
		l.log.Warn("peer claims routes its configuration does not give it; not installed",
			"peer", pc.Name, "claimed", extra, "configured", pc.Routes)
	}
}

// allowed is what the peer may hold in the routing table: its configured
// routes, the addresses leased to it, and the tunnel addresses of its hello
// that lie in one of this end's subnets (own) and, if in the pool, are
// leased to it. Claimed routes never count.
func (l *Link) allowed(pc PeerConfig, h Hello, leased, own []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range pc.Routes {
		out = append(out, r.Masked())
	}
	host := func(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
	for _, a := range leased {
		out = append(out, host(a.Addr()))
	}
	for _, a := range h.Addrs {
		addr := a.Addr()
		inOwn := slices.ContainsFunc(own, func(o netip.Prefix) bool { return o.Masked().Contains(addr) && o.Addr() != addr })
		pooled := l.cfg.Pool != nil && l.cfg.Pool.Contains(addr)
		if inOwn && (!pooled || slices.Contains(out, host(addr))) {
			out = append(out, host(addr))
		}
	}
	return out
}

// register makes p up, unless a peer of the same name wins the tie-break:
// one flow between two names is kept, the one dialled by the end whose
// name sorts first; between two flows dialled by the same end, the newer
// (the end redialled because it lost the older).
func (l *Link) register(p *Peer, prefixes []netip.Prefix) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	name := p.cfg.Name
	changes := map[*Peer][]netip.Prefix{p: prefixes}
	old := l.peers[name]
	if old != nil {
		if !l.keepNew(old, p) {
			l.mu.Unlock()
			p.refuse(duplicateReason)
			return fmt.Errorf("%w: the flow dialled by %s is up", ErrDuplicate, l.dialler(old))
		}
		changes[old] = nil
	}
	if err := l.routes.Update(changes); err != nil {
		l.mu.Unlock()
		p.refuse(err.Error())
		return err
	}
	now := l.now()
	p.since = now
	p.lastRx.Store(now.UnixNano())
	l.peers[name] = p
	l.publish()
	l.mu.Unlock()
	if old != nil {
		old.refuse(duplicateReason)
		old.end(fmt.Errorf("peer %s: %w: replaced by the flow dialled by %s", name, ErrDuplicate, l.dialler(p)))
	}
	l.fitMTU()
	return nil
}

// keepNew decides the tie-break between old and new flows of one peer.
func (l *Link) keepNew(old, new *Peer) bool {
	if old.dialled == new.dialled {
		return true
	}
	return new.dialled == (l.cfg.Name < new.hello.Name)
}

// dialler names the end that allocated p's flow.
func (l *Link) dialler(p *Peer) string {
	if p.dialled {
		return l.cfg.Name
	}
	return p.hello.Name
}
