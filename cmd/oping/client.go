package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"o7s.dev/ouroboros/stack/flow"
)

// errNoReply is the client's failure when no ping came back.
var errNoReply = errors.New("no reply received")

// pinger is the client. It runs in one goroutine: each Read waits with a
// deadline at the next send time, so sending and receiving need no locks
// and no timer per ping.
type pinger struct {
	o     options
	f     *flow.Flow
	out   io.Writer
	start time.Time // origin of the send times carried in pings
	req   []byte
	buf   []byte

	t        tracker
	rtt      rttStats
	lastSend time.Time
}

func newPinger(o options, f *flow.Flow, out io.Writer) *pinger {
	return &pinger{o: o, f: f, out: out,
		req: make([]byte, o.size),
		// Replies are as long as requests; anything longer is not ours.
		buf: make([]byte, o.size+1),
	}
}

// run pings until the count or duration is reached and every reply is in or
// WAIT has passed since the last ping, or until ctx ends; then it prints the
// summary.
func (pg *pinger) run(ctx context.Context) error {
	// Closing the flow is what makes a blocked Read return on Ctrl-C.
	stop := context.AfterFunc(ctx, func() { pg.f.Close() })
	defer stop()

	fmt.Fprintf(pg.out, "PING %s (qos %s): %d bytes\n", pg.o.name, pg.o.qos.Name, pg.o.size)
	pg.start = time.Now()
	err := pg.loop(ctx)
	summary{name: pg.o.name, elapsed: time.Since(pg.start), t: &pg.t, rtt: &pg.rtt}.write(pg.out)
	if err == nil && pg.t.sent > 0 && pg.t.received == 0 {
		err = errNoReply
	}
	return err
}

func (pg *pinger) loop(ctx context.Context) error {
	next := pg.start
	for ctx.Err() == nil {
		now := time.Now()
		if pg.sending(now) && !now.Before(next) {
			if err := pg.send(now); err != nil {
				return pg.interrupted(ctx, err)
			}
			next = pg.nextSend(next, now)
			continue
		}
		deadline, done := pg.deadline(now, next)
		if done {
			return nil
		}
		if err := pg.f.SetReadDeadline(deadline); err != nil {
			return pg.interrupted(ctx, err)
		}
		n, err := pg.f.Read(pg.buf)
		now = time.Now()
		switch {
		case err == nil:
			if pg.receive(pg.buf[:n], now) && pg.o.flood {
				next = now
			}
		case errors.Is(err, flow.ErrTimeout):
		case errors.Is(err, flow.ErrMsgSize):
			pg.t.bogus++
		default:
			return pg.interrupted(ctx, err)
		}
	}
	return nil
}

// interrupted hides the error a flow closed by Ctrl-C gives.
func (pg *pinger) interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	switch {
	case errors.Is(err, flow.ErrAborted):
		return err // it says why
	case errors.Is(err, flow.ErrPeerGone):
		return fmt.Errorf("%w: the server closed the flow", err)
	case errors.Is(err, flow.ErrFlowDown):
		return fmt.Errorf("%w: irmd or the layer ended the flow", err)
	}
	return err
}

// sending reports whether more pings are to be sent.
func (pg *pinger) sending(now time.Time) bool {
	o := pg.o
	return (o.count == 0 || pg.t.sent < uint64(o.count)) &&
		(o.duration == 0 || now.Sub(pg.start) < o.duration)
}

// nextSend returns when the ping after the one just sent is due. A pinger
// that fell behind (a slow terminal, a stopped process) does not burst to
// catch up: it resumes the interval from now.
func (pg *pinger) nextSend(prev, now time.Time) time.Time {
	if pg.o.flood {
		return now.Add(pg.o.wait) // or as soon as the reply arrives
	}
	next := prev.Add(pg.o.interval)
	if next.Before(now) {
		return now
	}
	return next
}

// deadline returns how long the next Read may wait, and done when there is
// nothing left to wait for.
func (pg *pinger) deadline(now, next time.Time) (time.Time, bool) {
	if pg.sending(now) {
		return next, false
	}
	end := pg.lastSend.Add(pg.o.wait)
	if pg.t.outstanding() == 0 || !now.Before(end) {
		return time.Time{}, true
	}
	return end, false
}

func (pg *pinger) send(now time.Time) error {
	h := header{typ: typeRequest, seq: pg.t.send(), sent: int64(now.Sub(pg.start))}
	h.encode(pg.req)
	pg.lastSend = now
	_, err := pg.f.Write(pg.req)
	return err
}

// receive accounts for one reply and prints its line. It reports whether the
// reply answers the latest ping, which is when a flood sends the next.
func (pg *pinger) receive(b []byte, now time.Time) bool {
	h, err := decode(b)
	rtt := now.Sub(pg.start) - time.Duration(h.sent)
	if err != nil || h.typ != typeReply || rtt < 0 {
		pg.t.bogus++
		return false
	}
	kind := pg.t.reply(h.seq)
	note := ""
	switch kind {
	case replyNew:
		pg.rtt.add(rtt)
	case replyReordered:
		pg.rtt.add(rtt)
		note = " (out of order)"
	case replyDuplicate:
		note = " (DUP!)"
	default:
		return false
	}
	if !pg.o.quiet {
		fmt.Fprintf(pg.out, "%d bytes from %s: seq=%d time=%s ms%s\n", len(b), pg.o.name, h.seq, ms(rtt), note)
	}
	return kind == replyNew && uint64(h.seq) == (pg.t.sent-1)%(1<<32)
}
