// Package linktest gives an in-memory double of link.Flow for tests of the
// ovpn engine: Pipe returns the two ends of one flow, and what one end
// writes the other reads, SDU by SDU, in batches.
//
//	a.WriteBatch(sdus) ─► each copied into a free buffer ─► b's queue ─► b.ReadBatch: copied out, buffer freed
//
// As a flow: an SDU longer than MaxSDU, or empty, fails the whole
// WriteBatch and nothing is sent; ReadBatch blocks for one SDU and takes
// those ready behind it; Close on either end ends the flow: a pending
// ReadBatch on either end returns once the SDUs already queued to it are
// read, then ErrClosed, and writes fail with ErrClosed. Unlike a raw flow
// it never loses an SDU: a WriteBatch waits while the other end's queue is
// full. Nothing is allocated per SDU.
package linktest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// QueueLen is how many SDUs one end holds for its reader.
const QueueLen = 256

// ErrClosed is wrapped by the errors of an ended flow; it matches
// net.ErrClosed.
var ErrClosed = fmt.Errorf("linktest: flow ended: %w", net.ErrClosed)

// ErrSize is wrapped by the error of a WriteBatch with an SDU that is empty
// or longer than MaxSDU.
var ErrSize = errors.New("linktest: SDU empty or longer than MaxSDU")

// queue holds the SDUs written towards one end, and the free buffers they
// are copied into.
type queue struct {
	sdus chan []byte
	free chan []byte
}

func newQueue(maxSDU int) *queue {
	q := &queue{sdus: make(chan []byte, QueueLen), free: make(chan []byte, QueueLen)}
	for range QueueLen {
		q.free <- make([]byte, 0, maxSDU)
	}
	return q
}

// shared is what the two ends of a pipe share.
type shared struct {
	maxSDU int
	once   sync.Once
	ended  chan struct{}
}

// End is one end of a flow. It implements link.Flow.
type End struct {
	s        *shared
	in, out  *queue
	rmu, wmu sync.Mutex
	sent     atomic.Uint64
	closed   atomic.Bool // this end called Close
}

// Pipe returns the two ends of a flow carrying SDUs of up to maxSDU bytes.
func Pipe(maxSDU int) (a, b *End) {
	s := &shared{maxSDU: maxSDU, ended: make(chan struct{})}
	qa, qb := newQueue(maxSDU), newQueue(maxSDU)
	return &End{s: s, in: qa, out: qb}, &End{s: s, in: qb, out: qa}
}

// MaxSDU is the largest SDU the flow carries.
func (e *End) MaxSDU() int { return e.s.maxSDU }

// Sent is how many SDUs this end has written.
func (e *End) Sent() uint64 { return e.sent.Load() }

// Close ends the flow, for both ends. It may be called more than once.
func (e *End) Close() error {
	e.closed.Store(true)
	e.s.once.Do(func() { close(e.s.ended) })
	return nil
}

// Ended is closed when the flow has ended.
func (e *End) Ended() <-chan struct{} { return e.s.ended }

// ReadBatch reads up to len(bufs) SDUs, at least one, into bufs, their
// lengths into lens. An SDU longer than its buffer is cut, with an error.
// Once this end is closed it returns ErrClosed at once; once the other end
// is, after the SDUs queued here.
func (e *End) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	if e.closed.Load() {
		return 0, ErrClosed
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	var sdu []byte
	select {
	case sdu = <-e.in.sdus:
	default:
		select {
		case sdu = <-e.in.sdus:
		case <-e.s.ended:
			select { // the other end's reader still reads what was queued
			case sdu = <-e.in.sdus:
				if !e.closed.Load() {
					break
				}
				e.in.free <- sdu[:0]
				return 0, ErrClosed
			default:
				return 0, ErrClosed
			}
		}
	}
	n := 0
	for {
		lens[n] = copy(bufs[n], sdu)
		short := len(sdu) > len(bufs[n])
		e.in.free <- sdu[:0]
		n++
		if short {
			return n, fmt.Errorf("linktest: %d-byte SDU cut to a %d-byte buffer", len(sdu), len(bufs[n-1]))
		}
		if n == len(bufs) {
			return n, nil
		}
		select {
		case sdu = <-e.in.sdus:
		default:
			return n, nil
		}
	}
}

// WriteBatch writes each of bufs as one SDU and returns how many it wrote.
func (e *End) WriteBatch(bufs [][]byte) (int, error) {
	for _, b := range bufs {
		if len(b) == 0 || len(b) > e.s.maxSDU {
			return 0, fmt.Errorf("%w: %d bytes, MaxSDU %d", ErrSize, len(b), e.s.maxSDU)
		}
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	for i, b := range bufs {
		select {
		case <-e.s.ended: // checked first: select picks at random among ready cases
			return i, ErrClosed
		default:
		}
		var q []byte
		select {
		case <-e.s.ended:
			return i, ErrClosed
		case q = <-e.out.free:
		}
		e.out.sdus <- append(q, b...)
		e.sent.Add(1)
	}
	return len(bufs), nil
}
