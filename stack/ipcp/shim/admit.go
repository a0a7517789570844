package shim

import (
	"hash/maphash"
	"o7s.dev/ouroboros/stack/internal/rate"
	"sync/atomic"
)

// Limits on the work flow requests cause before the requester has proved
// anything. Every request that passes the cheap checks costs the host a
// name lookup, a key exchange (ECDH) and an application's attention; these
// bound that work and the memory it holds, whatever the request rate.
const (
	// workers answer flow requests (Host.Arrived); queueLen requests wait
	// for them. A request that finds the queue full is dropped and counted
	// (queue-full); its requester repeats it. An answer may wait for an
	// application to accept (seconds, for a program irmd starts), so there
	// are enough workers that a few slow names do not hold up the others;
	// a worker costs a few KiB, the key exchanges are rate-limited in irmd.
	workers  = 64
	queueLen = 256

	// freeRate and freeBurst bound the requests per second, from all
	// sources together, that are served without a cookie; beyond it, or
	// when the queue is a quarter full, a request without a valid cookie
	// is answered with one (cookie-challenged). Spoofed sources get at
	// most this many requests a second through.
	freeRate, freeBurst = 50, 50

	// sourceRate and sourceBurst bound the requests per second one source
	// (an IP address, a MAC) gets into the queue, and sourceHeld how many
	// of its requests may be queued or answered at once, so that one
	// source whose requests are slow to answer cannot hold every worker
	// (rate-limited beyond either).
	// A host that sets up its flows at start (a gateway's peers, a
	// burst of on-demand names) fits the burst.
	sourceRate, sourceBurst = 50, 100
	sourceHeld              = workers / 4

	// replyRate and replyBurst bound the cheap answers (COOKIE, "not
	// registered here") per source per second, so that the answers to a
	// flood cost a bounded number of sends and reflect nothing.
	replyRate, replyBurst = 50, 50

	// sourceSlots is how many token buckets hold the per-source limits:
	// sources share them by a keyed hash, so memory is fixed and spoofed
	// addresses cannot grow a table.
	sourceSlots = 4096
)

// limits are the admission state of a Core: touched only by routineRead,
// so they take no lock, except held, which the workers decrement.
type limits struct {
	seed    maphash.Seed
	free    rate.Bucket
	sources [sourceSlots]rate.Bucket  // requests admitted, by source
	replies [sourceSlots]rate.Bucket  // cheap answers sent, by source
	held    [sourceSlots]atomic.Int32 // requests queued or being answered, by source
	key     []byte                    // scratch for the source key
}

func newLimits() *limits { return &limits{seed: maphash.MakeSeed()} }

func (l *limits) slot(src []byte) int {
	return int(maphash.Bytes(l.seed, src) % sourceSlots)
}

// request is a flow request waiting for a worker.
type request[A comparable] struct {
	from A
	m    mgmt // hash and data copied out of the read buffer
	slot int  // its source's, in limits
}
