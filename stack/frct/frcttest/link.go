// Package frcttest provides an in-memory link between two frct.Lower ends,
// impaired on request, for FRCT's tests and benchmarks.
//
// Each direction of a link is a bounded queue of PDUs ordered by the time
// each becomes readable (its due time). What a direction does to the PDUs
// written into it is fixed by its Impairment: loss, duplication, reordering,
// a base delay and jitter, all decided when the PDU is written, from a PRNG
// seeded by Impairment.Seed. A full queue pushes back on the writer, as the
// socket below FRCT does.
//
//	a.WriteBatch ─► impair ─► [a→b queue, by due time] ─► b.ReadBatch
//	a.ReadBatch  ◄──────────── [b→a queue, by due time] ◄─ impair ◄─ b.WriteBatch
//
// Neither direction runs a goroutine or a timer per PDU: a reader sleeps
// until the earliest due time or its deadline, and writers are woken only
// when a read frees room.
package frcttest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"
)

// Errors of End operations, besides those of the io and os packages named in
// the method docs.
var (
	// ErrClosed is returned by every operation on an End after its Close,
	// including operations blocked when Close was called. It matches
	// os.ErrClosed, as the socket below FRCT does.
	ErrClosed error = closedError{}
	// ErrEmpty is returned when writing a zero-length PDU: the socket below
	// FRCT refuses them, since a zero-length read means end of stream.
	ErrEmpty = errors.New("frcttest: empty PDU")
	// ErrTruncated is returned by ReadBatch when a PDU was longer than its
	// buffer. The PDU counts as read; its buffer holds the first len(buf)
	// bytes and its length is given as len(buf). The batch ends there.
	ErrTruncated = errors.New("frcttest: PDU longer than the read buffer")
)

// Impairment describes what one direction of a link does to the PDUs it
// carries. The zero value is a perfect link: every PDU arrives once, at
// once, in order.
//
// The decisions for the n-th PDU written in a direction depend only on Seed
// and n (and the probability in question): every PDU draws the same number
// of values from the PRNG, so, say, adding jitter does not change which
// PDUs are lost. With concurrent writers, n depends on their interleaving.
type Impairment struct {
	// Loss is the probability that a PDU is dropped. A dropped PDU still
	// counts as written.
	Loss float64
	// Duplicate is the probability that a PDU is delivered twice. The copy
	// is due at the same time and is read just after the original, or
	// before it if the original is held back by Reorder.
	Duplicate float64
	// Reorder is the probability that a PDU is held back until 1 to 3
	// (chosen at random) later PDUs have been queued (neither dropped nor
	// held), and then read right after the last of them, or at its own due
	// time if later. If the link falls silent first, it is released
	// Delay+Jitter+1ms after its due time. Reordering needs no Delay.
	Reorder float64
	// Delay is the one-way base delay.
	Delay time.Duration
	// Jitter adds a uniform extra delay in [0, Jitter) to each PDU. As PDUs
	// are read in order of due time, jitter reorders PDUs sent closer
	// together than the jitter.
	Jitter time.Duration
	// Seed seeds the direction's PRNG (PCG). The two directions of a link
	// use different streams even when their seeds are equal.
	Seed uint64
}

func (imp Impairment) validate() error {
	for _, p := range []float64{imp.Loss, imp.Duplicate, imp.Reorder} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("frcttest: probability %v outside [0, 1]", p)
		}
	}
	if imp.Delay < 0 || imp.Jitter < 0 {
		return fmt.Errorf("frcttest: negative delay %v or jitter %v", imp.Delay, imp.Jitter)
	}
	return nil
}

// Stats counts the PDUs of one direction of a link.
type Stats struct {
	Sent       uint64 // written into the link, dropped ones included
	Delivered  uint64 // read by the other end, duplicates included
	Dropped    uint64 // lost
	Duplicated uint64 // delivered twice
	Reordered  uint64 // held back by Reorder (reordering by jitter is not counted)
}

// Option configures a link.
type Option func(*config)

type config struct {
	queue int
	mtu   int
}

// WithQueue sets the capacity of each direction's queue in PDUs, counting
// those in flight (delayed or held back); the default is 1024. A duplicate
// may take the queue one PDU past its capacity. n must be positive.
func WithQueue(n int) Option {
	return func(c *config) { c.queue = n }
}

// WithMTU sets the largest PDU a link carries, in bytes; the default is
// 65535. Writing a larger PDU fails with an error matching syscall.EMSGSIZE.
// n must be positive.
func WithMTU(n int) Option {
	return func(c *config) { c.mtu = n }
}

// PRNG streams of the two directions, so that equal seeds give different
// decisions in each.
const (
	streamAB = 0x6f37_732e_6465_7601 // "o7s.dev" a→b
	streamBA = 0x6f37_732e_6465_7602
)

// Link returns the two ends of a new link: what a writes, b reads, impaired
// as ab says; what b writes, a reads, impaired as ba says. It panics on an
// invalid Impairment or Option, which are programming errors in a test.
func Link(ab, ba Impairment, opts ...Option) (a, b *End) {
	cfg := config{queue: 1024, mtu: 65535}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.queue < 1 || cfg.mtu < 1 {
		panic(fmt.Sprintf("frcttest: queue %d and MTU %d must be positive", cfg.queue, cfg.mtu))
	}
	for _, imp := range []Impairment{ab, ba} {
		if err := imp.validate(); err != nil {
			panic(err)
		}
	}
	epoch := time.Now()
	pab := newPipe(ab, rand.NewPCG(ab.Seed, streamAB), cfg, epoch)
	pba := newPipe(ba, rand.NewPCG(ba.Seed, streamBA), cfg, epoch)
	return &End{out: pab, in: pba}, &End{out: pba, in: pab}
}

// End is one end of a link. It implements frct.Lower: one goroutine may
// call ReadBatch while any number call WriteBatch and TryWriteBatch, and any
// method may be called from any goroutine.
type End struct {
	out    *pipe // what this end writes
	in     *pipe // what this end reads
	closed atomic.Bool
}

// ReadBatch reads up to len(bufs) PDUs that are due, storing their lengths
// in lens (which must be at least as long as bufs), and returns how many it
// read. It blocks until at least one PDU is due, and returns:
//   - an error matching os.ErrDeadlineExceeded when the read deadline passes
//     first; with a deadline already past it returns what is due without
//     waiting, or that error if nothing is;
//   - io.EOF once the other end has closed and every PDU it wrote before
//     has been read (PDUs in flight at Close are still delivered when due);
//   - ErrTruncated, after n PDUs, if the n-th did not fit its buffer;
//   - ErrClosed once this end is closed, also to a call blocked in it.
//
// With len(bufs) == 0 it returns 0, nil at once.
func (e *End) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	return e.in.read(bufs, lens)
}

// SetReadDeadline sets the deadline of ReadBatch; the zero Time means none.
// Called while ReadBatch blocks, it takes effect for that call.
func (e *End) SetReadDeadline(t time.Time) error {
	return e.in.setReadDeadline(t)
}

// WriteBatch writes each of pdus as one PDU, in order, and returns how many
// it wrote. Each PDU is copied, so the caller may reuse its buffer at once.
// While the queue is full it blocks until a read frees room, and returns
// early with an error:
//   - matching os.ErrDeadlineExceeded when the write deadline passes; with a
//     deadline already past it writes what fits without waiting;
//   - matching syscall.EMSGSIZE at a PDU longer than the MTU, or ErrEmpty at
//     an empty one;
//   - io.ErrClosedPipe once the other end is closed;
//   - ErrClosed once this end is closed, also to a call blocked in it.
func (e *End) WriteBatch(pdus [][]byte) (int, error) {
	return e.out.write(pdus, true)
}

// SetWriteDeadline sets the deadline of WriteBatch; the zero Time means
// none. Called while WriteBatch blocks, it takes effect for that call.
func (e *End) SetWriteDeadline(t time.Time) error {
	return e.out.setWriteDeadline(t)
}

// TryWriteBatch writes what fits of pdus without blocking and returns how
// many it wrote: a full queue gives 0, nil. It ignores the write deadline
// and fails as WriteBatch does otherwise.
func (e *End) TryWriteBatch(pdus [][]byte) (int, error) {
	return e.out.write(pdus, false)
}

// Close closes this end. Its own operations then fail with ErrClosed, those
// blocked included, and what was queued towards it is discarded. The other
// end reads what this end wrote before Close, each PDU when due, then
// io.EOF, and its writes fail with io.ErrClosedPipe. Closing twice returns
// ErrClosed.
func (e *End) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	e.out.closeSource()
	e.in.closeSink()
	return nil
}

// Stats returns the counters of the direction from this end to the other.
func (e *End) Stats() Stats {
	return e.out.snapshot()
}

type closedError struct{}

func (closedError) Error() string { return "frcttest: use of closed End" }

func (closedError) Is(target error) bool { return target == os.ErrClosed }
