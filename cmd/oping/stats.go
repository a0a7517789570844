package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"o7s.dev/ouroboros/internal/tool"
)

// rttStats keeps the minimum, mean, maximum and mean deviation of round-trip
// times. The mean and variance are updated with Welford's method, which
// stays accurate over millions of samples where sums of squares would not.
type rttStats struct {
	n        uint64
	min, max time.Duration
	mean     float64 // nanoseconds
	m2       float64 // sum of squared deviations from the mean, ns²
}

func (s *rttStats) add(d time.Duration) {
	s.n++
	if s.n == 1 || d < s.min {
		s.min = d
	}
	if d > s.max {
		s.max = d
	}
	x := float64(d)
	delta := x - s.mean
	s.mean += delta / float64(s.n)
	s.m2 += delta * (x - s.mean)
}

// mdev is the population standard deviation, which is what ping calls the
// mean deviation: sqrt(mean(rtt²) - mean(rtt)²).
func (s *rttStats) mdev() time.Duration {
	if s.n == 0 {
		return 0
	}
	return time.Duration(math.Sqrt(s.m2 / float64(s.n)))
}

func (s *rttStats) avg() time.Duration { return time.Duration(math.Round(s.mean)) }

// window is how many of the latest sequence numbers the tracker remembers
// replies for; a reply older than that is counted as stale.
const window = 1 << 16

// replyKind classifies a reply by its sequence number.
type replyKind int

const (
	replyNew       replyKind = iota // first reply for this ping
	replyReordered                  // first reply, but after a later ping's
	replyDuplicate                  // a second reply for the same ping
	replyStale                      // too old to tell
	replyBogus                      // for a ping never sent
)

// tracker numbers the pings sent and classifies their replies. It remembers
// the last window pings in a bitmap, so memory stays constant however long
// oping runs, and it handles the 32-bit sequence number wrapping.
type tracker struct {
	sent      uint64 // pings sent; the next sequence number
	next      uint64 // one past the highest ping answered so far
	seen      [window / 64]uint64
	received  uint64 // distinct pings answered
	dups      uint64
	reordered uint64
	stale     uint64
	bogus     uint64
}

// send returns the sequence number of the next ping and records it as sent.
func (t *tracker) send() uint32 {
	n := t.sent
	t.seen[n%window/64] &^= 1 << (n % 64)
	t.sent++
	return uint32(n)
}

// reply classifies and records a reply to ping seq.
func (t *tracker) reply(seq uint32) replyKind {
	if t.sent == 0 {
		t.bogus++
		return replyBogus
	}
	last := t.sent - 1
	behind := uint64(uint32(last) - seq) // pings between seq and the latest
	switch {
	case behind > last:
		t.bogus++
		return replyBogus
	case behind >= window:
		t.stale++
		return replyStale
	}
	n := last - behind
	word, bit := n%window/64, uint64(1)<<(n%64)
	if t.seen[word]&bit != 0 {
		t.dups++
		return replyDuplicate
	}
	t.seen[word] |= bit
	t.received++
	if n+1 < t.next {
		t.reordered++
		return replyReordered
	}
	t.next = n + 1
	return replyNew
}

// outstanding is the number of pings sent and not answered yet.
func (t *tracker) outstanding() uint64 { return t.sent - t.received }

// summary is what oping prints at the end.
type summary struct {
	name    string
	elapsed time.Duration
	t       *tracker
	rtt     *rttStats
}

func (s summary) write(w io.Writer) {
	t := s.t
	loss := 0.0
	if t.sent > 0 {
		loss = float64(t.sent-t.received) * 100 / float64(t.sent)
	}
	fmt.Fprintf(w, "\n--- %s ping statistics ---\n", s.name)
	fmt.Fprintf(w, "%d packets transmitted, %d received, %s%% packet loss, time %dms\n",
		t.sent, t.received, tool.FormatPercent(loss), s.elapsed.Milliseconds())
	if t.dups+t.reordered+t.stale+t.bogus > 0 {
		fmt.Fprintf(w, "%d duplicates, %d out of order, %d too late to check, %d not matching a ping\n",
			t.dups, t.reordered, t.stale, t.bogus)
	}
	if s.rtt.n > 0 {
		fmt.Fprintf(w, "rtt min/avg/max/mdev = %s/%s/%s/%s ms\n",
			ms(s.rtt.min), ms(s.rtt.avg()), ms(s.rtt.max), ms(s.rtt.mdev()))
	}
}

// ms renders d in milliseconds with three decimals, as ping does.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))
}
