package irm

import (
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/schema"
)

// LocalLimits bound what one local user's processes may hold in irmd, so that
// no user starves irmd of descriptors or memory and through it every other
// user. Root and irmd's own user are not limited: they run the host's
// services, and must get through whatever others do. Zero fields take the
// defaults of stack/schema's [irmd] options.
type LocalLimits struct {
	ConnsPerUID     int           // control connections of one user
	FlowsPerUID     int           // flows held by one user's processes
	FlowsPerProcess int           // flows held by one process
	HelloTimeout    time.Duration // a connection's time to say hello
}

func (l *LocalLimits) fill() {
	def := func(v *int, key string) {
		if *v <= 0 {
			*v = schema.IrmdLocalDefault(key)
		}
	}
	def(&l.ConnsPerUID, schema.MaxConnsPerUID)
	def(&l.FlowsPerUID, schema.MaxFlowsPerUID)
	def(&l.FlowsPerProcess, schema.MaxFlowsPerProcess)
	if l.HelloTimeout <= 0 {
		l.HelloTimeout = time.Duration(schema.IrmdLocalDefault(schema.HelloTimeout)) * time.Millisecond
	}
}

// limiter counts what each user and process holds against LocalLimits.
type limiter struct {
	cfg LocalLimits

	mu       sync.Mutex
	conns    map[int]int // by uid
	flowsUID map[int]int
	flowsPID map[int]int
}

func newLimiter(cfg LocalLimits) *limiter {
	cfg.fill()
	return &limiter{cfg: cfg, conns: make(map[int]int), flowsUID: make(map[int]int), flowsPID: make(map[int]int)}
}

// unlimited reports whether uid is free of the limits: root or irmd's user.
func unlimited(uid int) bool { return uid == 0 || uid == selfUID() }

// addConn counts a new connection of pr's user, or says why it is refused.
func (l *limiter) addConn(pr *proc) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.conns[pr.uid]
	if !unlimited(pr.uid) && n >= l.cfg.ConnsPerUID {
		return ctrl.Errorf(ctrl.CodeNotAllowed,
			"uid %d holds %d control connections to irmd, the limit (%s in [irmd] of irmd.conf): close some, or ask the administrator to raise it",
			pr.uid, n, schema.MaxConnsPerUID)
	}
	l.conns[pr.uid] = n + 1
	return nil
}

// dropConn uncounts a connection addConn counted.
func (l *limiter) dropConn(pr *proc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	decr(l.conns, pr.uid)
}

// addFlow counts a new flow of pr, or says why it is refused.
func (l *limiter) addFlow(pr *proc) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !unlimited(pr.uid) {
		if n := l.flowsPID[pr.pid]; n >= l.cfg.FlowsPerProcess {
			return ctrl.Errorf(ctrl.CodeNotAllowed,
				"process %d holds %d flows, the limit (%s in [irmd] of irmd.conf): deallocate some, or ask the administrator to raise it",
				pr.pid, n, schema.MaxFlowsPerProcess)
		}
		if n := l.flowsUID[pr.uid]; n >= l.cfg.FlowsPerUID {
			return ctrl.Errorf(ctrl.CodeNotAllowed,
				"uid %d holds %d flows, the limit (%s in [irmd] of irmd.conf): deallocate some, or ask the administrator to raise it",
				pr.uid, n, schema.MaxFlowsPerUID)
		}
	}
	l.flowsPID[pr.pid]++
	l.flowsUID[pr.uid]++
	return nil
}

// dropFlow uncounts a flow addFlow counted.
func (l *limiter) dropFlow(pr *proc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	decr(l.flowsPID, pr.pid)
	decr(l.flowsUID, pr.uid)
}

// decr lowers a count, forgetting it at zero so that the maps hold only
// the users and processes that hold something.
func decr(m map[int]int, k int) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

// refusedHelloTimeout is how long a connection over its user's limit may
// take to say the hello that its refusal answers.
const refusedHelloTimeout = 250 * time.Millisecond

// Backoff of the accept loop, as net/http's: from min, doubling, to max.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptBackoff returns how long to wait after accept failed with err,
// given the previous wait: the errors that pass once descriptors or memory
// are freed (EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED) back off and are
// logged at most once per interval; 0 for the others, which end Serve.
func (m *IRM) acceptBackoff(err error, prev time.Duration) time.Duration {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return 0
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED:
	default:
		return 0
	}
	next := min(max(2*prev, acceptBackoffMin), acceptBackoffMax)
	m.refusals.Log(slog.LevelError, "accept "+errno.Error(), "control socket: cannot accept connections; retrying",
		"err", err, "retry in", next)
	return next
}

// reclaimAfter is how many flows and connections end before irmd hands
// the memory they held back to the system; reclaimEvery spaces the
// returns, which stop the world for a moment, and reclaimSettle lets the
// rest of a burst end before one.
const (
	reclaimAfter  = 256
	reclaimEvery  = time.Second
	reclaimSettle = 200 * time.Millisecond
)

// reclaimer returns memory to the system after a burst of flows or
// connections has ended: Go keeps freed heap for reuse, so without it
// irmd's resident size stays at its peak after one process held
// thousands of flows.
type reclaimer struct {
	freed     atomic.Int64
	scheduled atomic.Bool
	mu        sync.Mutex
	last      time.Time
}

// note counts n ended flows or connections, and schedules a return once
// enough have. What ends while one is under way counts toward the next.
func (r *reclaimer) note(n int) {
	if r.freed.Add(int64(n)) < reclaimAfter || !r.scheduled.CompareAndSwap(false, true) {
		return
	}
	r.mu.Lock()
	wait := max(time.Until(r.last.Add(reclaimEvery)), reclaimSettle)
	r.mu.Unlock()
	time.AfterFunc(wait, func() {
		r.freed.Store(0)
		debug.FreeOSMemory()
		r.mu.Lock()
		r.last = time.Now()
		r.mu.Unlock()
		r.scheduled.Store(false)
		r.note(0)
	})
}
