// Package irm is the IPC resource manager: the heart of irmd. It keeps the
// host's registry of IPCPs, names, bindings and processes, and brokers flows:
// an allocation goes to the layer where the name is reachable, and a flow
// arriving for a name goes to a process accepting for it, by the name's
// load-balancing policy, starting a bound program when nobody accepts.
//
// Layered IPCPs (unicast) are members of the host like the others, and the
// IRM is also their ipcp.Lower: it allocates their flows to neighbours
// through the layers below them (AllocLower), and hands them the flows
// that arrive for the names bound to them (their own and their layer's),
// through in-memory pipes (lower.go).
//
// Programs talk to the IRM over the control socket (package ctrl); Serve
// answers them. The daemon's configuration is applied through the same
// methods that serve the irm tool, so both behave alike.
package irm

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/internal/ratelog"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
)

// Config configures an IRM.
type Config struct {
	// Log receives the IRM's log; nil discards it.
	Log *slog.Logger
	// Version is reported to clients.
	Version string
	// BindGrace is how long a flow request for a name nobody is bound to
	// waits for a binding to appear (a server that is still starting).
	// Default 1 s.
	BindGrace time.Duration
	// AllocTimeout bounds an allocation whose caller set no deadline.
	// Default 20 s.
	AllocTimeout time.Duration
	// Limits bound what flow requests from the layers make irmd hold and
	// do; the zero value takes the defaults.
	Limits Limits
	// RunDir is passed to auto-started programs as OUROBOROS_RUNDIR.
	RunDir string
	// Local bounds what one local user's processes may hold.
	Local LocalLimits
	// MgmtGroup, if not 0, is the gid of a group whose members may manage
	// the IRM as root does ([irmd] group).
	MgmtGroup int
	// IPCPFactory, if set, builds IPCPs in place of the IRM's own types;
	// it returns nil to leave a type to the IRM. host and lower are the
	// IRM. Tests use it to host doubles of layered IPCPs.
	IPCPFactory func(name string, t ipcp.Type, host ipcp.Host, lower ipcp.Lower) ipcp.IPCP
}

// IRM is the IPC resource manager. Its methods are safe for concurrent use.
type IRM struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	ipcps   map[string]*ipcpEntry
	names   map[string]*name
	procs   map[*proc]struct{}
	ports   map[uint64]*port
	lowers  map[uint64]*lowerFlow // flows of layered IPCPs over lower layers, by the owner's end's id
	changed chan struct{}         // closed and replaced when accepters or bindings change
	closed  bool

	crypt *flowCrypt
	admit *admission

	limits   *limiter
	refusals ratelog.Limiter // logs of what strangers and local users can trigger
	reclaim  reclaimer

	nextID  atomic.Uint64
	nextSeq uint64         // orders connections; m.mu held
	wg      sync.WaitGroup // connection and auto-start goroutines
}

// New returns an IRM with no IPCPs and no names.
func New(cfg Config) *IRM {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.BindGrace == 0 {
		cfg.BindGrace = time.Second
	}
	if cfg.AllocTimeout == 0 {
		cfg.AllocTimeout = 20 * time.Second
	}
	return &IRM{
		cfg:      cfg,
		log:      cfg.Log,
		ipcps:    make(map[string]*ipcpEntry),
		names:    make(map[string]*name),
		procs:    make(map[*proc]struct{}),
		ports:    make(map[uint64]*port),
		lowers:   make(map[uint64]*lowerFlow),
		changed:  make(chan struct{}),
		crypt:    newFlowCrypt(),
		admit:    newAdmission(cfg.Limits, cfg.Log),
		limits:   newLimiter(cfg.Local),
		refusals: ratelog.Limiter{Logger: cfg.Log},
	}
}

// signalLocked wakes everyone waiting for accepters or bindings. m.mu held.
func (m *IRM) signalLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// track counts a goroutine that Close waits for, unless the IRM is closed
// (it reports false): an Add after Close's Wait began would race with it.
func (m *IRM) track() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	return true
}

// Close tells every flow's users that it is down, destroys the IPCPs and
// ends the control connections.
func (m *IRM) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	entries := make([]*ipcpEntry, 0, len(m.ipcps))
	for _, e := range m.ipcps {
		entries = append(entries, e)
	}
	m.signalLocked()
	m.mu.Unlock()

	for _, e := range entries {
		if err := e.ipcp.Close(); err != nil {
			m.log.Warn("closing IPCP", "ipcp", e.name, "err", err)
		}
	}
	m.mu.Lock()
	ports := make([]*port, 0, len(m.ports))
	for _, p := range m.ports {
		ports = append(ports, p)
	}
	procs := make([]*proc, 0, len(m.procs))
	for p := range m.procs {
		procs = append(procs, p)
	}
	lowers := make([]*lowerFlow, 0, len(m.lowers))
	for _, f := range m.lowers {
		lowers = append(lowers, f)
	}
	m.mu.Unlock()
	for _, p := range ports {
		p.Down(reasonDown)
	}
	// The IPCPs have ended their flows; this catches what they left.
	for _, f := range lowers {
		f.down(reasonDown)
	}
	for _, p := range procs {
		if p.conn != nil { // nil only for registry tests' stand-ins
			p.conn.Close()
		}
	}
	m.wg.Wait()
	return nil
}

// selfUID is the uid irmd runs as; it and root may manage the IRM.
func selfUID() int { return os.Getuid() }

// ipcpEntry is an IPCP hosted by the IRM.
type ipcpEntry struct {
	name  string
	typ   ipcp.Type
	ipcp  ipcp.IPCP
	names map[string]struct{} // names registered in it
	// joining is the layer an enrolment in progress names, so that the
	// IPCP's flows skip that layer before the IPCP reports it. m.mu held.
	joining string
	// identity authenticates a layered IPCP to its layer's other members;
	// nil in an open layer. m.mu held.
	identity *layerIdentity
	// enrolment is an enrolment not done yet, for the list; nil when
	// none is under way or retried. m.mu held.
	enrolment *ctrl.Enrolment
	// flowRejected sums the packets that applications reported rejected
	// on the IPCP's flows, ended ones included (report.go).
	flowRejected atomic.Uint64
}
