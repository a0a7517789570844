package dt

// The output scheduler in front of one data-transfer flow to a neighbour:
//
//	forwarders ─► Enqueue(cube) ─► ECN mark by depth ─► copy into ring[cube]
//	                                                     ring[voice] ┐
//	                                                     ring[video] ├─► DequeueBatch ─► writer ─► lower flow
//	                                                     ring[BE]    ┘   (strict priority)
//
// Many goroutines enqueue; one writer goroutine dequeues. Packets are
// copied into slot buffers that belong to the queue and are reused, so a
// queue in steady state allocates nothing.

import (
	"io"
	"sync"
	"sync/atomic"

	"o7s.dev/ouroboros/stack/qos"
)

// MaxPacket is the largest packet a Queue takes: 64 KiB.
const MaxPacket = 64 << 10

// DefaultQueueLimit is the per-cube limit NewQueue uses for a limit < 1.
const DefaultQueueLimit = 256

// ecnShift turns queue depth into the congestion mark: one level per 16
// packets queued.
const ecnShift = 4

// numCubes is the number of QoS cubes a Queue schedules.
const numCubes = int(qos.CubeVoice) + 1

// Queue is a strict-priority output queue: voice before video before best
// effort, so a voice flow keeps its low delay while best effort saturates
// the same link. Each cube has its own bounded FIFO. Enqueue is safe from
// any number of goroutines; DequeueBatch is meant for one.
type Queue struct {
	mu     sync.Mutex
	ready  sync.Cond // signalled when the queue becomes non-empty or closes
	cubes  [numCubes]ring
	total  int // packets queued, all cubes
	closed bool
	drops  atomic.Uint64
}

// ring is one cube's FIFO of packet copies. A slot's buffer is allocated
// on first use and regrown only when a packet longer than any before it
// arrives; its length is the queued packet's length.
type ring struct {
	slots   [][]byte
	head, n int
	maxSeen int // longest packet seen: new slot buffers get this size
}

// NewQueue returns an empty queue holding at most limit packets per cube.
func NewQueue(limit int) *Queue {
	if limit < 1 {
		limit = DefaultQueueLimit
	}
	q := &Queue{}
	q.ready.L = &q.mu
	for i := range q.cubes {
		q.cubes[i].slots = make([][]byte, limit)
	}
	return q
}

// Enqueue copies pkt into the queue of cube. If ecnOffset >= 0 it raises
// the copy's ECN byte at ecnOffset to min(255, depth>>4), depth being the
// number of packets queued on q (all cubes) before this one: explicit
// congestion marking by queue depth, which the destination feeds back to
// the source (package ca). A byte already higher is left alone, so a
// packet carries the worst congestion on its path; pkt itself is not
// modified. Enqueue returns false, and counts a drop, when the cube's
// queue is full, the cube unknown or pkt longer than MaxPacket; it
// returns false without counting once q is closed.
func (q *Queue) Enqueue(cube qos.Cube, pkt []byte, ecnOffset int) bool {
	if int(cube) >= numCubes || len(pkt) > MaxPacket {
		q.drops.Add(1)
		return false
	}
	q.mu.Lock()
	r := &q.cubes[cube]
	if q.closed || r.n == len(r.slots) {
		closed := q.closed
		q.mu.Unlock()
		if !closed {
			q.drops.Add(1)
		}
		return false
	}
	buf := r.push(len(pkt))
	copy(buf, pkt)
	if ecnOffset >= 0 && ecnOffset < len(buf) {
		if mark := byte(min(255, q.total>>ecnShift)); mark > buf[ecnOffset] {
			buf[ecnOffset] = mark
		}
	}
	q.total++
	if q.total == 1 {
		q.ready.Signal()
	}
	q.mu.Unlock()
	return true
}

// DequeueBatch waits until at least one packet is queued, then copies
// packets into bufs, highest cube first and in order within a cube, and
// their lengths into lens. It returns the number of packets copied, at
// most min(len(bufs), len(lens)). A packet longer than the buffer it would
// go into is dropped and counted in Drops. After Close it drains what is
// queued, then returns io.EOF.
func (q *Queue) DequeueBatch(bufs [][]byte, lens []int) (int, error) {
	room := min(len(bufs), len(lens))
	if room == 0 {
		return 0, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for q.total == 0 {
			if q.closed {
				return 0, io.EOF
			}
			q.ready.Wait()
		}
		if n := q.fill(bufs[:room], lens); n > 0 {
			return n, nil
		}
	}
}

// fill moves packets into bufs in priority order; q.mu is held.
func (q *Queue) fill(bufs [][]byte, lens []int) int {
	n := 0
	for c := numCubes - 1; c >= 0 && n < len(bufs); c-- {
		r := &q.cubes[c]
		for r.n > 0 && n < len(bufs) {
			p := r.pop()
			q.total--
			if len(p) > len(bufs[n]) {
				q.drops.Add(1)
				continue
			}
			lens[n] = copy(bufs[n], p)
			n++
		}
	}
	return n
}

// Len returns the number of packets queued, all cubes.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// CubeLen returns the number of packets queued in cube c.
func (q *Queue) CubeLen(c qos.Cube) int {
	if int(c) >= numCubes {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cubes[c].n
}

// Drops returns the number of packets dropped: full queue, unknown cube,
// oversized packet.
func (q *Queue) Drops() uint64 { return q.drops.Load() }

// Close stops the queue: Enqueue refuses packets from now on, and
// DequeueBatch returns io.EOF once the queued ones are taken. Close is
// idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.ready.Broadcast()
	q.mu.Unlock()
}

// push claims the tail slot for a packet of n bytes and returns its
// buffer, resliced to n. The ring must not be full.
func (r *ring) push(n int) []byte {
	i := r.head + r.n
	if i >= len(r.slots) {
		i -= len(r.slots)
	}
	r.maxSeen = max(r.maxSeen, n)
	buf := r.slots[i]
	if cap(buf) < n {
		buf = make([]byte, r.maxSeen)
	}
	r.slots[i] = buf[:n]
	r.n++
	return r.slots[i]
}

// pop removes the head packet and returns it; the buffer stays with the
// slot, so the caller must be done with it before the next push. The ring
// must not be empty.
func (r *ring) pop() []byte {
	p := r.slots[r.head]
	r.head++
	if r.head == len(r.slots) {
		r.head = 0
	}
	r.n--
	return p
}
