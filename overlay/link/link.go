package link

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"time"

	"o7s.dev/ouroboros/overlay/mac"
	"o7s.dev/ouroboros/overlay/route"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/tunif"
)

// DefaultEcho is the echo interval when Config.Echo is zero.
const DefaultEcho = 5 * time.Second

// deadAfter is how many echo intervals of silence make a peer dead.
const deadAfter = 4

// ErrClosed is wrapped by the errors of a Link used after Close, and by
// the Err of its peers once it is closed.
var ErrClosed = errors.New("link closed")

// ErrDuplicate is wrapped by Add's error, or a Peer's Err, when its flow
// lost the tie-break with another flow between the same two names, here or
// at the far end ("duplicate flow"). The other flow carries the traffic:
// there is nothing to retry.
var ErrDuplicate = errors.New("duplicate flow")

// ErrRefused is wrapped by Add's error, or a Peer's Err, when the far end
// sent a refuse message: it does not admit this end ("refused by NAME:
// REASON"). A refusal for a duplicate flow wraps ErrDuplicate too.
var ErrRefused = errors.New("refused by the peer")

func newLink(cfg Config) (*Link, error) {
	if cfg.Device == nil {
		return nil, errors.New("link: no device")
	}
	if cfg.Name == "" {
		return nil, errors.New("link: no name: the hello must say who this end is")
	}
	if cfg.Mode != wire.Tun && cfg.Mode != wire.Tap {
		return nil, fmt.Errorf("link %s: mode %v is neither tun nor tap", cfg.Device.Name(), cfg.Mode)
	}
	for _, a := range cfg.Addrs {
		if !a.IsValid() {
			return nil, fmt.Errorf("link %s: invalid tunnel address %v", cfg.Device.Name(), a)
		}
	}
	if cfg.Echo <= 0 {
		cfg.Echo = DefaultEcho
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Link{
		cfg:    cfg,
		log:    cfg.Log.With("link", cfg.Device.Name()),
		routes: route.New[*Peer](),
		macs:   mac.New[*Peer](mac.Config{Age: cfg.MACAge, AllowMove: cfg.AllowMove, Now: cfg.Now}),
		peers:  make(map[string]*Peer),
		done:   make(chan struct{}),
	}
	l.up.Store(&[]*Peer{})
	l.setAddrs(slices.Clone(cfg.Addrs))
	mtu, err := cfg.Device.MTU()
	if err != nil {
		return nil, fmt.Errorf("link %s: reading the device's MTU: %w", cfg.Device.Name(), err)
	}
	if cfg.MTU != 0 && cfg.MTU != mtu {
		if err := cfg.Device.SetMTU(cfg.MTU); err != nil {
			return nil, fmt.Errorf("link %s: setting the configured MTU %d: %w", cfg.Device.Name(), cfg.MTU, err)
		}
		mtu = cfg.MTU
	}
	l.mtu.Store(int32(mtu))
	return l, nil
}

// setAddrs makes addrs this end's tunnel addresses. It runs with l.mu held
// (or before the Link is shared).
func (l *Link) setAddrs(addrs []netip.Prefix) {
	l.addrs = addrs
}

// family is 0 for IPv4, 1 for IPv6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

func (l *Link) now() time.Time { return l.cfg.Now() }

func (l *Link) run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if l.cfg.Mode == wire.Tap {
		go l.sweepMACs()
	}
	r := newDevReader(l)
	dev := l.cfg.Device
	for {
		n, err := dev.Read(r.bufs, r.sizes, devOff)
		if n > 0 {
			r.forward(n)
		}
		if err == nil {
			continue
		}
		if l.isClosed() {
			return nil
		}
		if errors.Is(err, os.ErrClosed) {
			return fmt.Errorf("link %s: the device closed under the link: %w", dev.Name(), err)
		}
		// tunif: other errors concern one packet; the device goes on.
		l.drops.add(deviceRead, 1)
		if l.drops.shouldLog(deviceRead, l.now()) {
			l.log.Warn("device read dropped a packet", "err", err, "dropped", l.drops.n[deviceRead].Load())
		}
	}
}

// sweepMACs drops aged-out MACs now and then, until the link closes.
func (l *Link) sweepMACs() {
	age := l.cfg.MACAge
	if age <= 0 {
		age = mac.DefaultAge
	}
	t := time.NewTicker(age / 2)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.macs.Sweep()
		}
	}
}

func (l *Link) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *Link) close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	peers := l.upPeers()
	l.mu.Unlock()
	for _, p := range peers {
		p.end(fmt.Errorf("peer %s: %w", p.Name(), ErrClosed))
	}
	if err := l.cfg.Device.Close(); err != nil {
		return fmt.Errorf("link %s: closing the device: %w", l.cfg.Device.Name(), err)
	}
	return nil
}

// upPeers returns the peers that are up, sorted by name. It runs with l.mu
// held.
func (l *Link) upPeers() []*Peer {
	out := make([]*Peer, 0, len(l.peers))
	for _, p := range l.peers {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Peer) int { return cmp.Compare(a.Name(), b.Name()) })
	return out
}

// publish makes the peer list the device reader floods to match l.peers.
// It runs with l.mu held.
func (l *Link) publish() {
	ps := l.upPeers()
	l.up.Store(&ps)
}

func (l *Link) peer(name string) *Peer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peers[name]
}

func (l *Link) remove(name, why string) {
	if p := l.peer(name); p != nil {
		p.Remove(why)
	}
}

func (l *Link) update(pcs []PeerConfig) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	changes := make(map[*Peer][]netip.Prefix)
	up := make(map[*Peer]PeerConfig)
	for _, pc := range pcs {
		p := l.peers[pc.Name]
		if p == nil {
			continue // applied by admit when it comes up
		}
		p.mu.Lock()
		h, leased := p.hello, p.leased
		p.mu.Unlock()
		changes[p] = l.allowed(pc, h, leased, l.addrs)
		up[p] = pc
	}
	if err := l.routes.Update(changes); err != nil {
		return fmt.Errorf("link %s: %w", l.cfg.Device.Name(), err)
	}
	for p, pc := range up {
		p.mu.Lock()
		p.cfg.Routes, p.cfg.Lease = slices.Clone(pc.Routes), pc.Lease
		p.mu.Unlock()
	}
	return nil
}

func (l *Link) status() Status {
	l.mu.Lock()
	addrs := slices.Clone(l.addrs)
	peers := l.upPeers()
	l.mu.Unlock()
	s := Status{
		Device: l.cfg.Device.Name(),
		Mode:   l.cfg.Mode.String(),
		MTU:    int(l.mtu.Load()),
		Addrs:  addrs,
		Drops:  l.drops.snapshot(),
		Peers:  make([]PeerStatus, 0, len(peers)),
	}
	for _, p := range peers {
		s.Peers = append(s.Peers, p.status())
	}
	return s
}

// fitMTU sets the device's MTU to what the smallest flow of the peers
// carries, when Config.MTU is 0, and tells OnMTU. It runs without l.mu.
func (l *Link) fitMTU() {
	if l.cfg.MTU != 0 {
		return
	}
	l.mtuMu.Lock()
	defer l.mtuMu.Unlock()
	mtu := 0
	for _, p := range *l.up.Load() {
		if m := l.mtuFor(p.maxSDU); mtu == 0 || m < mtu {
			mtu = m
		}
	}
	if mtu <= 0 || mtu == int(l.mtu.Load()) || l.isClosed() {
		return
	}
	if err := l.cfg.Device.SetMTU(mtu); err != nil {
		l.log.Error("cannot set the MTU the flows carry; packets that do not fit are dropped", "mtu", mtu, "err", err)
		return
	}
	l.mtu.Store(int32(mtu))
	l.log.Info("MTU set from the flows' MaxSDU", "mtu", mtu)
	if l.cfg.OnMTU != nil {
		l.cfg.OnMTU(mtu)
	}
}

// mtuFor is the largest interface MTU whose packets fit an SDU of maxSDU
// bytes. tun: the packet is the SDU. tap: the SDU is the one-byte tag, the
// Ethernet header and a VLAN tag (tunif.EthOverhead), then MTU bytes of
// payload, so that a frame from a bridge with a VLAN tag fits too.
func (l *Link) mtuFor(maxSDU int) int {
	mtu := maxSDU
	if l.cfg.Mode == wire.Tap {
		mtu -= 1 + tunif.EthOverhead
	}
	return min(mtu, tunif.MaxPacket)
}
