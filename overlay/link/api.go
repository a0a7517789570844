// Package link is the ovpn engine: it joins one tun or tap device to the
// flows of its peers. Packets read from the device go to the peer that the
// name routing table (tun) or the MAC table (tap) picks; SDUs read from a
// peer's flow are checked against what that peer may send and written to the
// device. Control messages (overlay/wire) share each flow: the hello
// exchange when the flow comes up (names, tunnel addresses, an address from
// the pool), echoes for the round-trip time and liveness, and refusals.
//
// The engine knows nothing of irmd or of configuration files: the ovpn
// command allocates and accepts the flows, decides who a peer is (admit),
// configures the interface's addresses and routes, and hands the flows here.
package link

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/overlay/mac"
	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/route"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/tunif"
)

// Flow is what the engine needs of a flow; *flow.Flow satisfies it.
// ReadBatch and WriteBatch move one SDU per buffer; Close ends the flow and
// unblocks a pending ReadBatch, which then returns an error.
type Flow interface {
	ReadBatch(bufs [][]byte, lens []int) (int, error)
	WriteBatch(bufs [][]byte) (int, error)
	MaxSDU() int
	Close() error
}

// Config configures a Link.
type Config struct {
	Name   string       // this end's Ouroboros name, sent in every hello
	Mode   wire.Mode    // wire.Tun or wire.Tap
	Device tunif.Device // the interface; the Link owns it from New on
	// Addrs are this end's tunnel addresses with their subnet lengths.
	// Empty: this end is a client that asks the peers it dials for
	// addresses (hello Want) and reports what it is granted (OnAddrs).
	Addrs []netip.Prefix
	// Pool grants addresses to peers that ask; nil: this end grants none
	// and refuses a peer that asks.
	Pool *pool.Pool
	// MTU is the interface MTU to keep; 0 derives it from the smallest
	// MaxSDU of the peers' flows (minus the tap tag and Ethernet header).
	MTU       int
	MSSClamp  bool          // clamp the MSS of TCP SYNs to fit the MTU
	AllowMove bool          // tap: a learned MAC may move to another peer at once
	MACAge    time.Duration // tap: MAC ageing; 0: mac.DefaultAge
	// Echo is how often a peer is sent an echo (RTT, liveness); 0: 5 s.
	// A peer from which nothing arrived for four intervals is dead: its
	// flow is closed and Peer.Done is closed.
	Echo time.Duration
	// OnAddrs, if set, is called when a grant changes this end's
	// addresses, with every address it now holds: from Add, before it
	// returns, for the first grant; from the granting peer's goroutine
	// for a later one. Only a tun end dialling without Addrs asks.
	OnAddrs func(addrs []netip.Prefix)
	// OnMTU, if set, is called when the Link changed the device's MTU.
	OnMTU func(mtu int)
	Log   *slog.Logger     // nil: slog.Default()
	Now   func() time.Time // nil: time.Now
}

// Hello is what a peer said about itself in its hello: claims, until admit
// and the configuration confirm them.
type Hello struct {
	Name   string // the name the peer claims
	Mode   wire.Mode
	MTU    int
	Addrs  []netip.Prefix // the peer's tunnel addresses
	Routes []netip.Prefix // prefixes the peer says are behind it
	Want   wire.Want      // address families it asks this end's pool for
	// Gateway is set when the flow went to a name the peer publishes for
	// a host behind it: Name is that host's, Addrs its addresses, and
	// Gateway the publishing endpoint's own name (wire.Msg.Gateway).
	Gateway string
}

// PeerConfig is what this end's configuration gives a peer: admit returns
// it once it has decided who the peer is.
type PeerConfig struct {
	// Name is the peer's name as this end knows it (proven, or as
	// claimed when authentication is off); status and logs use it, and
	// two flows with one Name are one peer (the tie-break keeps one).
	Name string
	// Routes are the prefixes behind the peer: the only ones it may send
	// from and that packets to are sent to it, besides its addresses.
	Routes []netip.Prefix
	// Lease lets the peer get addresses from the Pool when it asks.
	Lease bool
	// Proven says the peer's name was proven (certificate or pinned
	// fingerprint); shown in Status.
	Proven bool
}

// Admit decides who a peer is from its hello: it returns the peer's
// configuration, or an error whose text is sent to the peer in a refuse
// message (and logged) before the flow is closed.
type Admit func(h Hello) (PeerConfig, error)

// Link is one device and its peers. Its methods are safe for concurrent use.
type Link struct {
	cfg    Config
	log    *slog.Logger
	routes *route.Table[*Peer] // tun: where packets go, and whence they may come
	macs   *mac.Table[*Peer]   // tap: where frames go

	mu     sync.Mutex
	peers  map[string]*Peer // the peers that are up, by PeerConfig.Name
	addrs  []netip.Prefix   // this end's tunnel addresses: Config.Addrs, or granted
	closed bool

	up    atomic.Pointer[[]*Peer] // the peers that are up, for flooding
	mtu   atomic.Int32            // the device's MTU as last set or read
	mtuMu sync.Mutex              // serialises MTU changes and OnMTU calls
	drops counters                // drops before a peer was chosen
	done  chan struct{}           // closed by Close
}

// New opens a Link on cfg.Device; it does not read the device until Run.
func New(cfg Config) (*Link, error) { return newLink(cfg) }

// Run moves packets from the device to the peers until ctx ends, Close is
// called or the device fails; it returns nil in the first two cases. A
// device read cannot be interrupted but by closing the device, so ctx
// ending closes the Link. Peers move packets from their flows to the
// device from Add on, whether Run runs or not.
func (l *Link) Run(ctx context.Context) error { return l.run(ctx) }

// Add runs the hello exchange on f (dialled: this end allocated the flow)
// and, once admit accepted the peer and the exchange is done, starts moving
// its packets and returns the Peer. On any failure (refused by either end,
// a bad or missing hello before ctx ends, a duplicate that loses the
// tie-break) it closes f and returns an error saying why. If a peer with the
// same name is up already, one flow is kept: the one dialled by the end
// whose name sorts first (between two dialled by the same end, the newer);
// the other is refused with "duplicate flow", and its Add error or Peer.Err
// wraps ErrDuplicate at both ends.
func (l *Link) Add(ctx context.Context, f Flow, dialled bool, admit Admit) (*Peer, error) {
	return l.add(ctx, f, dialled, false, admit)
}

// AddOnDemand is Add for a flow this end dialled for a need of the moment
// (a name looked up through the DNS bridge): a client asks that peer for
// no address, since it keeps the ones its own peers granted it (asking
// would be refused by a peer without a pool, or move its address).
func (l *Link) AddOnDemand(ctx context.Context, f Flow, admit Admit) (*Peer, error) {
	return l.add(ctx, f, true, true, admit)
}

// Update replaces the routes (and Lease) of peers by name, atomically (a
// route moving between two peers is never unrouted); peers not named keep
// theirs. A prefix held by two peers is an error and changes nothing.
func (l *Link) Update(peers []PeerConfig) error { return l.update(peers) }

// Remove closes the flow of the named peer, if up, after sending a refuse
// message with reason.
func (l *Link) Remove(name, reason string) { l.remove(name, reason) }

// Peer returns the named peer if its flow is up, else nil.
func (l *Link) Peer(name string) *Peer { return l.peer(name) }

// Status is a snapshot of the link and its peers that are up.
func (l *Link) Status() Status { return l.status() }

// Close closes every peer's flow and the device.
func (l *Link) Close() error { return l.close() }

// Peer is a peer whose flow is up.
type Peer struct {
	l        *Link
	f        Flow
	dialled  bool
	onDemand bool // added by AddOnDemand: asks for no address
	maxSDU   int
	want     wire.Want     // what this end asked the peer's pool for
	replies  chan uint64   // cookies of echoes to answer, for keepalive to write
	rehello  chan struct{} // a hello came after the exchange: keepalive answers it
	// sentHello is this end's hello, sent again while the exchange runs
	// and to a peer that says hello again later. Set before any reader.
	sentHello *wire.Msg
	since     time.Time // set before the peer is shared

	mu     sync.Mutex // guards the fields below it
	cfg    PeerConfig
	hello  Hello
	leased []netip.Prefix // addresses this end's pool leased it
	lease  time.Duration  // renew the lease this often; 0: no lease

	wmu sync.Mutex // serialises writes to f
	txq [][]byte   // the device reader's batch for this peer; only it touches txq

	lastRx               atomic.Int64 // Unix nanoseconds of the last SDU read
	rtt                  atomic.Int64
	echoCookie, echoSent atomic.Uint64
	tx, rx               traffic
	drops                counters

	endOnce sync.Once
	ended   chan struct{}
	why     error // set before ended is closed
}

// Remove closes this peer's flow, if it is still up, after sending a
// refuse message with why. Unlike Link.Remove it never ends another flow
// that has taken the peer's name since.
func (p *Peer) Remove(why string) {
	p.refuse(why)
	p.end(fmt.Errorf("peer %s: removed: %s", p.Name(), why))
}

// Status is a snapshot of the peer, as Link.Status shows it.
func (p *Peer) Status() PeerStatus { return p.status() }

// Done is closed when the peer's flow has ended (closed, failed, refused,
// dead, replaced by a duplicate); Err then says why.
func (p *Peer) Done() <-chan struct{} { return p.done() }

// Err is why the peer's flow ended; nil while it is up.
func (p *Peer) Err() error { return p.err() }

// Status is what `ovpn status` shows of a link.
type Status struct {
	Device string         `json:"device"`
	Mode   string         `json:"mode"`
	MTU    int            `json:"mtu"`
	Addrs  []netip.Prefix `json:"addresses"`
	// Drops are packets from the device dropped before a peer was
	// chosen, by reason ("no-route", "too-big", "peer-down", ...).
	Drops map[string]uint64 `json:"drops,omitempty"`
	Peers []PeerStatus      `json:"peers"`
}

// PeerStatus is one peer that is up.
type PeerStatus struct {
	Name    string         `json:"name"`
	Proven  bool           `json:"proven"`
	Dialled bool           `json:"dialled"` // this end allocated the flow
	Addrs   []netip.Prefix `json:"addresses"`
	Routes  []netip.Prefix `json:"routes"`
	Since   time.Time      `json:"since"`
	LastRx  time.Time      `json:"last_rx"`
	RTT     time.Duration  `json:"rtt_ns"`
	// Tx and Rx count data (packets, frames) only: control messages
	// (hellos, echoes) are not traffic, so an idle flow's stay put.
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	// Drops are this peer's packets dropped, by reason ("spoofed",
	// "malformed", "bad-control", "mac-moved", "device", ...).
	Drops map[string]uint64 `json:"drops,omitempty"`
}
