package ca

import (
	"sync"
	"sync/atomic"
	"time"
)

// minBurst is the smallest burst a Policer allows: 8 full-size packets.
const minBurst = 8 * 1500

// Policer enforces a flow's declared bandwidth with a token bucket: tokens
// accrue at the declared rate up to the burst size, and a packet passes if
// the bucket holds tokens for it. The caller drops the packets it refuses.
// A Policer is safe for concurrent use.
type Policer struct {
	mu      sync.Mutex
	perNs   float64 // tokens (bytes) per nanosecond; 0: unlimited
	burst   float64 // bucket size in bytes
	tokens  float64 // may go negative after a packet larger than the burst
	last    time.Time
	dropped atomic.Uint64
}

// NewPolicer returns a policer for bitsPerSec (0: unlimited) with a burst
// of max(burstBytes, 8 packets of 1500 bytes), starting with a full bucket
// at now.
func NewPolicer(bitsPerSec uint64, burstBytes int, now time.Time) *Policer {
	burst := float64(max(burstBytes, minBurst))
	return &Policer{perNs: float64(bitsPerSec) / 8e9, burst: burst, tokens: burst, last: now}
}

// Allow reports whether a packet of n bytes at now is within the declared
// bandwidth, and takes its tokens if so; otherwise it counts a drop. A
// packet larger than the burst passes when the bucket is full and leaves
// it in debt, so large packets are delayed, not starved, and the long-run
// rate still holds.
func (p *Policer) Allow(n int, now time.Time) bool {
	if p.perNs == 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := now.Sub(p.last); d > 0 { // a clock stepping back adds nothing
		p.tokens = min(p.burst, p.tokens+float64(d)*p.perNs)
		p.last = now
	}
	need := min(float64(n), p.burst)
	if p.tokens < need {
		p.dropped.Add(1)
		return false
	}
	p.tokens -= float64(n)
	return true
}

// Dropped returns the number of packets Allow refused.
func (p *Policer) Dropped() uint64 { return p.dropped.Load() }
