package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

// batch is how many SDUs operf moves per system call.
const batch = 32

// session is the server's side of one test, on one flow, in one goroutine.
type session struct {
	f     *flow.Flow
	out   io.Writer
	mode  mode
	rx    tally
	first time.Time // when the first data arrived
	ended bool      // the client's end marker arrived
	bufs  [][]byte
	lens  []int
	echo  [][]byte
}

func newSession(f *flow.Flow, out io.Writer) *session {
	s := &session{f: f, out: out, mode: modeUni, echo: make([][]byte, 0, batch)}
	s.bufs, s.lens = tool.Batch(batch, tool.SDUBuf(f.MaxSDU()))
	return s
}

// run serves the test until the client closes the flow.
func (s *session) run() {
	for {
		n, err := s.f.ReadBatch(s.bufs, s.lens)
		if errors.Is(err, flow.ErrMsgSize) && n > 0 {
			// The last SDU did not fit; count what arrived of it.
			s.lens[n-1], err = len(s.bufs[n-1]), nil
		}
		if herr := s.handle(n, time.Now()); err == nil {
			err = herr
		}
		if err != nil {
			s.finish(err)
			return
		}
	}
}

// handle accounts for a batch of n SDUs, echoes the data in bi mode, and
// answers the end marker with the report.
func (s *session) handle(n int, now time.Time) error {
	s.echo = s.echo[:0]
	for i := range n {
		b := s.bufs[i][:s.lens[i]]
		if len(b) == 0 {
			continue
		}
		switch b[0] {
		case kindData:
			if s.rx.packets == 0 {
				s.first = now
			}
			s.rx.add(1, uint64(len(b)))
			if s.mode == modeBi {
				s.echo = append(s.echo, b)
			}
		case kindHello:
			if m, err := decodeHello(b); err == nil {
				s.mode = m
			}
		case kindEnd:
			if err := s.flush(); err != nil {
				return err
			}
			return s.report(now)
		}
	}
	return s.flush()
}

func (s *session) flush() error {
	if len(s.echo) == 0 {
		return nil
	}
	_, err := s.f.WriteBatch(s.echo)
	s.echo = s.echo[:0]
	return err
}

func (s *session) report(now time.Time) error {
	if s.rx.packets > 0 {
		s.rx.elapsed = now.Sub(s.first)
	}
	s.ended = true
	fmt.Fprintf(s.out, "flow %d (%s): received %s%s\n", s.f.ID(), s.mode, formatTally(s.rx), skippedNote(s.f.Skipped()))
	_, err := s.f.Write(s.rx.encode())
	return err
}

// finish says how the flow ended, unless the test ended normally.
func (s *session) finish(err error) {
	if s.ended && errors.Is(err, flow.ErrPeerGone) {
		return
	}
	if s.rx.packets > 0 {
		s.rx.elapsed = time.Since(s.first)
	}
	fmt.Fprintf(s.out, "flow %d (%s): ended before the test did (%v); received %s%s\n",
		s.f.ID(), s.mode, err, formatTally(s.rx), skippedNote(s.f.Skipped()))
}

// skippedNote tells how many SDUs the flow's FRCT skipped, lost below it
// on an in-order flow that is not reliable; nothing when none were.
func skippedNote(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d SDUs skipped, lost on the way", n)
}

// formatTally renders "N packets, B in T: R Mbit/s, P pkt/s".
func formatTally(t tally) string {
	return fmt.Sprintf("%d packets, %s in %.3f s: %.2f Mbit/s, %.0f pkt/s",
		t.packets, tool.FormatBytes(t.bytes), t.elapsed.Seconds(),
		tool.Mbps(t.bytes, t.elapsed), tool.PerSecond(t.packets, t.elapsed))
}
