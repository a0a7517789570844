package unicast

// Admission of flow requests. A FLOW_REQ costs the responder a call into
// its IRM (a key exchange, maybe a program started), so a member, or many,
// sending them without end must cost bounded work and memory:
//
//	FLOW_REQ ─► repeat? (answered from the table)
//	         ─► per-source rate ─► global rate      (token buckets)
//	         ─► name registered? (else a refusal)
//	         ─► per-source in-flight cap ─► bounded queue ─► reqWorkers workers ─► IRM
//
// A request dropped at any step leaves no state and gets no answer: the
// requester repeats it every requestRepeat, so a legitimate one gets in on
// a later try. Drops are counted by cause in the IPCP's counters and
// logged one line per cause per interval.
//
// The source is the address the request names for its answer, which a
// member can forge; sources share a bucket when their hashes collide. One
// source (or one bucket) never holds more than reqSourceInflight of the
// queue and workers, so a flood from one address leaves the others their
// share; a member forging many source addresses is held to the global rate.

import (
	"hash/maphash"
	"log/slog"
	"o7s.dev/ouroboros/stack/internal/rate"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Bounds of flow-request admission.
const (
	// An answer may wait seconds for an application to accept (a program
	// irmd starts), so there are enough workers that a few slow names do
	// not hold up the others; a worker costs a few KiB, and irmd limits
	// the key exchanges. A host that sets up its flows at once (a
	// gateway's peers) fits the per-source burst.
	reqWorkers        = 64  // requests handed to the IRM at once
	reqQueue          = 256 // admitted requests waiting for a worker
	reqSourceInflight = 16  // requests of one source queued or being handled
	reqSourceRate     = 50  // new requests a second from one source
	reqSourceBurst    = 100 // and the burst above it
	reqGlobalRate     = 400 // new requests a second from all sources
	reqGlobalBurst    = 800
	reqSlots          = 256 // per-source state: sources hash into this many slots
)

// Why a flow request was dropped, as counted and logged.
const (
	dropSourceRate = "req-source-rate" // its source is over reqSourceRate
	dropGlobalRate = "req-rate"        // all sources are over reqGlobalRate
	dropSourceBusy = "req-source-busy" // its source has reqSourceInflight under way
	dropQueueFull  = "req-queue-full"  // reqQueue requests wait already
)

// reqSlot is one source slot: its rate and its requests under way.
type reqSlot struct {
	rate     rate.Bucket
	inflight int
}

// reqJob is an admitted flow request waiting for a worker.
type reqJob struct {
	m    faMsg
	key  reqKey
	slot int
}

// admission holds the rate limits and the queue of flow requests, under
// its own lock (a leaf: nothing else is locked while it is held).
type admission struct {
	seed  maphash.Seed
	queue chan reqJob

	mu     sync.Mutex
	global rate.Bucket
	slots  [reqSlots]reqSlot
	drops  map[string]uint64
}

func newAdmission() *admission {
	return &admission{seed: maphash.MakeSeed(), queue: make(chan reqJob, reqQueue), drops: map[string]uint64{}}
}

// slotOf maps a source to its slot, with a seed of this IPCP's so that no
// one can pick addresses that share a slot with a given source.
func (a *admission) slotOf(src addr.Addr) int {
	return int(maphash.Comparable(a.seed, src) % reqSlots)
}

// rate charges a new request from src to its source's and the global
// rate; it returns the drop cause, or "".
func (a *admission) rate(src addr.Addr, now time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := &a.slots[a.slotOf(src)]
	switch {
	case !s.rate.Take(now, reqSourceRate, reqSourceBurst):
		return a.dropLocked(dropSourceRate)
	case !a.global.Take(now, reqGlobalRate, reqGlobalBurst):
		return a.dropLocked(dropGlobalRate)
	}
	return ""
}

// enqueue queues an admitted request for a worker, unless its source has
// too many under way or the queue is full; it returns the drop cause, or
// "". A queued job's slot is released by done.
func (a *admission) enqueue(m faMsg, key reqKey) string {
	slot := a.slotOf(m.srcAddr)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.slots[slot].inflight >= reqSourceInflight {
		return a.dropLocked(dropSourceBusy)
	}
	select {
	case a.queue <- reqJob{m: m, key: key, slot: slot}:
		a.slots[slot].inflight++
		return ""
	default:
		return a.dropLocked(dropQueueFull)
	}
}

// done releases a job's place in its source's share.
func (a *admission) done(j reqJob) {
	a.mu.Lock()
	a.slots[j.slot].inflight--
	a.mu.Unlock()
}

func (a *admission) dropLocked(cause string) string {
	a.drops[cause]++
	return cause
}

// dropCounts returns the drops by cause.
func (a *admission) dropCounts() map[string]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]uint64, len(a.drops))
	for k, v := range a.drops {
		out[k] = v
	}
	return out
}

// requestDropped logs a dropped flow request, one line per cause per
// interval.
func (p *IPCP) requestDropped(cause string, m faMsg) {
	p.rl.Log(slog.LevelWarn, cause, "flow request dropped", "cause", cause, "from", m.srcAddr,
		"hint", "a member sends more flow requests than this one admits; see the req-* counters of irm ipcp list")
}

// requestWorker hands admitted flow requests to the IRM until the IPCP
// closes.
func (p *IPCP) requestWorker() {
	defer p.wg.Done()
	for {
		select {
		case j := <-p.reqs.queue:
			p.serveRequest(j.m, j.key)
			p.reqs.done(j)
		case <-p.ctx.Done():
			p.drainRequests()
			return
		}
	}
}

// drainRequests forgets the requests still queued at close.
func (p *IPCP) drainRequests() {
	for {
		select {
		case j := <-p.reqs.queue:
			p.fa.mu.Lock()
			delete(p.fa.answers, j.key)
			p.fa.mu.Unlock()
			p.reqs.done(j)
		default:
			return
		}
	}
}
