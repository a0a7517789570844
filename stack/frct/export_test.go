package frct

import (
	"fmt"
	"time"
)

// DebugState describes a Conn's protocol state, for test failure messages.
func DebugState(c *Conn) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, r := &c.s, &c.r
	w := ""
	if s.outstanding() {
		e := s.entry(s.una)
		w = fmt.Sprintf(" una{writing=%t acked=%t rtx=%t sacked=%t pdu=%d last=%v}", e.writing, e.acked, e.rtx, e.sacked, len(e.pdu), e.last.Format("05.000"))
	}
	return fmt.Sprintf("snd{next=%d una=%d(+%d) rwe=+%d drf=%t rto=%v rtoDue=%v srtt=%v dup=%d blocked=%t%s} rcv{base=%d nxt=+%d high=+%d buffered=%d ackDue=%v} err=%v",
		s.next-s.runStart, s.una-s.runStart, s.next-s.una, s.rwe-s.next, s.drf, s.rto, !s.rtoDue.IsZero(), s.srtt, s.dupAcks, !s.blockedSince.IsZero(), w,
		r.base-r.runStart, r.nxt-r.base, r.high-r.base, r.buffered, !r.ackDue.IsZero(), c.err)
}

// Timers returns a Conn's retransmission timeout and smoothed RTT (0: no
// sample yet).
func Timers(c *Conn) (rto, srtt time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.rto, c.s.srtt
}
