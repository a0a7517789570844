package frct

import (
	"math/rand/v2"
	"time"
)

// sender is the sending half of a Conn. Guarded by Conn.mu.
type sender struct {
	started  bool
	runStart uint32 // first seqno of the current run
	next     uint32 // next seqno to assign
	una      uint32 // oldest unacknowledged (reliable); next otherwise
	rwe      uint32 // the peer's right window edge
	drf      bool   // mark data with DRF until the peer acknowledges the run
	ring     []rtxEntry

	lastSent, lastDataSent time.Time

	srtt, rttvar, rto time.Duration
	hasRTT            bool
	rtoDue            time.Time // zero: no retransmission timer
	dupAcks           int
	// The last timeout's retransmissions, and the timeout before it
	// backed off, for unsent.
	rtoResent int
	rtoBefore time.Duration

	blockedSince, lastProbe time.Time // window closed
	// probed is when the last window probe went out: an acknowledgement
	// after it may answer it rather than a packet's arrival.
	probed      time.Time
	ackedClosed bool // Conn.acked closed
}

// rtxEntry is a reliable PDU kept until acknowledged.
type rtxEntry struct {
	pdu         []byte
	first, last time.Time // first and latest transmission
	writing     bool      // the writer has not handed it to the Lower yet
	acked       bool      // acknowledged while writing: free after
	rtx         bool      // retransmitted: no RTT sample (Karn)
	sacked      bool
}

func (s *sender) init(cfg Config) {
	s.ring = make([]rtxEntry, cfg.Window)
	s.rto = cfg.InitialRTO
}

func (s *sender) entry(seq uint32) *rtxEntry { return &s.ring[seq&uint32(len(s.ring)-1)] }

func (s *sender) outstanding() bool { return s.una != s.next }

// maybeNewRun starts a run with a random first seqno when the sender has
// never sent, or has been idle with nothing outstanding for long enough
// that the receiver must have forgotten the previous run (delta-t).
func (s *sender) maybeNewRun(cfg Config, rng *rand.Rand, now time.Time) {
	if s.started && (s.outstanding() || now.Sub(s.lastDataSent) <= cfg.senderIdle()) {
		return
	}
	s.started = true
	s.runStart = rng.Uint32()
	s.next, s.una = s.runStart, s.runStart
	s.rwe = s.runStart + startWindow
	s.drf = true
}

// open reports whether the window lets the next seqno go.
func (s *sender) open(cfg Config, reliable bool) bool {
	if !seqLT(s.next, s.rwe) {
		return false
	}
	return !reliable || s.next-s.una < uint32(cfg.Window)
}

func (s *sender) blocked(now time.Time) {
	if s.blockedSince.IsZero() {
		s.blockedSince = now
		s.lastProbe = time.Time{}
	}
}

// sent records a numbered PDU handed to the writer and returns its seqno.
func (s *sender) sent(pdu []byte, reliable bool, now time.Time) uint32 {
	seq := s.next
	if reliable {
		*s.entry(seq) = rtxEntry{pdu: pdu, writing: true}
	}
	s.next++
	if !reliable {
		s.una = s.next
	}
	s.lastSent, s.lastDataSent = now, now
	s.blockedSince = time.Time{}
	return seq
}

// unsend takes back the last numbered PDU of an in-order (not reliable)
// sender whose write failed, so that the receiver does not wait for it.
func (s *sender) unsend(seq uint32) {
	if s.next == seq+1 {
		s.next, s.una = seq, seq
	}
}

// written records that the writer handed seq's PDU to the Lower. It
// reports whether the retransmission timer was armed by it.
func (s *sender) written(seq uint32, p *pool, now time.Time) bool {
	e := s.entry(seq)
	if !e.writing {
		return false
	}
	e.writing = false
	e.first, e.last = now, now
	if e.acked {
		p.put(e.pdu)
		*e = rtxEntry{}
		return false
	}
	if s.rtoDue.IsZero() {
		s.rtoDue = now.Add(s.rto)
		return true
	}
	return false
}

// onAck takes an acknowledgement and window advertisement. It reports
// whether the window moved (writers may go on).
func (s *sender) onAck(cfg Config, h *Header, reliable bool, p *pool, now time.Time) bool {
	if !s.started {
		return false
	}
	moved := false
	if h.Flags&FlagACK != 0 && seqLEQ(s.runStart, h.Ackno) && seqLEQ(h.Ackno, s.next) {
		s.drf = false // the receiver has started this run
		if reliable {
			moved = s.ack(cfg, h, p, now)
		}
	}
	// A window edge far beyond what was sent is garbage (or a stale run);
	// peers may use windows of different sizes, so anything within 2^20
	// packets counts.
	if h.Flags&FlagFC != 0 && seqLT(s.rwe, h.RWE) && h.RWE-s.una <= 1<<20 {
		s.rwe = h.RWE
		moved = true
	}
	return moved
}

// ack releases what h acknowledges and notes selective acknowledgements.
func (s *sender) ack(cfg Config, h *Header, p *pool, now time.Time) bool {
	moved := false
	if seqLT(s.una, h.Ackno) {
		if rtt, ok := s.roundTrip(h.Ackno, now); ok {
			s.sample(cfg, rtt)
		}
		for ; s.una != h.Ackno; s.una++ {
			e := s.entry(s.una)
			if e.writing {
				e.acked = true
				continue
			}
			p.put(e.pdu)
			*e = rtxEntry{}
		}
		s.dupAcks = 0
		// New data acknowledged: the path works, so the backoff ends. Waiting
		// for a clean RTT sample instead (strict Karn) starves at high loss,
		// where nearly every acknowledgement covers a retransmission, and
		// the RTO then backs off into seconds. Without any sample yet the
		// timeout goes back to the initial one.
		s.rto = s.rtoFromRTT(cfg)
		s.rtoDue = time.Time{}
		if s.outstanding() {
			s.rtoDue = now.Add(s.rto)
		}
		moved = true
	} else if h.Ackno == s.una && s.outstanding() && s.duplicate(h) {
		s.dupAcks++
	}
	if h.Flags&FlagSACK != 0 {
		s.sack(cfg, h, now)
	}
	return moved
}

// sack notes the packets an acknowledgement selectively acknowledges.
// Before the estimator has a sample, the one it reports first that was
// sent last gives one, by roundTrip's looser rule: a receiver acknowledges
// at once what arrives out of order.
func (s *sender) sack(cfg Config, h *Header, now time.Time) {
	var newest *rtxEntry
	for i := uint32(0); i < 64; i++ {
		if h.SACK&(1<<i) == 0 {
			continue
		}
		seq := h.Ackno + 1 + i
		if !seqLT(seq, s.next) || !seqLEQ(s.una, seq) {
			continue
		}
		e := s.entry(seq)
		if !e.sacked && !e.writing && (newest == nil || e.last.After(newest.last)) {
			newest = e
		}
		e.sacked = true
	}
	if !s.hasRTT && s.measures(newest) {
		s.sample(cfg, now.Sub(newest.last))
	}
}

// duplicate reports whether an acknowledgement that does not move una says
// that the receiver got something out of order: it carries selective
// acknowledgements, or nothing besides the acknowledgement (window updates,
// keepalives, probe answers and data are not duplicates).
func (s *sender) duplicate(h *Header) bool {
	if h.Flags&FlagSACK != 0 {
		return true
	}
	return h.Flags&(FlagData|FlagKA|FlagRDVS) == 0 && (h.Flags&FlagFC == 0 || h.RWE == s.rwe)
}

// roundTrip returns the round trip an acknowledgement up to ackno
// measures, if any. Once the estimator has a sample, only an
// acknowledgement none of whose packets was retransmitted or is still
// being written gives one (Karn, extended to the whole range: after a
// loss the acknowledgement jumps over packets the receiver held back,
// whose age is not a round trip), from the packet just before ackno.
//
// Before the first sample a looser rule applies, so that one forms even
// when the first acknowledgements follow a loss: the age of the packet the
// acknowledgement covers that was sent last. That packet had arrived when
// the acknowledgement left, so its age is at least a round trip, exactly
// one when its arrival triggered it. Without it a transfer through 10%
// loss sometimes never had a sample, and crawled with the initial 250 ms
// timeout. Only the first: later samples by the looser rules include the
// queues that the window builds in the local sockets (FRCT has no
// congestion control), and a timeout tracking them made recovery from
// loss several times slower (50 MB through 10% loss: ~11 against ~200
// Mbit/s).
func (s *sender) roundTrip(ackno uint32, now time.Time) (time.Duration, bool) {
	if s.hasRTT {
		last := s.entry(ackno - 1)
		return now.Sub(last.last), s.clean(ackno) && !last.last.IsZero()
	}
	var newest *rtxEntry
	for seq := s.una; seq != ackno; seq++ {
		e := s.entry(seq)
		if e.writing {
			return 0, false
		}
		if newest == nil || e.last.After(newest.last) {
			newest = e
		}
	}
	if !s.measures(newest) {
		return 0, false
	}
	return now.Sub(newest.last), true
}

// clean reports whether no packet before ackno was retransmitted or is
// still being written.
func (s *sender) clean(ackno uint32) bool {
	for seq := s.una; seq != ackno; seq++ {
		if e := s.entry(seq); e.rtx || e.writing {
			return false
		}
	}
	return true
}

// measures reports whether an acknowledgement that newly covers e, the
// packet it covers that was sent last, measures e's round trip: e was
// sent once (Karn), and no window probe went out after it, which the
// acknowledgement could be answering instead.
func (s *sender) measures(e *rtxEntry) bool {
	return e != nil && !e.rtx && !e.last.IsZero() && !s.probed.After(e.last)
}

// sample feeds an RTT measurement to the estimator (RFC 6298).
func (s *sender) sample(cfg Config, rtt time.Duration) {
	if !s.hasRTT {
		s.srtt, s.rttvar, s.hasRTT = rtt, rtt/2, true
		return
	}
	d := s.srtt - rtt
	if d < 0 {
		d = -d
	}
	s.rttvar = (3*s.rttvar + d) / 4
	s.srtt = (7*s.srtt + rtt) / 8
}

func (s *sender) rtoFromRTT(cfg Config) time.Duration {
	if !s.hasRTT {
		return cfg.InitialRTO
	}
	return min(max(cfg.MinRTO, s.srtt+4*s.rttvar), maxRTO)
}

// maxRtxBurst bounds how many PDUs one timer or acknowledgement resends.
const maxRtxBurst = 32

// fastRetransmit resends the holes that selective or duplicate
// acknowledgements reveal, each at most once per round trip.
func (s *sender) fastRetransmit(now time.Time, out [][]byte, st *Stats) [][]byte {
	if !s.outstanding() || s.dupAcks == 0 {
		return out
	}
	highest := s.una
	for seq := s.una; seq != s.next; seq++ {
		if s.entry(seq).sacked {
			highest = seq
		}
	}
	if highest == s.una && s.dupAcks < 3 {
		return out
	}
	if highest == s.una {
		highest = s.una + 1 // three duplicates, no SACK: the oldest is lost
	}
	gap := s.srtt + s.srtt/4
	if !s.hasRTT {
		gap = s.rto / 2
	}
	for seq := s.una; seqLT(seq, highest) && len(out) < cap(out) && len(out) < maxRtxBurst; seq++ {
		e := s.entry(seq)
		if e.sacked || e.writing || e.pdu == nil || now.Sub(e.last) < gap {
			continue
		}
		e.rtx, e.last = true, now
		out = append(out, e.pdu)
		st.Retransmitted++
		s.lastDataSent = now // a run is idle only when nothing of it is sent
	}
	return out
}

// onRTO resends every outstanding PDU older than the timeout (oldest
// first) and backs the timeout off. It reports a packet that has gone
// unacknowledged for R: the peer is dead.
func (s *sender) onRTO(cfg Config, now time.Time, out [][]byte, st *Stats) ([][]byte, bool) {
	s.rtoResent = 0
	if s.rtoDue.IsZero() || now.Before(s.rtoDue) {
		return out, false
	}
	if !s.outstanding() {
		s.rtoDue = time.Time{}
		return out, false
	}
	if e := s.entry(s.una); !e.first.IsZero() && now.Sub(e.first) > cfg.R {
		return out, true
	}
	for seq := s.una; seq != s.next && len(out) < cap(out) && len(out) < maxRtxBurst; seq++ {
		e := s.entry(seq)
		if e.sacked || e.writing || e.pdu == nil || (seq != s.una && now.Sub(e.last) < s.rto) {
			continue
		}
		e.rtx, e.last = true, now
		out = append(out, e.pdu)
		st.Retransmitted++
		s.rtoResent++
		s.lastDataSent = now
	}
	s.rtoBefore = s.rto
	s.rto = min(2*s.rto, maxRTO)
	s.rtoDue = now.Add(s.rto)
	return out, false
}

// rtoRetry is how soon a timeout whose retransmissions the Lower did not
// take is retried.
const rtoRetry = 2 * time.Millisecond

// unsent takes back the backoff of the last timeout when the Lower took
// fewer than sent of the PDUs it handed over, the retransmissions first:
// a packet that never left was not lost on the path, and backing off for
// it would let a busy or full socket push the timeout into seconds while
// the packet at una stays missing.
func (s *sender) unsent(sent int, now time.Time) {
	if sent >= s.rtoResent || s.rtoDue.IsZero() {
		return
	}
	s.rto = s.rtoBefore
	s.rtoDue = now.Add(min(s.rto, rtoRetry))
}

// probeDue reports whether a closed window calls for a rendezvous probe.
func (s *sender) probeDue(cfg Config, reliable bool, now time.Time) bool {
	if !s.blockedSince.IsZero() && s.open(cfg, reliable) {
		s.blockedSince = time.Time{} // the window opened: no writer waits on it
	}
	if s.blockedSince.IsZero() || now.Before(s.probeAt(cfg)) {
		return false
	}
	s.lastProbe, s.probed = now, now
	return true
}

// Window probes go out every RTO, kept between 10 and 200 ms: a lost
// window update must not stall the sender for a backed-off RTO.
func (s *sender) probeAt(cfg Config) time.Time {
	iv := min(max(s.rtoFromRTT(cfg), 10*time.Millisecond), 200*time.Millisecond)
	if s.lastProbe.IsZero() {
		return s.blockedSince.Add(iv)
	}
	return s.lastProbe.Add(iv)
}

// release frees every kept PDU.
func (s *sender) release(p *pool) {
	for i := range s.ring {
		if s.ring[i].pdu != nil && !s.ring[i].writing {
			p.put(s.ring[i].pdu)
		}
		s.ring[i] = rtxEntry{}
	}
}
