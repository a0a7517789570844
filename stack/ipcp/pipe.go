package ipcp

// A pipe joins two IPCPs of one host: a layered IPCP's flow over a lower
// layer is one pipe, whose ends are Ports.
//
//	upper IPCP ─WriteBatch─► queue a→b ─ReadBatch─► lower IPCP ─► network
//	upper IPCP ◄─ReadBatch── queue b→a ◄WriteBatch─ lower IPCP ◄─ network
//
// Packets are copied into the queue's own slots, so a writer may reuse its
// buffers as soon as a write returns; nothing crosses a system call.

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"o7s.dev/ouroboros/stack/ctrl"
)

// ErrPipeDown is what writes to a pipe return once either end is down.
var ErrPipeDown = errors.New("flow is down")

// pipeQueue is one direction of a pipe: a ring of SDU slots.
type pipeQueue struct {
	mu     sync.Mutex
	slots  [][]byte // each slot's capacity is reused
	head   int      // next slot to read
	n      int      // queued SDUs
	closed bool
	// dropped counts SDUs longer than the reader's buffer, and those a
	// TryWriteBatch found no room for.
	dropped uint64
	// transform, if set, rewrites each SDU as it is queued (sealing it);
	// failed counts the SDUs it refused, which are dropped.
	transform Transform
	failed    uint64
	// readable and writable wake one blocked reader or writer; their
	// capacity of one means a wake-up is never lost.
	readable chan struct{}
	writable chan struct{}
	done     chan struct{} // closed with the queue: wakes every waiter
}

func newPipeQueue(capacity int) *pipeQueue {
	return &pipeQueue{slots: make([][]byte, capacity),
		readable: make(chan struct{}, 1), writable: make(chan struct{}, 1), done: make(chan struct{})}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// put queues what fits of bufs; block says whether to wait for room.
func (q *pipeQueue) put(bufs [][]byte, block bool) (int, error) {
	done := 0
	for done < len(bufs) {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return done, ErrPipeDown
		}
		for done < len(bufs) && q.n < len(q.slots) {
			if q.enqueueLocked(bufs[done]) {
				q.n++
			}
			done++
		}
		full := done < len(bufs)
		if full && !block {
			q.dropped += uint64(len(bufs) - done)
		}
		q.mu.Unlock()
		wake(q.readable)
		if !full || !block {
			return done, nil
		}
		select {
		case <-q.writable:
		case <-q.done:
		}
	}
	return done, nil
}

// enqueueLocked fills the next free slot with sdu, transformed if the queue
// has a transform, and reports whether it did: an SDU the transform
// refuses is dropped, as a network drops what it cannot carry.
func (q *pipeQueue) enqueueLocked(sdu []byte) bool {
	i := (q.head + q.n) % len(q.slots)
	if q.transform == nil {
		q.slots[i] = append(q.slots[i][:0], sdu...)
		return true
	}
	out, err := q.transform(q.slots[i][:0], sdu)
	if err != nil {
		q.failed++
		return false
	}
	q.slots[i] = out
	return true
}

// get moves queued SDUs into bufs, waiting for at least one; io.EOF once the
// queue is closed and empty.
func (q *pipeQueue) get(bufs [][]byte, lens []int) (int, error) {
	for {
		q.mu.Lock()
		n := 0
		for n < len(bufs) && q.n > 0 {
			slot := q.slots[q.head]
			q.head = (q.head + 1) % len(q.slots)
			q.n--
			if len(slot) > len(bufs[n]) {
				// Truncated, it would be another packet: drop it, as a
				// datagram socket does with MSG_TRUNC.
				q.dropped++
				continue
			}
			lens[n] = copy(bufs[n], slot)
			n++
		}
		closed := q.closed
		q.mu.Unlock()
		if n > 0 {
			wake(q.writable)
			return n, nil
		}
		if closed {
			return 0, io.EOF
		}
		select {
		case <-q.readable:
		case <-q.done:
		}
	}
}

func (q *pipeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	close(q.done)
}

// pipeShared is what both ends of a pipe share.
type pipeShared struct {
	once   sync.Once
	reason atomic.Value // ctrl.Reason given by the end that went down first
}

// PipeEnd is one end of a pipe; it implements Port.
type PipeEnd struct {
	id     uint64
	in     *pipeQueue // what the other end wrote
	out    *pipeQueue // what this end writes
	shared *pipeShared
}

var _ Port = (*PipeEnd)(nil)

// NewPipe returns the two ends of an in-memory flow, with the IDs their
// owner numbers them by; each direction queues up to capacity SDUs. Down at either end ends the flow for both: the other
// end reads what is queued, then io.EOF.
func NewPipe(capacity int, idA, idB uint64) (*PipeEnd, *PipeEnd) {
	ab, ba := newPipeQueue(capacity), newPipeQueue(capacity)
	s := &pipeShared{}
	a := &PipeEnd{id: idA, in: ba, out: ab, shared: s}
	b := &PipeEnd{id: idB, in: ab, out: ba, shared: s}
	return a, b
}

// ID implements Port.
func (e *PipeEnd) ID() uint64 { return e.id }

// ReadBatch implements Port.
func (e *PipeEnd) ReadBatch(bufs [][]byte, lens []int) (int, error) { return e.in.get(bufs, lens) }

// WriteBatch implements Port: it waits while the other end does not keep up.
func (e *PipeEnd) WriteBatch(bufs [][]byte) (int, error) { return e.out.put(bufs, true) }

// TryWriteBatch implements Port: what does not fit is not written.
func (e *PipeEnd) TryWriteBatch(bufs [][]byte) (int, error) { return e.out.put(bufs, false) }

// Down implements Port: both directions close; what is queued can still be
// read by the end that did not go down.
func (e *PipeEnd) Down(r ctrl.Reason) {
	e.shared.once.Do(func() {
		e.shared.reason.Store(r)
		e.in.close()
		e.out.close()
	})
}

// Transform rewrites an SDU as a pipe end queues it: it appends the result
// to dst and returns it, or fails, and then the SDU is dropped.
type Transform func(dst, sdu []byte) ([]byte, error)

// SetWriteTransform makes every SDU written to e from now on pass through
// t: a lower flow's owner seals its packets so. t runs under the queue's
// lock, once per SDU in the order they are queued, so it needs no lock of
// its own (a Sealer's counter) and the queue copies each SDU only once.
func (e *PipeEnd) SetWriteTransform(t Transform) {
	e.out.mu.Lock()
	defer e.out.mu.Unlock()
	e.out.transform = t
}

// TransformFailed returns how many SDUs written to e the transform
// refused.
func (e *PipeEnd) TransformFailed() uint64 {
	e.out.mu.Lock()
	defer e.out.mu.Unlock()
	return e.out.failed
}

// Dropped returns how many SDUs to this end were dropped: longer than the
// buffer it read them into, or written with TryWriteBatch while its queue
// was full (it did not read in time).
func (e *PipeEnd) Dropped() uint64 {
	e.in.mu.Lock()
	defer e.in.mu.Unlock()
	return e.in.dropped
}

// Reason returns why the pipe went down, and whether it has.
func (e *PipeEnd) Reason() (ctrl.Reason, bool) {
	r, ok := e.shared.reason.Load().(ctrl.Reason)
	return r, ok
}
