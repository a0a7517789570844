package frcttest

// pdu is a queued copy of a PDU.
type pdu struct {
	due int64  // when it becomes readable
	ord uint64 // queueing order, the tie-break of equal due times
	b   []byte
}

func (e *pdu) before(f *pdu) bool {
	return e.due < f.due || e.due == f.due && e.ord < f.ord
}

// pduQueue holds PDUs in order of due time, then queueing order. Most PDUs
// are queued in that order (all of them without jitter), and those go to a
// FIFO ring at O(1) cost; the others go to a heap. The first PDU is the
// earlier of the two heads.
type pduQueue struct {
	ring []pdu // its length is zero or a power of two
	head int
	n    int // PDUs in the ring
	heap pduHeap
}

func (q *pduQueue) len() int { return q.n + len(q.heap) }

func (q *pduQueue) push(e pdu) {
	if q.n > 0 && e.before(&q.ring[(q.head+q.n-1)&(len(q.ring)-1)]) {
		q.heap.push(e)
		return
	}
	if q.n == len(q.ring) {
		q.grow()
	}
	q.ring[(q.head+q.n)&(len(q.ring)-1)] = e
	q.n++
}

func (q *pduQueue) grow() {
	ring := make([]pdu, max(64, 2*len(q.ring)))
	for i := range q.n {
		ring[i] = q.ring[(q.head+i)&(len(q.ring)-1)]
	}
	q.ring, q.head = ring, 0
}

// first returns the first PDU, or nil if the queue is empty.
func (q *pduQueue) first() *pdu {
	switch {
	case q.fromRing():
		return &q.ring[q.head]
	case len(q.heap) > 0:
		return &q.heap[0]
	}
	return nil
}

// fromRing reports whether the first PDU is the ring's.
func (q *pduQueue) fromRing() bool {
	return q.n > 0 && (len(q.heap) == 0 || !q.heap[0].before(&q.ring[q.head]))
}

// pop removes and returns the first PDU; the queue must not be empty.
func (q *pduQueue) pop() pdu {
	if !q.fromRing() {
		return q.heap.pop()
	}
	e := q.ring[q.head]
	q.ring[q.head] = pdu{} // drop the reference to the copy
	q.head = (q.head + 1) & (len(q.ring) - 1)
	q.n--
	return e
}

// pduHeap is a binary min-heap of PDUs by due time, then queueing order.
type pduHeap []pdu

func (h pduHeap) less(i, j int) bool { return h[i].before(&h[j]) }

func (h *pduHeap) push(e pdu) {
	q := append(*h, e)
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
	*h = q
}

func (h *pduHeap) pop() pdu {
	q := *h
	top, last := q[0], len(q)-1
	q[0] = q[last]
	q[last] = pdu{} // drop the reference to the copy
	q = q[:last]
	for i := 0; ; {
		m := 2*i + 1
		if m >= len(q) {
			break
		}
		if r := m + 1; r < len(q) && q.less(r, m) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}
