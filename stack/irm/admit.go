package irm

// Admission of the flow requests that arrive from the layers. A request is
// a stranger's until its key exchange completes, so what irmd does for it
// is bounded, cheapest checks first (see Arrived):
//
//	name registered here? ─► an IPCP, process or program takes it?
//	    (a wait for a binding: at most maxGracePerName at a time)
//	─► under the name's and the source's caps on flows held, and on flows
//	   waiting for an acceptor? (a ticket)
//	─► under the source's and the host's rate of key exchanges? (kexrate.go)
//	─► key exchange (oap: timestamp, replay cache with a share per source)
//	─► an accepting process ─► the flow, which holds its ticket until it ends
//
// irmd starts no goroutine for a request: it runs on the IPCP's. Every
// refusal is counted by cause for the IPCP it came through (irm ipcp
// list) and logged at most once per cause per interval (refuse.go).

import (
	"log/slog"
	"net"
	"o7s.dev/ouroboros/stack/internal/rate"
	"strconv"
	"sync"

	"o7s.dev/ouroboros/internal/ratelog"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/schema"
)

// Limits bound what flow requests from the layers can make irmd hold and
// do. The zero value of a field takes its default, stack/schema's
// (irmd.conf's [irmd] table).
type Limits struct {
	// MaxFlowsPerSource caps the flows to one name that one source (an IP
	// address, a MAC, a layer address) holds at once; negative: no cap.
	// Flows through the local IPCP are not capped by source: their
	// source is this host, and irmd limits its local users by uid.
	MaxFlowsPerSource int
	// KEXRate caps the key exchanges irmd runs for arriving flows, per
	// second, all sources together (bursts of as many). Flows through the
	// local IPCP have a bucket of their own at this rate, so that neither
	// the network nor local users starve the other.
	KEXRate int
	// KEXRatePerSource caps those of one source, per second (bursts of as
	// many); flows through the local IPCP have only their KEXRate.
	KEXRatePerSource int
}

// withDefaults fills the zero fields from the schema's defaults.
func (l Limits) withDefaults() Limits {
	def := func(v *int, o schema.Option) {
		if *v == 0 {
			*v, _ = strconv.Atoi(o.Default)
		}
	}
	opts := schema.IrmdLimits()
	def(&l.MaxFlowsPerSource, opts[0])
	def(&l.KEXRate, opts[1])
	def(&l.KEXRatePerSource, opts[2])
	return l
}

// maxWaitingPerSource bounds the flows of one source to one name that wait
// for a process to accept them. Flows that passed their key exchange wait
// in turn for the name's server; without this bound one source could fill
// that queue (up to its cap on flows held) and others' flows would time out
// in it whenever the server accepts slower than the source asks.
const maxWaitingPerSource = 32

// maxWaitingPerName bounds the flows to one name from the network, all
// sources together, that wait for a process to accept them, and
// maxGracePerName those that wait for something to bind the name (the
// grace period of a server starting up). Each such request holds a
// thread of the IPCP it came through; the bounds keep a flood of them
// from holding all of them.
const (
	maxWaitingPerName = 256
	maxGracePerName   = 64
)

// admission holds the caps, rates and refusal counters of arriving flows.
type admission struct {
	lim Limits
	log ratelog.Limiter

	mu       sync.Mutex
	caps     map[string]int     // per name: flows held at once, from all sources; 0: no cap
	byName   map[string]int     // flows held (or being admitted), by name
	bySrc    map[nameSource]int // and by name and source
	waiting  map[nameSource]int // of those, not yet handed to a process
	nameWait map[string]int     // the same, by name only
	grace    map[string]int     // requests waiting for a binding, by name
	global   rate.Bucket        // the network's
	local    rate.Bucket        // the local IPCP's
	perSrc   map[string]*rate.Bucket
	overflow rate.Bucket                  // shared by the sources beyond maxRateSources
	refused  map[string]map[string]uint64 // by IPCP, by cause
}

type nameSource struct{ name, src string }

func newAdmission(lim Limits, log *slog.Logger) *admission {
	return &admission{lim: lim.withDefaults(), log: ratelog.Limiter{Logger: log},
		caps: map[string]int{}, byName: map[string]int{}, bySrc: map[nameSource]int{}, waiting: map[nameSource]int{},
		nameWait: map[string]int{}, grace: map[string]int{},
		perSrc: map[string]*rate.Bucket{}, refused: map[string]map[string]uint64{}}
}

// sourceKey names the requester of a flow that arrived through the IPCP
// called via, as src names it there: a UDP source's port is dropped (a
// host picks new ones at will), so a host is one source whatever its port.
func sourceKey(via, src string) string {
	if host, _, err := net.SplitHostPort(src); err == nil {
		src = host
	}
	return src + " via " + via
}

// ticket is a flow's place under its name's and source's caps, taken
// before its key exchange and released when the flow fails or ends. Until
// the flow is handed to a process it also counts as waiting.
type ticket struct {
	a       *admission
	key     nameSource
	waiting bool // a.mu held
	once    sync.Once
}

// reserve takes a ticket for a flow to n from source src, or says which cap
// refuses it. bySource is false for sources not capped (local).
func (a *admission) reserve(n, src string, bySource bool) (*ticket, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := nameSource{n, src}
	if c := a.caps[n]; c > 0 && a.byName[n] >= c {
		return nil, ctrl.Errorf(ctrl.CodeNotAllowed,
			"%q accepts at most %d flows at once and holds them all: raise max_flows in its [name.%s] table of /etc/ouroboros/irmd.conf", n, c, n)
	}
	if c := a.lim.MaxFlowsPerSource; bySource && c > 0 && a.bySrc[k] >= c {
		return nil, ctrl.Errorf(ctrl.CodeNotAllowed,
			"%q accepts at most %d flows from %s, which holds them all: close some, or raise max_flows_per_source in /etc/ouroboros/irmd.conf", n, c, src)
	}
	if bySource && a.waiting[k] >= maxWaitingPerSource {
		return nil, refused(causeBusy, ctrl.Errorf(ctrl.CodeNotAllowed,
			"%q has %d flows from %s waiting for its server to accept them, at most %d a source: try again later", n, a.waiting[k], src, maxWaitingPerSource))
	}
	if bySource && a.nameWait[n] >= maxWaitingPerName {
		return nil, refused(causeBusy, ctrl.Errorf(ctrl.CodeNotAllowed,
			"%q has %d flows waiting for its server to accept them, at most %d: try again later", n, a.nameWait[n], maxWaitingPerName))
	}
	a.byName[n]++
	a.bySrc[k]++
	t := &ticket{a: a, key: k}
	if bySource {
		a.waiting[k]++
		a.nameWait[n]++
		t.waiting = true
	}
	return t, nil
}

// enterGrace counts a request for n that waits for a binding, and reports
// false, counting nothing, when maxGracePerName already do; leaveGrace
// uncounts it.
func (a *admission) enterGrace(n string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.grace[n] >= maxGracePerName {
		return false
	}
	a.grace[n]++
	return true
}

func (a *admission) leaveGrace(n string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.grace[n]--; a.grace[n] <= 0 {
		delete(a.grace, n)
	}
}

// handed notes that the ticket's flow reached a process: it waits no more.
func (t *ticket) handed() {
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	t.stopWaitingLocked()
}

func (t *ticket) stopWaitingLocked() {
	if t.waiting {
		t.waiting = false
		if t.a.waiting[t.key]--; t.a.waiting[t.key] <= 0 {
			delete(t.a.waiting, t.key)
		}
		if t.a.nameWait[t.key.name]--; t.a.nameWait[t.key.name] <= 0 {
			delete(t.a.nameWait, t.key.name)
		}
	}
}

// release gives the ticket's place back; only the first call does.
func (t *ticket) release() {
	t.once.Do(func() {
		a := t.a
		a.mu.Lock()
		defer a.mu.Unlock()
		t.stopWaitingLocked()
		if a.byName[t.key.name]--; a.byName[t.key.name] <= 0 {
			delete(a.byName, t.key.name)
		}
		if a.bySrc[t.key]--; a.bySrc[t.key] <= 0 {
			delete(a.bySrc, t.key)
		}
	})
}

// SetMaxFlows caps the flows to name that arrive from the layers and that
// this host holds at once, from all sources together; 0 removes the cap.
// Flows held already stay, and count.
func (m *IRM) SetMaxFlows(name string, n int) { m.admit.setCap(name, n) }

// setCap sets the cap on the flows to n held at once; 0 removes it.
func (a *admission) setCap(n string, c int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c <= 0 {
		delete(a.caps, n)
		return
	}
	a.caps[n] = c
}

// localSource reports whether flows through the IPCP of type t come from
// this host's own processes.
func localSource(t ipcp.Type) bool { return t == ipcp.Local }
