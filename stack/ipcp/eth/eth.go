// Package eth is the Ethernet shim layer (IPCP types eth-dix and eth-llc):
// flows between hosts on one Ethernet segment, over a raw AF_PACKET socket
// bound to one interface. The interface needs no IP address.
//
// eth-dix frames are Ethernet II frames of one ethertype per layer
// (default 0xA000), so several layers can share a segment; eth-llc frames
// are 802.3 frames with an LLC header to SAP 0x7A, one layer per segment.
// A name is resolved by broadcasting a query to the segment: the member
// that registered it answers, and the answer is cached for a minute.
//
// The IPCP watches its interface: when it goes down (administratively or
// by losing its carrier) every flow is reported down to its application at
// once and the cached answers are forgotten; when it comes back new flows
// can be allocated. The socket and the link watch are bound to the network
// namespace of the thread that bootstraps the IPCP and stay there.
package eth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/shim"
)

const (
	// queryTimeout bounds a name query. On one segment an answer takes well
	// under a millisecond; the core repeats the query (lost broadcasts)
	// until then. It is short because the IRM asks the layers in turn.
	queryTimeout = time.Second

	// cacheTTL is how long an answered query is trusted.
	cacheTTL = time.Minute

	// minPayload is the smallest usable payload MTU: it holds the largest
	// shim management message without allocation data (a flow request
	// with its credentials, a cookie and a 64-byte hash, 148 bytes) with
	// room to spare.
	minPayload = 160
)

// IPCP is an eth-dix or eth-llc IPCP. Its methods may be called
// concurrently; the flow methods come from the shim core.
type IPCP struct {
	*shim.Core[MAC]
	name string
	typ  ipcp.Type
	log  *slog.Logger
	up   atomic.Bool // the interface is up, with a carrier

	mu     sync.Mutex
	closed bool
	layer  string
	dev    string
	link   linkState // as last seen
	conn   *conn
	watch  *watcher
}

var _ ipcp.IPCP = (*IPCP)(nil)

// New returns an eth-dix or eth-llc IPCP in the created state; log may be
// nil.
func New(name string, typ ipcp.Type, host ipcp.Host, log *slog.Logger) *IPCP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &IPCP{name: name, typ: typ, log: log.With("ipcp", name)}
	p.Core = shim.New(shim.Config[MAC]{Name: name, Type: typ, Host: host, Log: log,
		AppendAddr: func(b []byte, m MAC) []byte { return append(b, m[:]...) }}, p)
	return p
}

// Info implements ipcp.IPCP. Detail is "IF (MAC)", with "link down"
// after it while the interface is down.
func (p *IPCP) Info() ipcp.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := ipcp.Info{Name: p.name, Type: p.typ, Layer: p.layer, State: ipcp.StateCreated, Hash: p.Hash()}
	if p.Running() {
		info.State = ipcp.StateBootstrapped
		info.Flows = p.Flows()
		info.Detail = fmt.Sprintf("%s (%v)", p.dev, p.link.mac)
		if !p.link.up {
			info.Detail += " link down"
		}
		info.Counters = p.Counters()
	}
	return info
}

// Bootstrap implements ipcp.IPCP: it opens the layer's socket on the
// interface given by dev, in the caller's network namespace. The interface
// may be down: flows can be allocated once it is up.
func (p *IPCP) Bootstrap(_ context.Context, layer string, opts map[string]string) error {
	o, err := parseOptions(p.name, p.typ, opts)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ctrl.Errorf(ctrl.CodeDown, "ipcp %s is shutting down", p.name)
	}
	if p.Running() {
		return ctrl.Errorf(ctrl.CodeExists, "ipcp %s is already in layer %s", p.name, p.layer)
	}
	fr := framing{llc: p.typ == ipcp.EthLLC, ethertype: o.ethertype}
	c, st, err := open(o.dev, fr)
	if err != nil {
		return p.openError(o.dev, err)
	}
	w, err := newWatcher()
	if err != nil {
		c.Close()
		return ctrl.Errorf(ctrl.CodeInternal, "ipcp %s: cannot watch interface %s: %v", p.name, o.dev, err)
	}
	p.layer, p.dev, p.link, p.conn, p.watch = layer, o.dev, st, c, w
	p.up.Store(st.up)
	if !st.up {
		p.log.Warn("interface is down: flows wait for it", "dev", o.dev)
	}
	// No NAT on a segment: keepalives go only to tell the peer this end
	// is alive, every dead/3.
	p.SetKeepalive(o.dead, o.dead)
	p.Start(c, p.resolve, o.hash)
	go p.routineLink(w, c, o.dev)
	return nil
}

// openError turns a failure to open the socket into an error for irm:
// open says what was wrong with the interface in a *ctrl.Error.
func (p *IPCP) openError(dev string, err error) error {
	var ce *ctrl.Error
	if errors.As(err, &ce) {
		return ctrl.Errorf(ce.Code, "ipcp %s: %s", p.name, ce.Msg)
	}
	return ctrl.Errorf(ctrl.CodeInternal, "ipcp %s: cannot open a socket on %s: %v", p.name, dev, err)
}

// resolve finds the member of the segment that registered hash, by a
// broadcast query.
func (p *IPCP) resolve(ctx context.Context, name string, hash []byte) (MAC, error) {
	if !p.up.Load() {
		return MAC{}, fmt.Errorf("interface %s is down", p.devName())
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	m, err := p.Query(ctx, hash, broadcastMAC(), cacheTTL)
	if err != nil {
		return MAC{}, fmt.Errorf("no member of layer %s on %s answered for it", p.layerName(), p.devName())
	}
	return m, nil
}

func (p *IPCP) devName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dev
}

func (p *IPCP) layerName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.layer
}

// Close implements ipcp.IPCP: it stops watching the interface, then ends
// every flow (reported down, deallocated at the peers) and closes the
// socket.
func (p *IPCP) Close() error {
	p.mu.Lock()
	w := p.watch
	p.watch, p.closed = nil, true
	p.mu.Unlock()
	if w != nil {
		w.close()
	}
	return p.Core.Close()
}

// linkChanged acts on a new state of the interface: flows end when it
// goes down, since nothing they send arrives, and when its address
// changes, since their peers send to the old one; either way, and when it
// comes back, the cached answers may be stale.
func (p *IPCP) linkChanged(dev string, old, now linkState) {
	switch {
	case old.up && !now.up:
		p.log.Warn("interface down: flows ended", "dev", dev)
		p.DownAll()
	case !old.up && now.up:
		p.log.Info("interface up", "dev", dev)
	case now.up && old.mac != now.mac:
		p.log.Warn("interface address changed: flows ended", "dev", dev, "mac", now.mac.String())
		p.DownAll()
	default:
		return
	}
	p.Forget()
}
