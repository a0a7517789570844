package frct

import (
	"io"
	"time"
)

// The orderly close. The flow's path (the socket to irmd, the layer, the
// peer's irmd) can end without the peer asking for it: irmd or the layer
// goes down, or a forged teardown in a layer below deallocates the flow.
// Seen from the Lower, that is the same end of stream as a peer that
// closed. So a Conn closes in order in band, where the flow's own
// protection (sealing) covers it, and treats any other end of its Lower as
// abrupt (ErrAborted):
//
//   - The end that closes first (the closer) waits, on a reliable flow,
//     until everything it wrote is acknowledged, then sends FIN with its
//     next sequence number and resends it, backing off, until a FIN comes
//     back or the peer is found dead; only then it closes its Lower.
//   - The other end accepts a FIN when it has every SDU before the FIN's
//     sequence number (reliable flows; in-order flows accept any FIN),
//     answers it with its own FIN, every time one arrives (an answer may be
//     lost), and ends with io.EOF once its reader has drained what arrived.
//   - A closer never answers a FIN, so two FINs never answer each other in
//     a loop; when both ends close at once, each one's FIN answers the other.

// closeState is a Conn's part in the orderly close. Guarded by Conn.mu.
type closeState struct {
	sent     bool          // this end sent a FIN: it closed, or answered
	closer   bool          // this end closed first: it resends until answered
	answered bool          // the closer heard a FIN back; Conn.finDone closed
	seen     bool          // the peer closed in order: its end is not abrupt
	due      time.Time     // when the closer resends its FIN (zero: never)
	backoff  time.Duration // the closer's current resend interval
}

// maxFinBackoff caps the interval between a closer's FINs.
const maxFinBackoff = time.Second

// finWait bounds how long Close waits for the peer's FIN: the peer timeout,
// within which a live peer answers and a dead one is found out, or R when
// the spec has none.
func (c Config) finWait() time.Duration {
	if t := c.peerTimeout(); t > 0 {
		return t
	}
	return c.R
}

// startCloseLocked makes this end the closer, unless the Conn has ended or
// already answered the peer's FIN, and reports whether it did: its FIN is
// due at once.
func (c *Conn) startCloseLocked(now time.Time) bool {
	if c.err != nil || c.fin.sent {
		return false
	}
	c.fin.sent, c.fin.closer = true, true
	c.fin.due = now
	c.fin.backoff = max(c.s.rtoFromRTT(c.cfg), 10*time.Millisecond)
	return true
}

// finTimerLocked appends the closer's FIN when it is due.
func (c *Conn) finTimerLocked(now time.Time, out [][]byte, ctl *ctlBufs) [][]byte {
	if !c.fin.closer || c.fin.answered || c.fin.due.IsZero() || now.Before(c.fin.due) {
		return out
	}
	c.fin.due = now.Add(c.fin.backoff)
	c.fin.backoff = min(2*c.fin.backoff, maxFinBackoff)
	return c.controlLocked(out, ctl, FlagFIN)
}

// finDue returns when the closer resends its FIN (zero: not pending).
func (c *Conn) finDueLocked() time.Time {
	if !c.fin.closer || c.fin.answered {
		return time.Time{}
	}
	return c.fin.due
}

// onFinLocked takes a FIN from the peer and returns what to send in answer
// and the events it causes.
func (c *Conn) onFinLocked(h *Header, out [][]byte, ctl *ctlBufs) ([][]byte, events) {
	if c.fin.closer {
		// Whatever the peer still had in flight, this end has closed and
		// wants none of it: any FIN answers ours.
		c.fin.seen = true
		if !c.fin.answered {
			c.fin.answered = true
			close(c.finDone)
		}
		return out, 0
	}
	if !c.finComplete(h) {
		c.st.FinEarly++ // SDUs before it are missing: not an orderly end yet
		return out, 0
	}
	c.fin.seen, c.fin.sent = true, true
	out = c.controlLocked(out, ctl, FlagFIN)
	if c.err != nil {
		return out, 0 // an answer to a resent FIN
	}
	c.endLocked(io.EOF)
	return out, evReadable | evWindow
}

// finComplete reports whether a FIN ends the peer's stream with nothing
// missing here: on a reliable flow, every SDU before its sequence number has
// arrived (or the peer sent none). An in-order flow that is not reliable
// loses SDUs by design; any FIN ends it in order.
func (c *Conn) finComplete(h *Header) bool {
	if !c.reliable {
		return true
	}
	if c.r.started {
		return h.Seqno == c.r.nxt
	}
	return h.Flags&FlagDRF != 0 && h.Start == h.Seqno
}

// endOfLower is how the Conn ends when its Lower reports the end of
// stream: io.EOF after the peer's FIN, ErrAborted without one.
func (c *Conn) endOfLowerLocked() error {
	if c.fin.seen {
		return io.EOF
	}
	return ErrAborted
}
