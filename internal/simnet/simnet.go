// Package simnet is a simulated network in one process: unicast IPCPs
// joined by in-memory links with loss and delay, for tests and benchmarks
// of the unicast layer at sizes no namespace lab reaches (hundreds of
// members).
//
// A link between two nodes stands for a lower layer in which each can
// reach the other by name; Connect and Enroll allocate flows over it, just
// as irmd's IRM does over a real lower layer:
//
//	node A's IPCP ─pipe─► shaper (loss, delay) ─pipe─► node B's IPCP
//	node A's IPCP ◄─pipe─ shaper (loss, delay) ◄─pipe─ node B's IPCP
package simnet

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/ipcp/unicast"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

// pipeCapacity is how many SDUs each direction of a simulated flow queues.
const pipeCapacity = 4096

// LinkOpts impairs a link. The zero value is a perfect link.
type LinkOpts struct {
	Loss  float64       // probability that a packet is lost, 0..1
	Delay time.Duration // one-way delay added to every packet
}

// Net is a simulated network.
type Net struct {
	log  *slog.Logger
	ids  atomic.Uint64
	hash ipcp.HashAlgo

	mu    sync.Mutex
	nodes map[string]*Node
	links map[[2]string]*link
}

// New returns an empty network. log may be nil.
func New(log *slog.Logger) *Net {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Net{log: log, hash: ipcp.DefaultHash, nodes: map[string]*Node{}, links: map[[2]string]*link{}}
}

// Node is one member of the simulated network: a unicast IPCP with a host
// that hands arriving flows to handlers registered per name.
type Node struct {
	Name string
	IPCP *unicast.IPCP
	net  *Net

	mu       sync.Mutex
	handlers map[string]func(ipcp.Port) // by hash
}

// AddNode adds a unicast IPCP named name.
func (n *Net) AddNode(name string) *Node {
	nd := &Node{Name: name, net: n, handlers: map[string]func(ipcp.Port){}}
	nd.IPCP = unicast.New(name, nd, nd, n.log)
	n.mu.Lock()
	n.nodes[name] = nd
	n.mu.Unlock()
	return nd
}

// Node returns the node named name, or nil.
func (n *Net) Node(name string) *Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodes[name]
}

// Nodes returns every node that is still up, by name.
func (n *Net) Nodes() []*Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Node, 0, len(n.nodes))
	for _, nd := range n.nodes {
		out = append(out, nd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func linkKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// Link lets a and b reach each other, with the given impairment.
func (n *Net) Link(a, b string, opts LinkOpts) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.links[linkKey(a, b)] = &link{opts: opts, ends: map[*ipcp.PipeEnd]struct{}{}}
}

// Cut takes the link between a and b down: its flows end, as when a lower
// layer reports a flow down.
func (n *Net) Cut(a, b string) {
	n.mu.Lock()
	l := n.links[linkKey(a, b)]
	delete(n.links, linkKey(a, b))
	n.mu.Unlock()
	if l != nil {
		l.down()
	}
}

// Silence makes the link between a and b lose every packet without ending
// its flows, as a dead peer behind a lower layer without keepalives would.
func (n *Net) Silence(a, b string) {
	n.mu.Lock()
	l := n.links[linkKey(a, b)]
	n.mu.Unlock()
	if l != nil {
		l.silent.Store(true)
	}
}

// Remove stops a node (its IPCP closes) and forgets it.
func (n *Net) Remove(name string) {
	n.mu.Lock()
	nd := n.nodes[name]
	delete(n.nodes, name)
	n.mu.Unlock()
	if nd != nil {
		_ = nd.IPCP.Close()
	}
}

// Close stops every node.
func (n *Net) Close() {
	for _, nd := range n.Nodes() {
		n.Remove(nd.Name)
	}
}

// AllocLower implements ipcp.Lower: a flow to the node named name, if a
// link joins the two.
func (nd *Node) AllocLower(ctx context.Context, _ ipcp.IPCP, name string, q qos.Spec) (ipcp.Port, error) {
	n := nd.net
	n.mu.Lock()
	peer := n.nodes[name]
	l := n.links[linkKey(nd.Name, name)]
	n.mu.Unlock()
	if peer == nil || l == nil {
		return nil, ctrl.Errorf(ctrl.CodeUnreachable, "simnet: no link from %s to %q", nd.Name, name)
	}
	mine, theirs, err := l.flow(n)
	if err != nil {
		return nil, err
	}
	if err := peer.IPCP.AcceptLower(name, q, theirs); err != nil {
		mine.Down(ctrl.ReasonDown)
		return nil, err
	}
	return mine, nil
}

// Arrived implements ipcp.Host: the flow goes to the handler of the name.
// The data carried back is the request's, prefixed with "re:", so that
// tests see it cross the layer both ways.
func (nd *Node) Arrived(_ context.Context, _ ipcp.IPCP, _ string, hash []byte, _ qos.Spec, data []byte) (ipcp.Port, []byte, error) {
	nd.mu.Lock()
	h := nd.handlers[string(hash)]
	nd.mu.Unlock()
	if h == nil {
		return nil, nil, ctrl.Errorf(ctrl.CodeUnreachable, "simnet: nothing accepts that name at %s", nd.Name)
	}
	n := nd.net
	app, layer := ipcp.NewPipe(pipeCapacity, n.ids.Add(1), n.ids.Add(1))
	go h(app)
	return layer, append([]byte("re:"), data...), nil
}

// Serve registers name in the node's layer and runs handler, in its own
// goroutine, for every flow that arrives for it.
func (nd *Node) Serve(name string, handler func(ipcp.Port)) error {
	h := nd.net.hash.Sum(name)
	nd.mu.Lock()
	nd.handlers[string(h)] = handler
	nd.mu.Unlock()
	return nd.IPCP.Register(h)
}

// Alloc allocates a flow from the node to name and returns the
// application's end.
func (nd *Node) Alloc(ctx context.Context, name string, q qos.Spec) (ipcp.Port, error) {
	n := nd.net
	app, layer := ipcp.NewPipe(pipeCapacity, n.ids.Add(1), n.ids.Add(1))
	if _, err := nd.IPCP.Alloc(ctx, name, n.hash.Sum(name), q, nil, layer); err != nil {
		return nil, err
	}
	return app, nil
}

// Echo is a handler that sends back every SDU it reads.
func Echo(p ipcp.Port) {
	bufs, lens := [][]byte{make([]byte, 65536)}, []int{0}
	for {
		n, err := p.ReadBatch(bufs, lens)
		if err != nil {
			return
		}
		for i := range n {
			if _, err := p.WriteBatch([][]byte{bufs[i][:lens[i]]}); err != nil {
				return
			}
		}
	}
}

// Pinger sends probes on an echoed flow and matches the echoes. One
// goroutine reads the flow for as long as it lasts, so a probe that timed
// out cannot steal a later probe's echo.
type Pinger struct {
	port    ipcp.Port
	echoes  chan string
	ended   chan struct{}
	pending atomic.Uint64
}

// NewPinger starts reading the flow.
func NewPinger(p ipcp.Port) *Pinger {
	pg := &Pinger{port: p, echoes: make(chan string, 64), ended: make(chan struct{})}
	go func() {
		defer close(pg.ended)
		bufs, lens := [][]byte{make([]byte, 256)}, []int{0}
		for {
			if _, err := p.ReadBatch(bufs, lens); err != nil {
				return
			}
			select {
			case pg.echoes <- string(bufs[0][:lens[0]]):
			default:
			}
		}
	}()
	return pg
}

// Ping sends one probe and waits for its echo.
func (pg *Pinger) Ping(ctx context.Context) (time.Duration, error) {
	msg := fmt.Sprintf("ping %d", pg.pending.Add(1))
	start := time.Now()
	if _, err := pg.port.WriteBatch([][]byte{[]byte(msg)}); err != nil {
		return 0, err
	}
	for {
		select {
		case got := <-pg.echoes:
			if got == msg {
				return time.Since(start), nil
			}
		case <-pg.ended:
			return 0, fmt.Errorf("the flow ended")
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Ping sends one probe on a fresh echoed flow and waits for its echo.
func Ping(ctx context.Context, p ipcp.Port) (time.Duration, error) {
	return NewPinger(p).Ping(ctx)
}

// Converged reports whether every node has a route to every other node.
func (n *Net) Converged() bool {
	nodes := n.Nodes()
	for _, nd := range nodes {
		routes := nd.IPCP.Routes()
		for _, o := range nodes {
			if o != nd {
				if _, ok := routes[o.IPCP.Addr()]; !ok {
					return false
				}
			}
		}
	}
	return true
}

// WaitConverged polls until the network has converged, and returns how
// long that took.
func (n *Net) WaitConverged(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	for !n.Converged() {
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("not converged after %v", time.Since(start).Round(time.Millisecond))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return time.Since(start), nil
}

// Addrs returns every node's address, by name.
func (n *Net) Addrs() map[string]addr.Addr {
	out := map[string]addr.Addr{}
	for _, nd := range n.Nodes() {
		out[nd.Name] = nd.IPCP.Addr()
	}
	return out
}
