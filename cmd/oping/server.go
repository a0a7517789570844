package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

// serverBatch is how many pings the server moves per system call.
const serverBatch = 32

// writeWait bounds how long the server waits for room in a client's queue.
// A client that does not read its replies loses them, as on a congested
// network, rather than stalling the replies to every other client.
const writeWait = 50 * time.Millisecond

// serve accepts flows and echoes pings on all of them from one goroutine,
// waiting on an event set, until ctx ends.
func serve(ctx context.Context, p *flow.Process, log io.Writer) error {
	tool.Banner(ctx, log, p, name)
	set, err := flow.NewEventSet()
	if err != nil {
		return err
	}
	defer set.Close()
	// The echoer and the acceptor end together: when one fails, the
	// cancellation stops the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e := &echoer{set: set, log: log, echoed: make(map[*flow.Flow]uint64)}
	done := make(chan error, 1)
	go func() {
		done <- e.run(ctx)
		cancel()
	}()
	err = acceptInto(ctx, p, set, log)
	cancel()
	if eerr := <-done; err == nil {
		err = eerr
	}
	return err
}

// acceptInto adds every accepted flow to set until ctx ends.
func acceptInto(ctx context.Context, p *flow.Process, set *flow.EventSet, log io.Writer) error {
	for {
		f, err := p.Accept(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, flow.ErrIRMd):
			return err
		case err != nil:
			fmt.Fprintf(log, "accept: %v\n", err)
			time.Sleep(100 * time.Millisecond) // do not spin if irmd keeps refusing
			continue
		}
		if err := set.Add(f); err != nil {
			fmt.Fprintf(log, "flow %d: %v\n", f.ID(), err)
			f.Close()
			continue
		}
		fmt.Fprintf(log, "flow %d to %s (qos %s): accepted\n", f.ID(), f.Name(), f.QoS())
	}
}

// echoer turns requests into replies on every flow in its set. Only its own
// goroutine touches its fields.
type echoer struct {
	set    *flow.EventSet
	log    io.Writer
	echoed map[*flow.Flow]uint64
	bufs   [][]byte
	lens   []int
	out    [][]byte
}

func (e *echoer) run(ctx context.Context) error {
	var evs []flow.Event
	for {
		var err error
		evs, err = e.set.Wait(ctx, evs[:0])
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, ev := range evs {
			e.serveFlow(ev.Flow)
		}
	}
}

// serveFlow echoes the pings waiting on f; the event set said there is at
// least one, or that f ended, so the read does not block.
func (e *echoer) serveFlow(f *flow.Flow) {
	e.grow(tool.SDUBuf(f.MaxSDU()))
	n, err := f.ReadBatch(e.bufs, e.lens)
	if errors.Is(err, flow.ErrMsgSize) {
		n, err = max(n-1, 0), nil // the last SDU was cut short: not a ping we can echo
	}
	e.out = e.out[:0]
	for i := range n {
		if b := e.bufs[i][:e.lens[i]]; toReply(b) {
			e.out = append(e.out, b)
		}
	}
	if err == nil && len(e.out) > 0 {
		err = e.reply(f)
	}
	if err != nil {
		e.end(f, err)
	}
}

func (e *echoer) reply(f *flow.Flow) error {
	if err := f.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
		return err
	}
	n, err := f.WriteBatch(e.out)
	e.echoed[f] += uint64(n)
	if errors.Is(err, flow.ErrTimeout) {
		return nil // the client is not reading: its replies are dropped
	}
	return err
}

// end takes a finished flow out of the set and says why it ended.
func (e *echoer) end(f *flow.Flow, err error) {
	e.set.Remove(f)
	f.Close()
	why := err.Error()
	if errors.Is(err, flow.ErrPeerGone) {
		why = "closed by the client"
	}
	fmt.Fprintf(e.log, "flow %d: %s, %d pings echoed\n", f.ID(), why, e.echoed[f])
	delete(e.echoed, f)
}

// grow makes the batch buffers at least size bytes each.
func (e *echoer) grow(size int) {
	if len(e.bufs) > 0 && len(e.bufs[0]) >= size {
		return
	}
	e.bufs, e.lens = tool.Batch(serverBatch, size)
}
