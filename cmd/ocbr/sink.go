package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

// sinkBatch is how many SDUs the sink reads per system call.
const sinkBatch = 64

// count is packets and bytes received.
type count struct{ packets, bytes uint64 }

func (c *count) add(p, b uint64) { c.packets += p; c.bytes += b }

// sink receives one flow and reports on it, in one goroutine.
type sink struct {
	f        *flow.Flow
	id       uint64
	out      io.Writer
	interval time.Duration
	timeout  time.Duration
	bufs     [][]byte
	lens     []int

	start      time.Time // when the flow was accepted
	lastRx     time.Time
	lastReport time.Time
	total, cur count
}

func newSink(f *flow.Flow, out io.Writer, interval, timeout time.Duration) *sink {
	s := &sink{f: f, id: f.ID(), out: out, interval: interval, timeout: timeout}
	s.bufs, s.lens = tool.Batch(sinkBatch, tool.SDUBuf(f.MaxSDU()))
	return s
}

// run reads until the flow ends or is idle for the timeout. Each read waits
// until the next report is due or the flow would time out, whichever comes
// first, so reports come on time even when nothing arrives.
func (s *sink) run() {
	now := time.Now()
	s.start, s.lastRx, s.lastReport = now, now, now
	for {
		idleEnd := s.lastRx.Add(s.timeout)
		dl := s.lastReport.Add(s.interval)
		if idleEnd.Before(dl) {
			dl = idleEnd
		}
		if err := s.f.SetReadDeadline(dl); err != nil {
			s.finish(err.Error())
			return
		}
		n, err := s.f.ReadBatch(s.bufs, s.lens)
		now := time.Now()
		s.receive(n, now)
		if now.Sub(s.lastReport) >= s.interval {
			s.report(now)
		}
		switch {
		case err == nil, errors.Is(err, flow.ErrMsgSize):
		case errors.Is(err, flow.ErrTimeout):
			if !now.Before(idleEnd) {
				s.finish(fmt.Sprintf("nothing received for %s", s.timeout))
				return
			}
		case errors.Is(err, flow.ErrPeerGone):
			s.finish("closed by the client")
			return
		case errors.Is(err, flow.ErrClosed):
			s.finish("sink stopped")
			return
		default:
			s.finish(err.Error())
			return
		}
	}
}

func (s *sink) receive(n int, now time.Time) {
	if n == 0 {
		return
	}
	var bytes uint64
	for _, l := range s.lens[:n] {
		bytes += uint64(l)
	}
	s.cur.add(uint64(n), bytes)
	s.total.add(uint64(n), bytes)
	s.lastRx = now
}

// report prints the interval that ends now.
func (s *sink) report(now time.Time) {
	span := now.Sub(s.lastReport)
	fmt.Fprintf(s.out, "flow %d: %8.3f s  %8d packets  %12d bytes  %10.3f Mbit/s\n", s.id,
		now.Sub(s.start).Seconds(), s.cur.packets, s.cur.bytes, tool.Mbps(s.cur.bytes, span))
	s.cur = count{}
	s.lastReport = now
}

// finish prints the flow's summary. The average runs from the accept to the
// last packet, so an idle timeout does not dilute it.
func (s *sink) finish(why string) {
	span := s.lastRx.Sub(s.start)
	fmt.Fprintf(s.out, "flow %d ended (%s): %d packets, %s in %.3f s: %.3f Mbit/s, %.0f pkt/s average\n",
		s.id, why, s.total.packets, tool.FormatBytes(s.total.bytes), span.Seconds(),
		tool.Mbps(s.total.bytes, span), tool.PerSecond(s.total.packets, span))
}
