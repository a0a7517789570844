// Package shim is what the shim IPCPs (udp4, udp6, eth-dix, eth-llc) share:
// flows over a datagram transport, allocated with one request and one
// reply, addressed by endpoint ids, with deallocation and keepalives. Each
// shim type supplies a Transport (its socket and framing) and a way to
// resolve a name to a transport address.
//
//	app ═socket═► Port ─► routineSend (per flow) ─► [eid|SDU] ─► Transport.WriteBatch
//	app ◄═socket═ Port ◄─ TryWriteBatch ◄─ routineRead (one) ◄─ Transport.ReadBatch
//
// Receiving never blocks on an application: what does not fit its socket
// is dropped and counted, like any loss in a layer. Datagrams that do not
// parse, name an unknown endpoint or come from the wrong address are
// dropped and counted, and logged at most once per interval.
package shim

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"o7s.dev/ouroboros/internal/ratelog"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// Msg is one datagram: Buf[:N] to or from Addr.
type Msg[A comparable] struct {
	Buf  []byte
	N    int
	Addr A
}

// Transport is a shim's datagram socket with its framing.
//
// ReadBatch blocks until at least one datagram arrives and fills msgs[i]
// (N and Addr are set; it may swap the Bufs of entries, as long as every
// Buf stays one of the caller's); it returns an error once the transport is
// closed. WriteBatch sends msgs[i].Buf[:N] to msgs[i].Addr and
// may be called from many goroutines. MTU is the largest Buf[:N] it carries.
type Transport[A comparable] interface {
	ReadBatch(msgs []Msg[A]) (int, error)
	WriteBatch(msgs []Msg[A]) (int, error)
	MTU() int
	Close() error
}

// Resolver finds the transport address that answers for a name (known to
// the layer by hash), bounded by ctx.
type Resolver[A comparable] func(ctx context.Context, name string, hash []byte) (A, error)

// Config configures a Core.
type Config[A comparable] struct {
	Name      string // the IPCP's name
	Type      ipcp.Type
	Host      ipcp.Host
	Log       *slog.Logger
	Keepalive time.Duration // idle flows send a keepalive at least this often (default 5 s)
	// Dead is how long a flow's peer may be silent (no data, no
	// keepalive) before the flow ends (default 15 s); idle flows send
	// keepalives at least every Dead/3, so that a live peer never is.
	Dead time.Duration
	// AppendAddr appends the bytes of an address (what cookies are bound
	// to) and AppendSource those of its source (what the per-source limits
	// count: for UDP the IP without the port). Default: fmt.Append.
	AppendAddr, AppendSource func(b []byte, a A) []byte
}

// Core runs the shim protocol over a Transport. The IPCP types embed it and
// add Bootstrap and Info.
type Core[A comparable] struct {
	cfg     Config[A]
	log     *slog.Logger
	tr      Transport[A]
	resolve Resolver[A]
	self    ipcp.IPCP // the embedding IPCP, handed to Host.Arrived

	mu         sync.Mutex
	hashAlgo   ipcp.HashAlgo
	names      map[string]struct{}     // registered hashes
	flows      map[uint32]*flow[A]     // by local eid
	byPeer     map[peerKey[A]]*flow[A] // by peer address and peer eid
	arriving   map[peerKey[A]]struct{} // requests being answered
	pending    map[uint32]waiter[A]    // allocations waiting for a reply
	queries    map[string][]chan A     // name queries waiting for a reply
	cache      map[string]cached[A]    // answered name queries
	unanswered map[string]time.Time    // queries nobody answered, until when they are asked again
	closed     bool

	stats   Stats
	refused ratelog.Limiter // logs refusals strangers can cause
	lim     *limits         // routineRead's only
	cookies cookies
	queue   chan request[A] // flow requests for the workers
	done    chan struct{}
	wg      sync.WaitGroup
}

type peerKey[A comparable] struct {
	addr A
	eid  uint32
}

// waiter is an allocation waiting for its reply (or a cookie) from peer.
type waiter[A comparable] struct {
	ch   chan mgmt
	peer A
}

type cached[A comparable] struct {
	addr    A
	expires time.Time
}

// Stats counts what a Core dropped and why; see Counters.
type Stats struct {
	Malformed, WrongVersion, UnknownEID, WrongSource, AppFull, Oversized atomic.Uint64
	// Flow requests not served (see admit.go) and forged control messages.
	Unregistered, Challenged, BadCookie, RateLimited, QueueFull, Forged atomic.Uint64
	lastLog                                                             atomic.Int64
}

// New returns a Core that is not running yet; Start runs it over a transport.
func New[A comparable](cfg Config[A], self ipcp.IPCP) *Core[A] {
	if cfg.Keepalive == 0 {
		cfg.Keepalive = DefaultKeepalive
	}
	if cfg.Dead == 0 {
		cfg.Dead = DefaultDead
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.AppendAddr == nil {
		cfg.AppendAddr = func(b []byte, a A) []byte { return fmt.Append(b, a) }
	}
	if cfg.AppendSource == nil {
		cfg.AppendSource = cfg.AppendAddr
	}
	log := cfg.Log.With("ipcp", cfg.Name)
	return &Core[A]{
		cfg: cfg, log: log, self: self, hashAlgo: ipcp.DefaultHash,
		names: make(map[string]struct{}), flows: make(map[uint32]*flow[A]), byPeer: make(map[peerKey[A]]*flow[A]),
		arriving: make(map[peerKey[A]]struct{}), pending: make(map[uint32]waiter[A]),
		queries: make(map[string][]chan A), cache: make(map[string]cached[A]), unanswered: make(map[string]time.Time),
		refused: ratelog.Limiter{Logger: log}, lim: newLimits(), queue: make(chan request[A], queueLen),
		done: make(chan struct{}),
	}
}

// Defaults of Config.
const (
	DefaultKeepalive = 5 * time.Second
	DefaultDead      = 15 * time.Second
)

// SetKeepalive changes the keepalive interval and the dead timeout (zero:
// the default); call it before Start.
func (c *Core[A]) SetKeepalive(keepalive, dead time.Duration) {
	c.cfg.Keepalive, c.cfg.Dead = cmp.Or(keepalive, DefaultKeepalive), cmp.Or(dead, DefaultDead)
}

// keepalive is how often idle flows send a keepalive: the configured
// interval, but at least three times per dead timeout.
func (c *Core[A]) keepalive() time.Duration { return min(c.cfg.Keepalive, c.cfg.Dead/3) }

// Start runs the core over tr, resolving names with resolve.
func (c *Core[A]) Start(tr Transport[A], resolve Resolver[A], hash ipcp.HashAlgo) {
	c.mu.Lock()
	c.tr, c.resolve, c.hashAlgo = tr, resolve, hash
	c.mu.Unlock()
	c.wg.Add(2 + workers)
	go c.routineRead()
	go c.routineKeepalive()
	for range workers {
		go c.routineArrive()
	}
}

// Running reports whether Start was called.
func (c *Core[A]) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tr != nil
}

// Hash returns the layer's hash algorithm.
func (c *Core[A]) Hash() ipcp.HashAlgo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hashAlgo
}

// Flows returns how many flows run.
func (c *Core[A]) Flows() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.flows)
}

// Counters returns the drop counters by name, for listings.
func (c *Core[A]) Counters() map[string]uint64 {
	return map[string]uint64{
		"malformed": c.stats.Malformed.Load(), "wrong-version": c.stats.WrongVersion.Load(),
		"unknown-eid": c.stats.UnknownEID.Load(), "wrong-source": c.stats.WrongSource.Load(),
		"app-full": c.stats.AppFull.Load(), "oversized": c.stats.Oversized.Load(),
		"unregistered": c.stats.Unregistered.Load(), "cookie-challenged": c.stats.Challenged.Load(),
		"bad-cookie": c.stats.BadCookie.Load(), "rate-limited": c.stats.RateLimited.Load(),
		"queue-full": c.stats.QueueFull.Load(), "forged-teardown": c.stats.Forged.Load(),
	}
}

// MaxSDU is the largest SDU a flow carries.
func (c *Core[A]) MaxSDU() int {
	c.mu.Lock()
	tr := c.tr
	c.mu.Unlock()
	if tr == nil {
		return 0
	}
	return tr.MTU() - dataHeader
}

// Register implements ipcp.IPCP.
func (c *Core[A]) Register(hash []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tr == nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "ipcp %s is not in a layer yet: bootstrap it first", c.cfg.Name)
	}
	c.names[string(hash)] = struct{}{}
	return nil
}

// Unregister implements ipcp.IPCP.
func (c *Core[A]) Unregister(hash []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.names, string(hash))
	return nil
}

func (c *Core[A]) registered(hash []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.names[string(hash)]
	return ok
}

// Reachable implements ipcp.IPCP: the name resolves to an address.
func (c *Core[A]) Reachable(ctx context.Context, name string, hash []byte) bool {
	if !c.Running() {
		return false
	}
	_, err := c.resolve(ctx, name, hash)
	return err == nil
}

// newEID picks a random, unused, non-zero endpoint id. c.mu held.
func (c *Core[A]) newEIDLocked() uint32 {
	var b [4]byte
	for {
		rand.Read(b[:])
		eid := binary.BigEndian.Uint32(b[:])
		if _, used := c.flows[eid]; eid != 0 && !used {
			if _, waiting := c.pending[eid]; !waiting {
				return eid
			}
		}
	}
}

// Alloc implements ipcp.IPCP: one request, one reply. The request is
// repeated with backoff until the reply or ctx's end, since datagrams get
// lost; the responder recognises repeats.
func (c *Core[A]) Alloc(ctx context.Context, name string, hash []byte, q qos.Spec, data []byte, port ipcp.Port) ([]byte, error) {
	if !c.Running() {
		return nil, ctrl.Errorf(ctrl.CodeUnreachable, "ipcp %s is not bootstrapped", c.cfg.Name)
	}
	mine := newCreds()
	m := mgmt{code: codeFlowReq, qos: q, hash: hash, data: data, token: mine.token, secret: mine.commit(), cookie: make([]byte, secretLen)}
	req := encodeMgmt(make([]byte, 0, 128+len(hash)+len(data)), &m)
	if len(data) > ipcp.MaxAllocData || len(req) > c.MaxSDU()+dataHeader {
		return nil, ctrl.Errorf(ctrl.CodeInvalid, "%s: the flow request (%d bytes with its key exchange) does not fit a packet of this layer (%d)",
			c.cfg.Name, len(req), c.MaxSDU()+dataHeader)
	}
	peer, err := c.resolve(ctx, name, hash)
	if err != nil {
		return nil, ctrl.Errorf(ctrl.CodeUnreachable, "%s: cannot resolve %q: %v", c.cfg.Name, name, err)
	}
	c.mu.Lock()
	eid := c.newEIDLocked()
	replies := make(chan mgmt, 1)
	c.pending[eid] = waiter[A]{replies, peer}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, eid)
		c.mu.Unlock()
	}()
	m.srcEID, m.cookie = eid, nil
	req = encodeMgmt(req[:0], &m)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		c.send(peer, req)
		select {
		case r := <-replies:
			if r.code == codeCookie {
				// The responder is under load: repeat at once, with the
				// cookie that proves this host receives at its address.
				m.cookie = r.secret[:]
				req = encodeMgmt(req[:0], &m)
				wait /= 2
				continue
			}
			return r.data, c.allocated(eid, mine, r, peer, q, port, name)
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctrl.Errorf(ctrl.CodeTimeout, "%s: no answer from %v for %q", c.cfg.Name, peer, name)
		case <-c.done:
			return nil, ctrl.Errorf(ctrl.CodeDown, "%s is shutting down", c.cfg.Name)
		}
	}
}

func (c *Core[A]) allocated(eid uint32, mine creds, r mgmt, peer A, q qos.Spec, port ipcp.Port, name string) error {
	switch r.result {
	case resultOK:
	case resultUnreachable:
		return ctrl.Errorf(ctrl.CodeUnreachable, "%v answers for %q but nothing there accepts it%s", peer, name, because(r.reason))
	default:
		return ctrl.Errorf(ctrl.CodeNotAllowed, "the host at %v refused the flow to %q%s", peer, name, because(r.reason))
	}
	return c.startFlow(&flow[A]{local: eid, remote: r.srcEID, peer: peer, port: port, mine: mine, peerToken: r.token, peerCommit: r.secret})
}

// Close implements ipcp.IPCP: flows are deallocated at the peers and
// reported down to their applications.
func (c *Core[A]) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	flows := make([]*flow[A], 0, len(c.flows))
	for _, f := range c.flows {
		flows = append(flows, f)
	}
	tr := c.tr
	c.mu.Unlock()
	for _, f := range flows {
		c.endFlow(f, ctrl.ReasonDown, true)
	}
	var err error
	if tr != nil {
		err = tr.Close()
	}
	c.wg.Wait()
	return err
}

// DownAll ends every flow as down (the link went down): applications learn
// at once; the peers learn from their own link or keepalives.
func (c *Core[A]) DownAll() {
	c.mu.Lock()
	flows := make([]*flow[A], 0, len(c.flows))
	for _, f := range c.flows {
		flows = append(flows, f)
	}
	c.mu.Unlock()
	for _, f := range flows {
		c.endFlow(f, ctrl.ReasonDown, false)
	}
}

// logDrop logs drops at most every 10 s, so that hostile input cannot fill
// the log.
func (c *Core[A]) logDrop(what string, from A) {
	now := time.Now().UnixNano()
	last := c.stats.lastLog.Load()
	if now-last < int64(10*time.Second) || !c.stats.lastLog.CompareAndSwap(last, now) {
		return
	}
	c.log.Warn("dropping bad datagrams (logged once per 10 s)", "latest", what, "from", fmt.Sprint(from), "counters", c.Counters())
}

// because appends a peer's reason for refusing a flow, if it gave one, as
// it reads, or quoted if it holds characters that do not print. It is
// marked as said "there": any command it suggests is for the peer's host.
func because(reason string) string {
	switch {
	case reason == "":
		return ""
	case strings.ContainsFunc(reason, func(r rune) bool { return !unicode.IsPrint(r) }):
		// It comes from the network: nothing in it may pass for another
		// line of a log or a terminal control sequence.
		return "; there: " + strconv.Quote(reason)
	}
	return "; there: " + reason
}
