package main

import (
	"math"
	"math/bits"
	"time"
)

// pacer says when each packet of a constant-bit-rate stream is due. Packet
// k (from 0) is due k·size·8/rate seconds after the start: the schedule is
// computed from the start, never from the previous send, so late wake-ups
// do not accumulate into a lower rate. The arithmetic is exact, in 128
// bits, so the schedule does not drift however long the stream runs.
//
// Packets due within slack from now go at once, in one batch: the sender
// sleeps only when the next packet is more than slack ahead, and needs no
// timer per packet.
type pacer struct {
	bitNanos uint64 // bits per packet × 10⁹: the numerator of a packet's time
	rate     uint64 // bits per second
	slack    time.Duration
}

func newPacer(size int, rate uint64, slack time.Duration) pacer {
	return pacer{bitNanos: uint64(size) * 8 * 1e9, rate: rate, slack: slack}
}

// sendTime returns when packet k is due, from the start.
func (p pacer) sendTime(k uint64) time.Duration {
	hi, lo := bits.Mul64(k, p.bitNanos)
	if hi >= p.rate {
		return math.MaxInt64 // beyond any run
	}
	q, _ := bits.Div64(hi, lo, p.rate)
	return time.Duration(min(q, math.MaxInt64))
}

// due returns how many packets are due by elapsed plus the slack.
func (p pacer) due(elapsed time.Duration) uint64 {
	hi, lo := bits.Mul64(uint64(max(elapsed+p.slack, 0)), p.rate)
	if hi >= p.bitNanos {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, p.bitNanos)
	return q + 1 // packet 0 is due at once
}

// next returns how many packets to send now, at most burst, when sent have
// gone and elapsed has passed since the start; or, if none, how long to
// sleep until the next one is due.
func (p pacer) next(sent uint64, elapsed time.Duration, burst int) (int, time.Duration) {
	if d := p.due(elapsed); d > sent {
		return int(min(d-sent, uint64(burst))), 0
	}
	return 0, p.sendTime(sent) - elapsed
}

// before returns how many packets are due strictly before d: the whole
// stream of a run that lasts d.
func (p pacer) before(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(d), p.rate)
	if hi >= p.bitNanos {
		return math.MaxUint64
	}
	q, rem := bits.Div64(hi, lo, p.bitNanos)
	if rem != 0 {
		q++ // packet q is due before d too
	}
	return q
}
