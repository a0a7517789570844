package ca

import (
	"sync"
	"time"
)

// Sender parameters. Amounts per slot are for the initial slot of 2^24 ns
// (16.8 ms).
const (
	initSlotShift = 24       // initial slot: 2^24 ns
	minSlotShift  = 12       // shortest slot: 4 µs, for links far beyond 10 Gbit/s
	maxSlotShift  = 30       // longest slot: 1.07 s
	initLimit     = 64 << 10 // initial limit per slot: 3.9 MB/s
	increase      = 64 << 10 // additive increase per slot
	floorLimit    = 1 << 10  // the limit never drops below this rate (61 kB/s)
	maxLimit      = 1 << 40  // nor rises above this, keeping products in range
	minPkts       = 8        // fewer packets per slot: lengthen the slot
	maxPkts       = 64       // more: shorten it
	mdShift       = 13       // decrease by ece/8192 of the limit per slot
	burstDiv      = 8        // a slot's first eighth may go at once; the rest is paced
	quietSlots    = 8        // slots without an update that end congestion
	maxWait       = time.Second
)

// Sender is the sending side of one flow: a rate limit, in bytes per time
// slot, adjusted by AIMD on the congestion level (ECE) the receiver feeds
// back. It starts in slow start, doubling the limit after every slot the
// flow used fully, until the first update reporting congestion. From then
// on, at the end of each slot, the limit shrinks by ece/8192 of itself
// while the last update reports congestion (ece up to about 8160, see
// Receiver), and otherwise grows by 64 KiB if the flow used it fully. The
// slot length rescales so that a slot holds 8 to 64 packets: long enough
// to average over, short enough to react; the limit scales with it, so
// the rate stays. A Sender is safe for concurrent use.
//
// The decrease is applied once per slot, not on every update: updates
// come every 8 packets, and cutting on each of them makes the cuts per
// round trip grow with the bandwidth-delay product, which collapses the
// rate on long paths (see the tests' fluid model).
type Sender struct {
	mu        sync.Mutex
	origin    time.Time // time 0 of the slot clock
	start     int64     // current slot's start, ns since origin
	shift     uint      // slot length is 2^shift ns
	limit     int64     // bytes per slot
	used      int64     // bytes accounted to the current slot; above limit: a debt for the next slots
	pkts      int64     // packets admitted in the current slot
	slowStart bool
	ece       uint16 // congestion level of the last update; 0: none
	quiet     int64  // slots ended since the last update
}

// NewSender returns a sender in slow start at the initial rate, its first
// slot starting at now.
func NewSender(now time.Time) *Sender {
	return &Sender{origin: now, shift: initSlotShift, limit: initLimit, slowStart: true}
}

// Update takes a flow update from the receiver with congestion level ece,
// which holds until the next update: ece > 0 ends slow start, and the
// limit decreases at the end of every slot while it holds; ece 0 lets the
// limit grow again. If no update comes for 8 slots, the sender assumes the
// one ending congestion was lost and acts as if ece were 0.
func (s *Sender) Update(ece uint16, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.clock(now))
	s.ece, s.quiet = ece, 0
	if ece > 0 {
		s.slowStart = false
	}
}

// Admit accounts for n bytes about to be sent at now and returns how long
// the sender should wait first (0: send now), capped at 1 s. Within a slot
// an eighth of the limit may go at once and the rest is paced evenly over
// the slot, so a flow does not dump a whole slot's worth of packets into
// the queues on its path, where they would count as congestion. Bytes
// beyond the limit are carried into the next slots, so the long-run rate
// is the limit's even for packets larger than it.
func (s *Sender) Admit(n int, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.clock(now)
	s.advance(t)
	s.used += int64(max(n, 0))
	s.pkts++
	var at int64 // when the bytes are within the allowance
	if s.used <= s.limit {
		at = s.start + s.paced(s.used)
	} else {
		slots := (s.used - 1) / s.limit // whole slots the bytes need beyond this one
		at = s.start + slots<<s.shift
	}
	return min(time.Duration(max(at-t, 0)), maxWait)
}

// Rate returns the current limit in bytes per second.
func (s *Sender) Rate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(s.limit) * 1e9 / float64(int64(1)<<s.shift)
}

// SlowStart reports whether the sender is still in slow start.
func (s *Sender) SlowStart() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slowStart
}

// clock returns now in ns since the origin; never before the current slot,
// so a clock stepping back cannot corrupt the accounting.
func (s *Sender) clock(now time.Time) int64 {
	return max(now.Sub(s.origin).Nanoseconds(), s.start)
}

// paced returns how far into the slot its allowance reaches used bytes:
// the first eighth of the limit at once, the rest evenly over the slot.
func (s *Sender) paced(used int64) int64 {
	burst := s.limit / burstDiv
	if used <= burst {
		return 0
	}
	// Float: (used-burst) << shift can exceed 64 bits.
	return int64(float64(used-burst) / float64(s.limit) * float64(int64(1)<<s.shift))
}

// advance ends the current slot if t is past it: the limit adapts to the
// congestion level and to how the slot was used, the slot length to how
// many packets it held, and bytes beyond the limit carry over as debt.
func (s *Sender) advance(t int64) {
	elapsed := (t - s.start) >> s.shift // slots ended
	if elapsed == 0 {
		return
	}
	debt := s.debt(elapsed)
	if s.quiet += elapsed; s.quiet > quietSlots {
		s.ece = 0 // the update ending congestion got lost: resume increase
	}
	s.adapt(elapsed == 1 && s.used >= s.limit)
	s.start += elapsed << s.shift
	s.rescale(s.pkts / elapsed)
	// A shorter slot may leave t several slots ahead of start.
	s.start += (t - s.start) >> s.shift << s.shift
	s.used, s.pkts = debt, 0
}

// adapt is the AIMD step at the end of a slot; limited says the flow used
// the whole limit.
func (s *Sender) adapt(limited bool) {
	switch {
	case s.slowStart:
		if limited {
			s.limit = s.bounded(2 * s.limit)
		}
	case s.ece > 0:
		cut := min(int64(s.ece), 1<<mdShift-1) // ece comes from the network
		s.limit = s.bounded(s.limit - s.limit*cut>>mdShift)
	case limited:
		s.limit = s.bounded(s.limit + s.increase())
	}
}

// debt returns the bytes accounted beyond what elapsed slots of the
// current limit allow, without overflowing after a long idle time.
func (s *Sender) debt(elapsed int64) int64 {
	over := s.used - s.limit
	if over <= 0 || elapsed-1 >= (over+s.limit-1)/s.limit {
		return 0
	}
	return over - s.limit*(elapsed-1)
}

// rescale lengthens or shortens the slot by powers of two until perSlot
// packets would fit within [minPkts, maxPkts], scaling the limit with it.
func (s *Sender) rescale(perSlot int64) {
	if perSlot == 0 {
		perSlot = 1 // an idle stretch: lengthen once, then judge again
	}
	for perSlot < minPkts && s.shift < maxSlotShift {
		s.shift++
		s.limit = s.bounded(2 * s.limit)
		perSlot *= 2
	}
	for perSlot > maxPkts && s.shift > minSlotShift {
		s.shift--
		s.limit = s.bounded(s.limit / 2)
		perSlot /= 2
	}
}

// increase returns the additive increase for one slot: 64 KiB, in a
// slot of the initial length or longer; in a shorter slot less, by the
// square of the ratio, which keeps the growth per unit of time: a fast
// flow, whose slots are short, gains at most about 3.9 MB/s every 16.8 ms,
// like a slow one, instead of that much every one of its short slots.
func (s *Sender) increase() int64 {
	if s.shift >= initSlotShift {
		return increase
	}
	return max(1, int64(increase)>>(2*(initSlotShift-s.shift)))
}

// scaled converts an amount per initial slot to one per current slot.
func (s *Sender) scaled(v int64) int64 {
	if s.shift >= initSlotShift {
		return v << (s.shift - initSlotShift)
	}
	return max(1, v>>(initSlotShift-s.shift))
}

// bounded clamps a limit between the floor, scaled to the slot, and
// maxLimit.
func (s *Sender) bounded(v int64) int64 {
	return min(max(v, s.scaled(floorLimit)), maxLimit)
}
