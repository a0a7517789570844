// Package unicast is the unicast IPCP: a member of a routed layer. Members
// reach each other over flows in lower layers (member flows), forward for
// each other, and give their users flows to any name registered anywhere in
// the layer.
//
// Its parts, each in its own file:
//
//	member.go   member flows: connection establishment (CEP), keepalives
//	intents.go  intended adjacencies: connect, disconnect, kept up
//	enroll.go   joining a layer through a member, and admitting others
//	fwd.go      data transfer: the receive, forward and send paths
//	fa.go       the flow allocator: flows for applications
//	lsr.go      link-state routing glue: LSUs, flooding, recomputation
//	config.go   the layer's configuration and the bootstrap options
//	wire.go     the IPCP's own messages
//
// The DT header, forwarding tables and output queues are in stack/unicast/dt,
// routing in stack/unicast/routing, the directory in stack/unicast/dir and
// congestion avoidance in stack/unicast/ca.
package unicast

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"o7s.dev/ouroboros/internal/ratelog"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/dir"
	"o7s.dev/ouroboros/stack/unicast/dt"
	"o7s.dev/ouroboros/stack/unicast/routing"
)

// MaxSDU is the largest SDU the layer carries for its users: small enough
// that two unicast layers stacked on one another still fit a udp4 flow on
// a 1500-byte interface (1468 bytes), since each adds its header (15 or 19
// bytes) and seals its member flows (crypt.Overhead, 25 bytes):
// 1380 + 2 × (19 + 25) = 1468.
const MaxSDU = 1380

// maxPDU bounds what a member flow or an upper layer's flow may deliver in
// one packet.
const maxPDU = 9216

// IPCP is a unicast IPCP.
type IPCP struct {
	name   string
	host   ipcp.Host
	lower  ipcp.Lower
	log    *slog.Logger
	nodeID uint64 // tells this instance apart from another with the same address

	mu     sync.Mutex
	state  ipcp.State
	cfg    Config
	closed bool
	regs   map[string]struct{} // registered hashes
	ownSeq uint64

	adj adjacencies // member flows and intended adjacencies, under their own lock
	enr admissions  // addresses given to enrollees, under their own lock

	self  atomic.Uint64 // the member's address
	codec dt.Codec
	pff   [3]*dt.Table                            // forwarding, per QoS cube
	out   atomic.Pointer[map[addr.Addr]*dtOutput] // neighbours' data-transfer outputs
	upFn  func(addr.Addr) bool
	// memberSnap is members as a list for the paths that must not wait for
	// the lock: flooding and keepalives.
	memberSnap atomic.Pointer[[]*memberFlow]
	// fa is the flows and allocations, lookups the recent directory
	// answers, each under its own lock; reports decides when to report a
	// destination unreachable.
	fa      *flowTable
	lookups lookupCache
	reports reporter
	// reqs admits flow requests and queues them for the workers; rl
	// limits the log lines of drops and refusals that others can cause.
	reqs  *admission
	rl    ratelog.Limiter
	db    *routing.DB
	dht   *dir.DHT
	stats counters

	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{} // asks the routing loop to recompute
	wg     sync.WaitGroup
}

var (
	_ ipcp.Layered  = (*IPCP)(nil)
	_ ipcp.Acceptor = (*IPCP)(nil)
)

// New returns a unicast IPCP in the created state. lower gives it flows to
// other members; host, flows to its users.
func New(name string, host ipcp.Host, lower ipcp.Lower, log *slog.Logger) *IPCP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &IPCP{name: name, host: host, lower: lower, log: log.With("ipcp", name),
		nodeID: rand.Uint64() | 1, state: ipcp.StateCreated,
		regs: map[string]struct{}{}, adj: newAdjacencies(), enr: admissions{assigned: map[uint64]addr.Addr{}},
		fa: newFlowTable(), reqs: newAdmission(),
		ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1)}
	p.rl.Logger = p.log
	empty := map[addr.Addr]*dtOutput{}
	p.out.Store(&empty)
	p.upFn = p.isUp
	p.memberSnap.Store(&[]*memberFlow{})
	for i := range p.pff {
		p.pff[i] = dt.NewTable()
	}
	return p
}

// Addr returns the member's address, or addr.None outside a layer.
func (p *IPCP) Addr() addr.Addr { return addr.Addr(p.self.Load()) }

// Info implements ipcp.IPCP.
func (p *IPCP) Info() ipcp.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := ipcp.Info{Name: p.name, Type: ipcp.Unicast, Layer: p.cfg.Layer, State: p.state,
		Hash: p.cfg.Hash, Flows: p.fa.count(), Counters: p.stats.snapshot()}
	for cause, n := range p.reqs.dropCounts() {
		info.Counters[cause] = n
	}
	if p.dht != nil {
		for cause, n := range p.dht.Stats().Dropped {
			if n > 0 {
				info.Counters["dht-"+cause] = n
			}
		}
	}
	if a := p.Addr(); a != addr.None {
		info.Detail = a.String()
	}
	info.Neighbours = p.neighbours()
	info.Intents = p.intentList()
	return info
}

// neighbours lists the peers of member flows with their components.
func (p *IPCP) neighbours() []string {
	comps := map[string][]string{}
	for _, f := range p.memberList() {
		comps[f.peerName] = append(comps[f.peerName], componentName(f.comp))
	}
	var out []string
	for n, c := range comps {
		sort.Strings(c)
		out = append(out, fmt.Sprintf("%s (%s)", n, strings.Join(c, ", ")))
	}
	sort.Strings(out)
	return out
}

// MaxSDU implements ipcp.IPCP.
func (p *IPCP) MaxSDU() int { return MaxSDU }

// Bootstrap implements ipcp.IPCP: the IPCP becomes the first member of a new
// layer.
func (p *IPCP) Bootstrap(_ context.Context, layer string, opts map[string]string) error {
	cfg, err := ParseOptions(layer, opts)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkCreatedLocked(); err != nil {
		return err
	}
	if err := p.startLocked(cfg, addr.Pick(cfg.AddrSize, nil), ipcp.StateBootstrapped); err != nil {
		return err
	}
	p.log.Info("layer bootstrapped", "layer", layer, "address", p.Addr(), "routing", cfg.Routing,
		"congestion", cfg.Congestion, "hash", cfg.Hash)
	return nil
}

func (p *IPCP) checkCreatedLocked() error {
	if p.closed {
		return ctrl.Errorf(ctrl.CodeDown, "IPCP %s is shutting down", p.name)
	}
	if p.state != ipcp.StateCreated {
		return ctrl.Errorf(ctrl.CodeExists, "IPCP %s is already a member of layer %s", p.name, p.cfg.Layer)
	}
	return nil
}

// startLocked brings the layer's components up with the given address.
func (p *IPCP) startLocked(cfg Config, self addr.Addr, st ipcp.State) error {
	codec, err := dt.NewCodec(cfg.AddrSize)
	if err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "%v", err)
	}
	p.cfg, p.codec = cfg, codec
	p.self.Store(uint64(self))
	p.db = routing.NewDB()
	p.db.SetSelf(self)
	dcfg := cfg.dirConfig()
	dcfg.Log = p.log
	dcfg.Routable = p.routable
	d, err := dir.New(dcfg, self, dirTransport{p})
	if err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "directory: %v", err)
	}
	p.dht = d
	p.state = st
	p.dht.Start()
	p.originateLocked()
	for h := range p.regs {
		p.publishLocked([]byte(h))
	}
	p.wg.Add(1)
	go p.routingLoop()
	p.wg.Add(reqWorkers)
	for range reqWorkers {
		go p.requestWorker()
	}
	return nil
}

// inLayer reports whether the IPCP is a member of a layer.
func (p *IPCP) inLayerLocked() bool {
	return p.state == ipcp.StateBootstrapped || p.state == ipcp.StateEnrolled
}

// Close implements ipcp.IPCP.
func (p *IPCP) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cancel()
	members := p.adj.close()
	d := p.dht
	p.mu.Unlock()
	flows := p.fa.close()
	for _, f := range flows {
		f.port.Down(ctrl.ReasonDown)
	}
	for _, f := range members {
		f.port.Down(ctrl.ReasonDown)
	}
	if d != nil {
		d.Close()
	}
	p.wg.Wait()
	return nil
}

// counters counts what the IPCP dropped, by cause.
type counters struct {
	malformed, ttl, noRoute, noFlow, queueFull, policed, badControl, appSlow atomic.Uint64
}

func (c *counters) snapshot() map[string]uint64 {
	m := map[string]uint64{
		"malformed": c.malformed.Load(), "ttl": c.ttl.Load(), "no-route": c.noRoute.Load(),
		"no-flow": c.noFlow.Load(), "queue-full": c.queueFull.Load(), "policed": c.policed.Load(),
		"bad-control": c.badControl.Load(), "app-slow": c.appSlow.Load(),
	}
	for k, v := range m {
		if v == 0 {
			delete(m, k)
		}
	}
	return m
}
