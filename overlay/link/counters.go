package link

import (
	"sync/atomic"
	"time"
)

// reason is why a packet was dropped; Status reports each by its name.
type reason int

const (
	noRoute      reason = iota // tun: no peer holds the destination
	tooBig                     // larger than the peer's flow carries
	notIP                      // tun: what the device gave is not IPv4 or IPv6
	shortFrame                 // tap: shorter than an Ethernet header
	deviceRead                 // the device dropped what followed a good batch
	peerDown                   // the peer's flow failed or closed under the write
	spoofed                    // tun: source not among the peer's allowed prefixes
	malformed                  // an SDU of no kind, or of the other mode's kind
	badControl                 // a control message that did not parse or fit
	macMoved                   // tap: a source MAC learned behind another peer
	deviceWrite                // the device refused packets from the peer
	claimedRoute               // routes the peer claimed that its configuration does not give
	nReasons
)

var reasonNames = [nReasons]string{
	noRoute:      "no-route",
	tooBig:       "too-big",
	notIP:        "not-ip",
	shortFrame:   "short-frame",
	deviceRead:   "device-read",
	peerDown:     "peer-down",
	spoofed:      "spoofed",
	malformed:    "malformed",
	badControl:   "bad-control",
	macMoved:     "mac-moved",
	deviceWrite:  "device",
	claimedRoute: "claimed-route",
}

func (r reason) String() string { return reasonNames[r] }

// logEvery bounds the log lines of one drop reason of one peer (or of the
// link): a flood of bad packets costs a line per interval, not per packet,
// and the counters say how many there were.
const logEvery = 10 * time.Second

// counters counts drops by reason, and rate-limits their log lines. The
// hot path only adds to atomics.
type counters struct {
	n       [nReasons]atomic.Uint64
	nextLog [nReasons]atomic.Int64 // Unix nanoseconds before which a reason is not logged
}

// add counts k drops of r.
func (c *counters) add(r reason, k int) { c.n[r].Add(uint64(k)) }

// shouldLog reports whether a line about r may be written now (at most one
// per logEvery); callers test it before building the line's arguments, so
// that a suppressed line allocates nothing.
func (c *counters) shouldLog(r reason, now time.Time) bool {
	next := c.nextLog[r].Load()
	t := now.UnixNano()
	return t >= next && c.nextLog[r].CompareAndSwap(next, t+int64(logEvery))
}

// snapshot returns the non-zero counters by name, nil if none.
func (c *counters) snapshot() map[string]uint64 {
	var m map[string]uint64
	for r := range nReasons {
		if v := c.n[r].Load(); v != 0 {
			if m == nil {
				m = make(map[string]uint64)
			}
			m[r.String()] = v
		}
	}
	return m
}

// traffic counts packets and bytes one way.
type traffic struct {
	packets, bytes atomic.Uint64
}

func (t *traffic) add(packets, bytes int) {
	t.packets.Add(uint64(packets))
	t.bytes.Add(uint64(bytes))
}
