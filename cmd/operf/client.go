package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

// reportWait bounds the wait for the server's report after the end marker.
// The server sends it once it has read (and in bi mode echoed) everything
// queued before the marker, which takes milliseconds on a working flow.
const reportWait = 5 * time.Second

// stallWait is how long past the test's end a blocked write may wait: a
// server that stopped reading fails the test instead of hanging it.
const stallWait = 5 * time.Second

// results are the three figures a test gives.
type results struct {
	sent     tally // by the client, over its sending time
	received tally // by the server, as it reported
	echoed   tally // back at the client (bi mode)
}

// measure runs the client: hello, data for the duration, end, report.
func measure(ctx context.Context, p *flow.Process, o options, stdout, stderr io.Writer) error {
	f, err := tool.Alloc(ctx, p, o.name, o.qos.Spec)
	if err != nil {
		return err
	}
	defer f.Close()
	size := sduSize(o.size, f.MaxSDU())
	if size != o.size {
		fmt.Fprintf(stderr, "%s: -s %d is above the flow's max SDU; sending %d-byte SDUs\n", name, o.size, size)
	}
	fmt.Fprintf(stdout, "%s to %s: %s, %d-byte SDUs, qos %s, %s\n", name, o.name, o.mode, size, o.qos.Name, o.duration)
	if _, err := f.Write(encodeHello(o.mode)); err != nil {
		return err
	}
	var rx *receiver
	if o.mode == modeBi {
		rx = startReceiver(f)
	}
	var r results
	var prog *progress
	if tool.Interactive(stdout) {
		prog = &progress{out: stdout, rx: rx}
	}
	start := time.Now()
	r.sent, err = send(ctx, f, size, start.Add(o.duration), prog)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte{kindEnd}); err != nil {
		return err
	}
	stop := repeatEnd(f)
	defer stop()
	if rx != nil {
		r.received, r.echoed, err = rx.wait(start)
	} else {
		r.received, err = readReport(f)
	}
	if err != nil {
		return err
	}
	writeResults(stdout, o.mode, r)
	return nil
}

// endRepeat is how often the end marker is sent again while no report has
// come: on a raw flow the marker may be lost (dropped behind a full queue).
const endRepeat = 250 * time.Millisecond

// repeatEnd sends the end marker again every endRepeat until stopped; the
// server reports once and ends the session, so repeats are harmless.
func repeatEnd(f *flow.Flow) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(endRepeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if _, err := f.Write([]byte{kindEnd}); err != nil {
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// sduSize lowers the size asked for to what the flow carries.
func sduSize(size, maxSDU int) int {
	if maxSDU > 0 && size > maxSDU {
		return maxSDU
	}
	return size
}

// send writes batches of data SDUs until end (or ctx ends) and returns what
// it sent over how long.
func send(ctx context.Context, f *flow.Flow, size int, end time.Time, prog *progress) (tally, error) {
	bufs, _ := tool.Batch(batch, size)
	for _, b := range bufs {
		b[0] = kindData
	}
	if err := f.SetWriteDeadline(end.Add(stallWait)); err != nil {
		return tally{}, err
	}
	var t tally
	start := time.Now()
	prog.start(start)
	for now := start; now.Before(end) && ctx.Err() == nil; now = time.Now() {
		n, err := f.WriteBatch(bufs)
		t.add(uint64(n), uint64(n*size))
		if errors.Is(err, flow.ErrTimeout) {
			return t, fmt.Errorf("%w: the server stopped reading", err)
		}
		if err != nil {
			return t, err
		}
		prog.tick(now, t)
	}
	t.elapsed = time.Since(start)
	return t, f.SetWriteDeadline(time.Time{})
}

// readReport waits for the server's report (uni mode, where nothing else
// comes back).
func readReport(f *flow.Flow) (tally, error) {
	if err := f.SetReadDeadline(time.Now().Add(reportWait)); err != nil {
		return tally{}, err
	}
	buf := make([]byte, tool.SDUBuf(f.MaxSDU()))
	for {
		n, err := f.Read(buf)
		if err != nil {
			return tally{}, noReport(err)
		}
		if n > 0 && buf[0] == kindReport {
			return decodeReport(buf[:n])
		}
	}
}

func noReport(err error) error {
	return fmt.Errorf("no report from the server: %w", err)
}

// receiver counts the echoes in bi mode, on its own goroutine, until the
// report comes.
type receiver struct {
	f       *flow.Flow
	packets atomic.Uint64
	bytes   atomic.Uint64
	done    chan struct{}
	// Set before done is closed.
	last   time.Time // when the last echo arrived
	report tally
	err    error
}

func startReceiver(f *flow.Flow) *receiver {
	r := &receiver{f: f, done: make(chan struct{})}
	go r.run()
	return r
}

func (r *receiver) run() {
	defer close(r.done)
	bufs, lens := tool.Batch(batch, tool.SDUBuf(r.f.MaxSDU()))
	for {
		n, err := r.f.ReadBatch(bufs, lens)
		now := time.Now()
		var packets, bytes uint64
		for i := range n {
			b := bufs[i][:lens[i]]
			switch {
			case len(b) > 0 && b[0] == kindData:
				packets++
				bytes += uint64(len(b))
			case len(b) > 0 && b[0] == kindReport:
				r.report, r.err = decodeReport(b)
				r.count(packets, bytes, now)
				return
			}
		}
		r.count(packets, bytes, now)
		if err != nil {
			r.err = noReport(err)
			return
		}
	}
}

func (r *receiver) count(packets, bytes uint64, now time.Time) {
	if packets > 0 {
		r.packets.Add(packets)
		r.bytes.Add(bytes)
		r.last = now
	}
}

// wait returns the server's report and the echoes counted, measured from
// start to the last echo.
func (r *receiver) wait(start time.Time) (report, echoed tally, err error) {
	select {
	case <-r.done:
	case <-time.After(reportWait):
		r.f.Close() // ends the receiver's read
		<-r.done
		return tally{}, tally{}, noReport(flow.ErrTimeout)
	}
	echoed = tally{packets: r.packets.Load(), bytes: r.bytes.Load()}
	if echoed.packets > 0 {
		echoed.elapsed = r.last.Sub(start)
	}
	return r.report, echoed, r.err
}

// progress prints a line a second while the test runs on a terminal. A nil
// *progress prints nothing.
type progress struct {
	out  io.Writer
	rx   *receiver
	t0   time.Time
	next time.Time
	prev tally  // sent, at the previous line
	echo uint64 // bytes echoed, at the previous line
	pkts uint64 // packets echoed, at the previous line
}

func (p *progress) start(now time.Time) {
	if p != nil {
		p.t0, p.next = now, now.Add(time.Second)
	}
}

func (p *progress) tick(now time.Time, sent tally) {
	if p == nil || now.Before(p.next) {
		return
	}
	span := now.Sub(p.next.Add(-time.Second))
	line := fmt.Sprintf("%6.2f s  sent %9.2f Mbit/s %9.0f pkt/s", now.Sub(p.t0).Seconds(),
		tool.Mbps(sent.bytes-p.prev.bytes, span), tool.PerSecond(sent.packets-p.prev.packets, span))
	if p.rx != nil {
		bytes, pkts := p.rx.bytes.Load(), p.rx.packets.Load()
		line += fmt.Sprintf("  echoed %9.2f Mbit/s %9.0f pkt/s", tool.Mbps(bytes-p.echo, span), tool.PerSecond(pkts-p.pkts, span))
		p.echo, p.pkts = bytes, pkts
	}
	fmt.Fprintln(p.out, line)
	p.prev, p.next = sent, now.Add(time.Second)
}

// writeResults prints the figures of a finished test.
func writeResults(w io.Writer, m mode, r results) {
	fmt.Fprintf(w, "sent      %s\n", formatTally(r.sent))
	fmt.Fprintf(w, "received  %s%s\n", formatTally(r.received), lossNote(r.sent.packets, r.received.packets, "by the server"))
	if m == modeBi {
		fmt.Fprintf(w, "echoed    %s%s\n", formatTally(r.echoed), lossNote(r.received.packets, r.echoed.packets, "back at the client"))
	}
}

// lossNote says where the figure was measured and how many SDUs were lost
// on the way.
func lossNote(before, after uint64, where string) string {
	if after >= before {
		return " (" + where + ")"
	}
	return fmt.Sprintf(" (%s; %d lost, %s%%)", where, before-after,
		tool.FormatPercent(float64(before-after)*100/float64(before)))
}
