package frct

import "time"

// receiver is the receiving half of a Conn. Guarded by Conn.mu.
//
// Sequence numbers below base have been delivered (or skipped); those in
// [base, base+Window) have a slot in the ring; nxt is the first not yet
// received in order (every slot in [base, nxt) is filled).
type receiver struct {
	started  bool
	reliable bool
	runStart uint32
	base     uint32
	nxt      uint32
	high     uint32 // one past the highest seqno received
	ring     []rxSlot
	buffered int

	lastRecv, lastData time.Time

	ackPending int       // in-order packets not yet acknowledged
	ackDue     time.Time // when a delayed acknowledgement is due
	ackNow     bool      // acknowledge at the next chance
	advRWE     uint32    // the right window edge last advertised

	// reorderWait estimates how long a packet may arrive after a later
	// one on this path (0 until one did): a gap is not skipped early
	// before it has been known for twice as long.
	reorderWait time.Duration

	// A window probe shows that the sender has sent up to probeSeq: what
	// is missing below it, with nothing received behind it, is a gap
	// known since probeAt (probed: such a gap is pending).
	probed   bool
	probeSeq uint32
	probeAt  time.Time
}

type rxSlot struct {
	sdu []byte
	at  time.Time // arrival: a gap before it is known since then
	ok  bool
}

func (r *receiver) init(cfg Config) {
	r.ring = make([]rxSlot, cfg.Window)
	r.reliable = cfg.QoS.Reliable()
}

func (r *receiver) slot(seq uint32) *rxSlot { return &r.ring[seq&uint32(len(r.ring)-1)] }

func (r *receiver) window() uint32 { return uint32(len(r.ring)) }

func (r *receiver) start(seq uint32, p *pool) {
	r.release(p)
	r.started = true
	r.runStart = seq
	r.base, r.nxt, r.high = seq, seq, seq
	r.advRWE = seq
	r.probed = false
}

// onData takes a DATA packet's SDU. It reports whether the SDU at base has
// become readable.
func (r *receiver) onData(cfg Config, h *Header, sdu []byte, p *pool, st *Stats, now time.Time) bool {
	seq := h.Seqno
	if len(sdu) == 0 {
		st.BadHeader++ // DATA carries at least one byte; nothing else of it counts
		return false
	}
	if !r.startRun(cfg, h, p, st, now) {
		return false
	}
	r.lastData = now
	st.DataReceived++
	r.probed = false // data still arrives: the next probe tells what is missing
	if seqLT(seq, r.base) || r.slot(seq).ok {
		st.Duplicates++
		r.ackNow = true // the sender may have missed our acknowledgement
		return false
	}
	if !r.inWindow(seq) {
		st.OutOfWindow++
		r.ackNow = true // tell the sender where the window is
		return false
	}
	if !r.reliable && seqLT(seq, r.high) {
		r.reordered(seq, now) // only gaps that get skipped need the estimate
	}
	buf := p.get(len(sdu))
	copy(buf, sdu)
	*r.slot(seq) = rxSlot{sdu: buf, at: now, ok: true}
	r.buffered++
	if seqLEQ(r.high, seq) {
		r.high = seq + 1
	}
	if seq == r.nxt {
		r.advance()
		r.ackPending++
		if r.ackPending >= cfg.AckEvery {
			r.ackNow = true
		} else if r.ackDue.IsZero() {
			r.ackDue = now.Add(cfg.AckDelay)
		}
	} else {
		r.ackNow = true // out of order: tell the sender at once (fast retransmit)
	}
	return seq == r.base
}

// startRun applies a packet's run information: it starts the first run,
// or a new one after a long silence, and reports whether the packet belongs
// to the current run. A new run waits while SDUs of the old one are unread.
func (r *receiver) startRun(cfg Config, h *Header, p *pool, st *Stats, now time.Time) bool {
	drf := h.Flags&FlagDRF != 0
	switch {
	case !r.started && !drf:
		st.NoRun++ // nothing of this run has been seen with its start: wait for DRF
		return false
	case !r.started:
		r.start(h.Start, p)
	case drf && h.Start != r.runStart && now.Sub(r.lastData) > cfg.receiverIdle():
		if r.buffered > 0 {
			st.NoRun++ // deliver the old run first; the sender will retry
			return false
		}
		r.start(h.Start, p) // the sender began a new run after a long silence
	}
	return true
}

func (r *receiver) inWindow(seq uint32) bool {
	return seqLEQ(r.base, seq) && seqLT(seq, r.base+r.window())
}

// advance moves nxt over received slots.
func (r *receiver) advance() {
	for seqLT(r.nxt, r.high) && r.slot(r.nxt).ok {
		r.nxt++
	}
}

// reordered notes that seq arrived after a later packet: the gap it fills
// had been known since that packet arrived, which measures how late a
// packet may be on this path. The estimate rises at once to a larger
// sample and decays slowly towards smaller ones.
func (r *receiver) reordered(seq uint32, now time.Time) {
	for s := seq + 1; seqLT(s, r.high); s++ {
		if sl := r.slot(s); sl.ok {
			late := now.Sub(sl.at)
			if late > r.reorderWait {
				r.reorderWait = late
			} else {
				r.reorderWait -= (r.reorderWait - late) / 8
			}
			return
		}
	}
}

// gapDeadline returns when an in-order receiver stops waiting for the
// missing packet at base: GapWait (or max_gap) after the first packet behind
// it arrived, which is when the gap became known. Once half the window
// waits behind the gap, the sender is about to stall on it: then the
// receiver waits only twice as long as packets have been seen to arrive
// late on this path (not at all on a path that never reordered), so that a
// packet still on its way is not skipped while a lost one does not stall
// the flow for GapWait. ok is false when base is not a gap.
func (r *receiver) gapDeadline(cfg Config) (time.Time, bool) {
	if r.reliable || r.buffered == 0 || r.slot(r.base).ok {
		return time.Time{}, false
	}
	wait := cfg.gapWait()
	if r.buffered >= len(r.ring)/2 {
		wait = min(wait, 2*r.reorderWait)
	}
	for seq := r.base + 1; seqLT(seq, r.high); seq++ {
		if s := r.slot(seq); s.ok {
			return s.at.Add(wait), true
		}
	}
	return time.Time{}, false
}

// gapExpired reports whether an in-order receiver should skip the missing
// packet at base now.
func (r *receiver) gapExpired(cfg Config, now time.Time) bool {
	dl, ok := r.gapDeadline(cfg)
	return ok && !now.Before(dl)
}

// onProbe takes a sender's window probe. An in-order receiver missing
// packets below the probe's seqno, with nothing buffered, learns of a gap
// that no arrival would reveal, and skips it (a lost window would
// otherwise stall the flow for good): at once on a path that never
// reordered, else once it is older than twice the reorder wait, so that
// packets the probe overtook are not skipped while still on their way.
func (r *receiver) onProbe(cfg Config, h *Header, p *pool, st *Stats, now time.Time) {
	r.ackNow = true
	if h.Flags&FlagDRF != 0 && !r.startRun(cfg, h, p, st, now) {
		return
	}
	if !r.started || r.reliable || r.buffered > 0 || !seqLT(r.base, h.Seqno) || !seqLEQ(h.Seqno, r.base+r.window()) {
		return
	}
	if !r.probed || r.probeSeq != h.Seqno {
		r.probed, r.probeSeq, r.probeAt = true, h.Seqno, now
	}
	r.skipProbeGap(cfg, st, now)
}

// probeGapDeadline returns when the gap a probe revealed is skipped; ok is
// false when there is none: no probe came since the last data, or nothing
// is missing below its seqno.
func (r *receiver) probeGapDeadline(cfg Config) (time.Time, bool) {
	if !r.probed || !seqLT(r.base, r.probeSeq) {
		r.probed = false
		return time.Time{}, false
	}
	return r.probeAt.Add(min(cfg.gapWait(), 2*r.reorderWait)), true
}

// skipProbeGap skips the gap a probe revealed once it has waited long
// enough, and reports whether it did.
func (r *receiver) skipProbeGap(cfg Config, st *Stats, now time.Time) bool {
	dl, ok := r.probeGapDeadline(cfg)
	if !ok || now.Before(dl) {
		return false
	}
	st.Skipped += uint64(r.probeSeq - r.base)
	r.base, r.nxt, r.high = r.probeSeq, r.probeSeq, seqMaxU(r.high, r.probeSeq)
	r.probed = false
	r.ackNow = true // the window moved: tell the sender
	return true
}

func seqMaxU(a, b uint32) uint32 {
	if seqLT(a, b) {
		return b
	}
	return a
}

// ready reports whether deliver would return an SDU.
func (r *receiver) ready(cfg Config, now time.Time) bool {
	return r.started && (r.slot(r.base).ok || r.gapExpired(cfg, now))
}

// deliver copies the SDU at base into p, skipping an expired gap first. It
// reports whether it delivered, and whether the SDU was truncated.
// Once the Conn has ended (ended), nothing can fill a gap any more: an
// in-order receiver skips it at once.
func (r *receiver) deliver(cfg Config, pl *pool, st *Stats, p []byte, now time.Time, ended bool) (int, bool, bool) {
	if !r.started {
		return 0, false, false
	}
	if !r.slot(r.base).ok {
		if !r.gapExpired(cfg, now) && !(ended && !r.reliable && r.buffered > 0) {
			return 0, false, false
		}
		r.skipGap(st)
	}
	s := r.slot(r.base)
	n := copy(p, s.sdu)
	trunc := n < len(s.sdu)
	pl.put(s.sdu)
	*s = rxSlot{}
	r.buffered--
	r.base++
	if seqLT(r.nxt, r.base) {
		r.nxt = r.base
		r.advance()
	}
	st.Delivered++
	st.DeliveredBytes += uint64(n)
	return n, true, trunc
}

// skipGap moves base to the next received slot.
func (r *receiver) skipGap(st *Stats) {
	for !r.slot(r.base).ok {
		r.base++
		st.Skipped++
	}
	if seqLT(r.nxt, r.base) {
		r.nxt = r.base
	}
	r.advance()
}

// windowUpdateDue reports whether reading has opened the window enough
// since the last advertisement to tell the sender on our own initiative.
func (r *receiver) windowUpdateDue() bool {
	return r.started && r.base+r.window()-r.advRWE >= r.window()/4
}

// fill sets the acknowledgement and window fields of h, and clears what
// they answer.
func (r *receiver) fill(h *Header) {
	if !r.started {
		return
	}
	h.Flags |= FlagACK | FlagFC
	h.Ackno, h.RWE = r.nxt, r.base+r.window()
	if sack := r.sack(); sack != 0 {
		h.Flags |= FlagSACK
		h.SACK = sack
	}
	r.advRWE = h.RWE
	r.ackPending, r.ackDue, r.ackNow = 0, time.Time{}, false
}

// piggyback adds acknowledgement and window to a DATA packet when there is
// something new to say; otherwise the packet goes with the 5-byte header.
func (r *receiver) piggyback(h *Header) {
	if r.started && (r.ackPending > 0 || r.ackNow || r.advRWE != r.base+r.window()) {
		r.fill(h)
	}
}

// sack maps which of the 64 packets after nxt have arrived.
func (r *receiver) sack() uint64 {
	var bits uint64
	for i := uint32(0); i < 64; i++ {
		seq := r.nxt + 1 + i
		if !seqLT(seq, r.high) {
			break
		}
		if r.inWindow(seq) && r.slot(seq).ok {
			bits |= 1 << i
		}
	}
	return bits
}

func (r *receiver) release(p *pool) {
	for i := range r.ring {
		if r.ring[i].ok {
			p.put(r.ring[i].sdu)
		}
		r.ring[i] = rxSlot{}
	}
	r.buffered = 0
}
