package frct

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// rxBatch is how many PDUs routineReceive reads per system call.
const rxBatch = 32

// routineReceive reads the Lower and runs every timer of the Conn until the
// Lower ends. Its read deadline is the earliest timer.
func (c *Conn) routineReceive() {
	defer close(c.rxDone)
	bufs := make([][]byte, rxBatch)
	for i := range bufs {
		bufs[i] = make([]byte, c.cfg.MTU)
	}
	lens := make([]int, rxBatch)
	out := make([][]byte, 0, maxRtxBurst+8)
	ctl := new(ctlBufs)
	for {
		c.mu.Lock()
		ctl.used = 0
		out, ev := c.timersLocked(time.Now(), out[:0], ctl)
		next := c.nextTimerLocked()
		c.mu.Unlock()
		c.tell(ev)
		if sent := c.flush(out); sent < len(out) {
			c.mu.Lock()
			c.s.unsent(sent, time.Now())
			next = c.nextTimerLocked()
			c.mu.Unlock()
		}
		c.lower.SetReadDeadline(next)
		if c.kicked.Swap(false) {
			continue // a writer changed the timers after we computed them
		}
		n, err := c.lower.ReadBatch(bufs, lens)
		if n > 0 {
			c.mu.Lock()
			ctl.used = 0
			out, ev := c.inputLocked(bufs[:n], lens, time.Now(), out[:0], ctl)
			c.mu.Unlock()
			c.tell(ev)
			c.flush(out)
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			c.lowerEnded(err)
			return
		}
	}
}

// kick makes routineReceive recompute its timers now.
func (c *Conn) kick() {
	c.kicked.Store(true)
	c.lower.SetReadDeadline(time.Now())
}

// lowerEnded ends the Conn when the Lower does: its end of stream is the
// peer leaving in order only after the peer's FIN (close.go).
func (c *Conn) lowerEnded(err error) {
	c.mu.Lock()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
		err = c.endOfLowerLocked()
	}
	if c.closing && errors.Is(err, os.ErrClosed) {
		err = ErrClosed
	}
	c.endLocked(err)
	c.mu.Unlock()
	c.tell(evReadable | evWindow)
}

// events say which waiters a batch of work concerns.
type events uint8

const (
	evReadable events = 1 << iota // readers, and Notify
	evWindow                      // writers
)

// tell wakes the waiters concerned; called without c.mu, because Notify
// may look at the Conn.
func (c *Conn) tell(ev events) {
	if ev&evReadable != 0 {
		c.signal(c.readyCh)
		if c.cfg.Notify != nil {
			c.cfg.Notify(c)
		}
	}
	if ev&evWindow != 0 {
		c.signal(c.winCh)
	}
}

// ctlBufs holds the control PDUs one round of routineReceive sends.
type ctlBufs struct {
	bufs [4][MaxHeader]byte
	used int
}

// inputLocked processes received PDUs and returns what to send in answer.
func (c *Conn) inputLocked(pdus [][]byte, lens []int, now time.Time, out [][]byte, ctl *ctlBufs) ([][]byte, events) {
	var ev events
	for i, b := range pdus {
		var h Header
		n, err := h.Decode(b[:lens[i]])
		if err != nil {
			c.st.BadHeader++ // counted and dropped; nothing from the network panics
			continue
		}
		c.r.lastRecv = now
		if h.Flags&(FlagACK|FlagFC) != 0 && c.s.onAck(c.cfg, &h, c.reliable, &c.p, now) {
			ev |= evWindow
		}
		if h.Flags&FlagRDVS != 0 {
			c.r.onProbe(c.cfg, &h, &c.p, &c.st, now)
			ev |= evReadable
		}
		if h.Flags&FlagData != 0 && c.r.onData(c.cfg, &h, b[n:lens[i]], &c.p, &c.st, now) {
			ev |= evReadable
		}
		if h.Flags&FlagFIN != 0 {
			var fev events
			out, fev = c.onFinLocked(&h, out, ctl)
			ev |= fev
		}
	}
	if c.closing && !c.s.outstanding() && !c.s.ackedClosed {
		c.s.ackedClosed = true
		close(c.acked)
	}
	if c.reliable {
		out = c.s.fastRetransmit(now, out, &c.st)
	}
	if c.r.ackNow {
		out = c.controlLocked(out, ctl, 0)
	}
	return out, ev
}

// timersLocked runs the timers that are due and returns what to send.
func (c *Conn) timersLocked(now time.Time, out [][]byte, ctl *ctlBufs) ([][]byte, events) {
	if c.err != nil {
		return out, 0
	}
	if t := c.cfg.peerTimeout(); t > 0 && now.Sub(c.r.lastRecv) > t {
		c.endLocked(fmt.Errorf("%w: nothing heard from the peer for %v", ErrPeerTimeout, t))
		return out, evReadable | evWindow
	}
	if c.reliable {
		var dead bool
		if out, dead = c.s.onRTO(c.cfg, now, out, &c.st); dead {
			c.endLocked(fmt.Errorf("%w: a packet went unacknowledged for %v", ErrPeerTimeout, c.cfg.R))
			return out, evReadable | evWindow
		}
	}
	if !c.r.ackDue.IsZero() && !now.Before(c.r.ackDue) {
		c.r.ackNow = true
	}
	c.r.skipProbeGap(c.cfg, &c.st, now)
	var flags Flags
	if c.s.probeDue(c.cfg, c.reliable, now) {
		flags |= FlagRDVS
	}
	if t := c.cfg.peerTimeout(); t > 0 && now.Sub(c.s.lastSent) >= keepaliveEvery(t) {
		flags |= FlagKA
	}
	if c.r.ackNow || flags != 0 {
		out = c.controlLocked(out, ctl, flags)
	}
	out = c.finTimerLocked(now, out, ctl)
	if c.r.gapExpired(c.cfg, now) {
		return out, evReadable
	}
	return out, 0
}

// nextTimerLocked returns the earliest pending timer (zero: none).
func (c *Conn) nextTimerLocked() time.Time {
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if c.err != nil {
		return next
	}
	at(c.s.rtoDue)
	at(c.r.ackDue)
	at(c.finDueLocked())
	if !c.s.blockedSince.IsZero() {
		at(c.s.probeAt(c.cfg))
	}
	if t := c.cfg.peerTimeout(); t > 0 {
		at(c.r.lastRecv.Add(t + time.Millisecond))
		at(c.s.lastSent.Add(keepaliveEvery(t)))
	}
	// A gap deadline that has passed was reported to readers already (see
	// timersLocked); keeping it would spin this loop until they read.
	if dl, ok := c.r.gapDeadline(c.cfg); ok && dl.After(time.Now()) {
		at(dl)
	}
	if dl, ok := c.r.probeGapDeadline(c.cfg); ok {
		at(dl)
	}
	return next
}

// controlLocked appends a control PDU (acknowledgement and window, plus
// flags) built in the next free ctl buffer.
func (c *Conn) controlLocked(out [][]byte, ctl *ctlBufs, flags Flags) [][]byte {
	if ctl.used == len(ctl.bufs) {
		return out
	}
	pdu := c.controlPDULocked(ctl.bufs[ctl.used][:], flags)
	if pdu == nil {
		return out
	}
	ctl.used++
	return append(out, pdu)
}

// controlPDULocked builds a control packet into dst (MaxHeader bytes):
// acknowledgement and window when the receiver runs, and flags. It
// returns nil when there is nothing to say.
func (c *Conn) controlPDULocked(dst []byte, flags Flags) []byte {
	h := Header{Flags: flags}
	if flags&(FlagRDVS|FlagFIN) != 0 {
		// A sender that never sent has next == runStart == 0: its FIN
		// carries DRF with start == seqno, "no SDU in this run".
		h.Seqno = c.s.next
		if c.s.drf || !c.s.started {
			h.Flags |= FlagDRF
			h.Start = c.s.runStart
		}
	}
	c.r.fill(&h)
	if h.Flags == 0 {
		c.r.ackNow = false
		return nil
	}
	c.s.lastSent = time.Now()
	c.st.ControlSent++
	return dst[:h.Encode(dst)]
}

// flush sends control PDUs and retransmissions without blocking; what does
// not fit is dropped (acknowledgements are cumulative, retransmissions are
// retried by the timer).
// It returns how many the Lower took.
func (c *Conn) flush(out [][]byte) int {
	if len(out) == 0 {
		return 0
	}
	n, _ := c.lower.TryWriteBatch(out)
	if n < len(out) {
		c.mu.Lock()
		c.st.ControlDropped += uint64(len(out) - n)
		c.mu.Unlock()
	}
	return n
}
