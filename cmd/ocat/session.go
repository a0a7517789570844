package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/flow"
)

// Sizes: the sender reads up to readChunks SDUs' worth of input at a time
// and writes them with one WriteBatch; the receiver reads batches of SDUs
// into recvMem bytes of buffers.
const (
	maxChunk   = 64 << 10
	readChunks = 16
	recvMem    = 2 << 20
	outBuf     = 256 << 10
)

// session copies one flow: in (if not nil) to the flow, the flow to out.
type session struct {
	f      *flow.Flow
	in     io.Reader
	out    io.Writer
	linger time.Duration
	// interactive: in is a terminal, so a pause in it is a person, not an
	// unfinished input.
	interactive bool

	holding atomic.Bool   // the sender has input in hand that is not sent yet
	rxBytes atomic.Uint64 // bytes written to out
}

// errUnsent is the error of a side whose input was not all sent.
var errUnsent = errors.New("the peer closed the flow before all of standard input was sent")

// run copies until the transfer ends: at the end of in, when the peer closes
// the flow, on an error, or when ctx ends.
func (s *session) run(ctx context.Context) error {
	recvDone := make(chan error, 1)
	go func() { recvDone <- s.receive() }()
	var sendDone chan error // nil, so never ready, when not sending
	if s.in != nil {
		sendDone = make(chan error, 1)
		go func() { sendDone <- s.send() }()
	}
	select {
	case err := <-sendDone:
		return s.sent(err, recvDone)
	case err := <-recvDone:
		return s.received(err, sendDone)
	case <-ctx.Done():
		s.f.Close()
		return ctx.Err()
	}
}

// sent ends the transfer after the sender stopped: at the end of the input
// the flow is lingered on if asked, and closed. Closing loses nothing: irmd
// reads every SDU queued on the flow's socket before it sees the close, and
// a reliable flow's close fails if the peer did not acknowledge everything.
func (s *session) sent(err error, recvDone <-chan error) error {
	if err != nil {
		s.f.Close()
		<-recvDone
		if errors.Is(err, flow.ErrPeerGone) {
			return errUnsent
		}
		return err
	}
	if s.linger > 0 {
		select {
		case err := <-recvDone:
			return endOf(err)
		case <-time.After(s.linger):
		}
	}
	cerr := s.f.Close()
	<-recvDone // the receiver ends with the close; what it printed is all there is
	switch {
	case cerr == nil, errors.Is(cerr, flow.ErrClosed):
		return nil
	case errors.Is(cerr, flow.ErrPeerGone):
		return errUnsent
	}
	// On a reliable flow the close waits for the peer to acknowledge
	// everything: it failed, so the end of the input may not have arrived.
	return cerr
}

// received ends the transfer after the receiver stopped, normally because
// the peer closed the flow. If the sender still held input, it was cut short.
func (s *session) received(err error, sendDone <-chan error) error {
	if err := endOf(err); err != nil {
		s.f.Close()
		return err
	}
	if sendDone == nil {
		return nil
	}
	select {
	case serr := <-sendDone: // the sender finished too
		if serr != nil && !errors.Is(serr, flow.ErrPeerGone) {
			return serr
		}
		if serr == nil {
			return nil
		}
		return errUnsent
	default:
	}
	// The sender has not reached the end of its input: the transfer is cut
	// short, unless it merely waits for someone to type.
	if s.holding.Load() || !s.interactive {
		return errUnsent
	}
	return nil
}

// endOf maps the receiver's end: the peer closing, or this side closing, is
// the normal end of a transfer. On every QoS but raw only the peer's
// orderly close is ErrPeerGone: a flow torn down below it (irmd or a layer
// ended it, a forged teardown, a peer that crashed or vanished) is
// ErrAborted, and the transfer is incomplete.
func endOf(err error) error {
	if tool.Ended(err) {
		return nil
	}
	if errors.Is(err, flow.ErrAborted) {
		return fmt.Errorf("%w; the transfer is incomplete", err)
	}
	if errors.Is(err, flow.ErrFlowDown) {
		return fmt.Errorf("%w: irmd or the layer ended the flow; the transfer is incomplete", err)
	}
	return err
}

// send copies the input to the flow in SDUs of chunkSize, a batch per read.
func (s *session) send() error {
	chunk := chunkSize(s.f.MaxSDU())
	buf := make([]byte, chunk*readChunks)
	bufs := make([][]byte, 0, readChunks)
	for {
		n, rerr := s.in.Read(buf)
		if n > 0 {
			s.holding.Store(true)
			bufs = split(buf[:n], chunk, bufs[:0])
			if _, err := s.f.WriteBatch(bufs); err != nil {
				return err
			}
			s.holding.Store(false)
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return fmt.Errorf("reading standard input: %w", rerr)
		}
	}
}

// receive copies the flow to the output until the flow ends; it returns the
// error that ended it. A flow that ended normally but skipped SDUs on the
// way (lost below FRCT on a best-effort flow) ends with errLost: what was
// written is not what the peer sent.
func (s *session) receive() error {
	err := s.copyOut()
	if tool.Ended(err) {
		if n := s.f.Skipped(); n > 0 {
			return &errLost{n: n}
		}
	}
	return err
}

// errLost says that the output misses SDUs the flow knows were sent.
type errLost struct{ n uint64 }

func (e *errLost) Error() string {
	return fmt.Sprintf("%d SDUs sent on the flow never arrived and were skipped (its QoS is not reliable; use -q data for every byte): the output is incomplete", e.n)
}

// copyOut copies the flow to the output until the flow ends.
func (s *session) copyOut() error {
	size := tool.SDUBuf(s.f.MaxSDU())
	bufs, lens := tool.Batch(max(1, min(readChunks, recvMem/size)), size)
	w := bufio.NewWriterSize(s.out, outBuf)
	for {
		n, err := s.f.ReadBatch(bufs, lens)
		if errors.Is(err, flow.ErrMsgSize) {
			n = max(n-1, 0) // cut short: writing it would corrupt the output
			err = fmt.Errorf("an SDU larger than %d bytes arrived and was cut: %w", size, err)
		}
		for i := range n {
			w.Write(bufs[i][:lens[i]])
			s.rxBytes.Add(uint64(lens[i]))
		}
		// Flush per batch: interactive peers see each line as it comes,
		// bulk transfers still write large blocks.
		if ferr := w.Flush(); ferr != nil {
			return fmt.Errorf("writing standard output: %w", ferr)
		}
		if err != nil {
			return err
		}
	}
}

// chunkSize is the SDU size the sender cuts its input into.
func chunkSize(maxSDU int) int {
	if maxSDU <= 0 || maxSDU > maxChunk {
		return maxChunk
	}
	return maxSDU
}

// split cuts b into pieces of at most size bytes, appended to dst.
func split(b []byte, size int, dst [][]byte) [][]byte {
	for len(b) > size {
		dst = append(dst, b[:size])
		b = b[size:]
	}
	if len(b) > 0 {
		dst = append(dst, b)
	}
	return dst
}
