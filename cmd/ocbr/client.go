package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

// Pacing parameters: packets due within slack go at once; a burst is one
// WriteBatch.
const (
	slack    = time.Millisecond
	maxBurst = 64
)

// stallWait is how long past the stream's end a blocked write may wait.
const stallWait = 5 * time.Second

// sent is what the client sent.
type sent struct {
	packets, bytes uint64
	elapsed        time.Duration
}

// stream sends the constant-bit-rate stream and prints what it sent.
func stream(ctx context.Context, p *flow.Process, o options, stdout, stderr io.Writer) error {
	f, err := tool.Alloc(ctx, p, o.name, o.qos.Spec)
	if err != nil {
		return err
	}
	defer f.Close()
	size := o.size
	if limit := f.MaxSDU(); limit > 0 && size > limit {
		fmt.Fprintf(stderr, "%s: -s %d is above the flow's max SDU; sending %d-byte SDUs\n", name, size, limit)
		size = limit
	}
	target := "as fast as possible"
	if !o.flood {
		target = tool.FormatRate(o.rate) + "bit/s"
	}
	fmt.Fprintf(stdout, "%s to %s: %d-byte SDUs, %s, qos %s, %s\n", name, o.name, size, target, o.qos.Name, o.duration)
	s, err := send(ctx, f, o, size)
	fmt.Fprintf(stdout, "sent %d packets, %s in %.3f s: %.3f Mbit/s, %.0f pkt/s\n", s.packets, tool.FormatBytes(s.bytes),
		s.elapsed.Seconds(), tool.Mbps(s.bytes, s.elapsed), tool.PerSecond(s.packets, s.elapsed))
	if ctx.Err() != nil {
		return nil // Ctrl-C ends the stream early, not in error
	}
	return err
}

// send paces the SDUs until the duration has passed or ctx ends.
func send(ctx context.Context, f *flow.Flow, o options, size int) (sent, error) {
	bufs, _ := tool.Batch(maxBurst, size)
	pc := newPacer(size, o.rate, slack)
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()

	start := time.Now()
	end := start.Add(o.duration)
	if err := f.SetWriteDeadline(end.Add(stallWait)); err != nil {
		return sent{}, err
	}
	// A paced stream sends exactly the packets due within the duration,
	// however the last burst falls.
	total := uint64(math.MaxUint64)
	if !o.flood {
		total = pc.before(o.duration)
	}
	var s sent
	var err error
	for now := start; now.Before(end) && s.packets < total && ctx.Err() == nil; now = time.Now() {
		n, wait := maxBurst, time.Duration(0)
		if !o.flood {
			n, wait = pc.next(s.packets, now.Sub(start), int(min(total-s.packets, maxBurst)))
		}
		if n == 0 {
			sleepFor(ctx, sleep, min(wait, end.Sub(now)))
			continue
		}
		var w int
		w, err = f.WriteBatch(bufs[:n])
		s.packets += uint64(w)
		s.bytes += uint64(w * size)
		if err != nil {
			break
		}
	}
	s.elapsed = time.Since(start)
	if errors.Is(err, flow.ErrTimeout) {
		err = fmt.Errorf("%w: the sink stopped reading", err)
	}
	return s, err
}

// sleepFor waits for d or until ctx ends, reusing one timer.
func sleepFor(ctx context.Context, t *time.Timer, d time.Duration) {
	t.Reset(d)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
}
