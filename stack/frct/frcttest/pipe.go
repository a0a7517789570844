package frcttest

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"time"
)

// never is the deadline, and the wake-up time, that never comes.
const never = math.MaxInt64

// minCopy is the least capacity of a PDU copy, so that recycled copies fit
// most PDUs that follow, whatever their sizes.
const minCopy = 2048

// pipe is one direction of a link. Times are nanoseconds since the link's
// epoch on the monotonic clock, so they compare as integers.
type pipe struct {
	// Fixed at Link.
	imp      Impairment
	impaired bool  // whether imp needs the PRNG
	grace    int64 // how long past its due time a held PDU waits at most
	limit    int   // queue capacity in PDUs
	mtu      int
	epoch    time.Time
	rwake    chan struct{} // capacity 1: a token wakes the reader
	rtimer   *time.Timer   // the reader's; reset and stopped under mu

	mu     sync.Mutex
	rng    *rand.PCG
	q      pduQueue  // queued PDUs, by due time
	held   []heldPDU // PDUs held back for later ones to overtake
	free   [][]byte  // recycled PDU copies
	ord    uint64    // next queueing order, the tie-break of equal due times
	queued uint64    // PDUs queued but not held: the clock of holding back

	srcClosed bool // the writing end closed
	dstClosed bool // the reading end closed
	rdl, wdl  int64

	rwaiting   bool          // the reader sleeps until rwaitUntil
	rwaitUntil int64         // so PDUs due later need not wake it
	room       chan struct{} // closed when room frees; nil if no writer waits
	timers     []*time.Timer // spare timers of writers waiting with a deadline

	stats Stats
}

type heldPDU struct {
	pdu
	after uint64 // released once queued reaches it
	until int64  // or at this time, if the link falls silent
}

func newPipe(imp Impairment, rng *rand.PCG, cfg config, epoch time.Time) *pipe {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pipe{
		imp:      imp,
		impaired: imp.Loss > 0 || imp.Duplicate > 0 || imp.Reorder > 0 || imp.Jitter > 0,
		grace:    int64(imp.Delay + imp.Jitter + time.Millisecond),
		limit:    cfg.queue,
		mtu:      cfg.mtu,
		epoch:    epoch,
		rwake:    make(chan struct{}, 1),
		rtimer:   t,
		rng:      rng,
		rdl:      never,
		wdl:      never,
	}
}

func (p *pipe) now() int64 { return int64(time.Since(p.epoch)) }

// mono converts a deadline to the pipe's clock.
func (p *pipe) mono(t time.Time) int64 {
	if t.IsZero() {
		return never
	}
	return int64(t.Sub(p.epoch))
}

// write writes pdus in order, waiting for room if block is set.
func (p *pipe) write(pdus [][]byte, block bool) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// One clock reading serves the batch: its PDUs leave together.
	now := p.now()
	for i, b := range pdus {
		for {
			if err := p.writable(b); err != nil {
				return i, err
			}
			if p.q.len()+len(p.held) < p.limit {
				break
			}
			if !block {
				return i, nil
			}
			if now >= p.wdl {
				return i, os.ErrDeadlineExceeded
			}
			p.waitRoom(now)
			now = p.now()
		}
		p.admit(b, now)
	}
	return len(pdus), nil
}

func (p *pipe) writable(b []byte) error {
	switch {
	case p.srcClosed:
		return ErrClosed
	case p.dstClosed:
		return io.ErrClosedPipe
	case len(b) == 0:
		return ErrEmpty
	case len(b) > p.mtu:
		return fmt.Errorf("frcttest: PDU of %d bytes over the MTU of %d: %w", len(b), p.mtu, syscall.EMSGSIZE)
	}
	return nil
}

// waitRoom sleeps, with mu held, until a read frees room, the write
// deadline passes, or something else a writer must see happens: a close or
// a new deadline. The caller checks which.
func (p *pipe) waitRoom(now int64) {
	if p.room == nil {
		p.room = make(chan struct{})
	}
	room := p.room
	var t *time.Timer
	var expired <-chan time.Time
	if p.wdl != never {
		t = p.timer(time.Duration(p.wdl - now))
		expired = t.C
	}
	p.mu.Unlock()
	select {
	case <-room:
	case <-expired:
	}
	p.mu.Lock()
	if t != nil {
		t.Stop()
		p.timers = append(p.timers, t)
	}
}

// timer returns a spare timer, or a new one, set to fire after d. Since Go
// 1.23 a stopped or reset timer delivers no stale tick, so reuse is safe.
func (p *pipe) timer(d time.Duration) *time.Timer {
	if n := len(p.timers); n > 0 {
		t := p.timers[n-1]
		p.timers = p.timers[:n-1]
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

// wakeWriters wakes every writer waiting for room.
func (p *pipe) wakeWriters() {
	if p.room != nil {
		close(p.room)
		p.room = nil
	}
}

// verdict is what the impairment does to one PDU.
type verdict struct {
	drop, dup, hold bool
	depth           uint64 // how many later PDUs overtake a held one
	jitter          int64
}

// judge draws the verdict of the next PDU. It always draws five values, so
// that each decision of the n-th PDU depends only on the seed and n.
func (p *pipe) judge() verdict {
	if !p.impaired {
		return verdict{}
	}
	drop := unit(p.rng.Uint64()) < p.imp.Loss
	dup := unit(p.rng.Uint64()) < p.imp.Duplicate
	hold := unit(p.rng.Uint64()) < p.imp.Reorder
	depth := 1 + below(p.rng.Uint64(), 3)
	jitter := int64(below(p.rng.Uint64(), uint64(p.imp.Jitter)))
	return verdict{drop: drop, dup: dup, hold: hold, depth: depth, jitter: jitter}
}

// unit maps u to [0, 1) as rand.Float64 does.
func unit(u uint64) float64 { return float64(u>>11) / (1 << 53) }

// below maps u to [0, n) by multiplication; the bias, n/2⁶⁴, is immaterial
// here, and unlike rejection it takes exactly one draw.
func below(u, n uint64) uint64 {
	hi, _ := bits.Mul64(u, n)
	return hi
}

// admit writes one PDU into the pipe, which has room for it.
func (p *pipe) admit(b []byte, now int64) {
	p.stats.Sent++
	v := p.judge()
	if v.drop {
		p.stats.Dropped++
		return
	}
	due := now + int64(p.imp.Delay) + v.jitter
	e := pdu{due: due, b: p.clone(b)}
	if v.hold {
		p.stats.Reordered++
		h := heldPDU{pdu: e, after: p.queued + v.depth, until: due + p.grace}
		p.held = append(p.held, h)
		if p.rwaiting && h.until < p.rwaitUntil {
			p.wakeReader() // to release it if nothing follows
		}
	} else {
		p.queue(e)
		p.queued++
		p.release(now, due)
	}
	if v.dup {
		p.stats.Duplicated++
		p.queue(pdu{due: due, b: p.clone(b)})
	}
}

// queue puts e in the queue, waking the reader if e is due before the
// reader means to wake.
func (p *pipe) queue(e pdu) {
	e.ord = p.ord
	p.ord++
	p.q.push(e)
	if p.rwaiting && e.due < p.rwaitUntil {
		p.wakeReader()
	}
}

func (p *pipe) wakeReader() {
	p.rwaiting = false
	select {
	case p.rwake <- struct{}{}:
	default:
	}
}

// release queues, in order, the held PDUs that enough later ones have
// overtaken, right behind the last of those (due at due), and those that
// waited their longest by now. As only admit moves p.queued, read passes
// no due.
func (p *pipe) release(now, due int64) {
	if len(p.held) == 0 {
		return
	}
	kept := p.held[:0]
	for _, h := range p.held {
		switch {
		case h.after <= p.queued:
			h.due = max(h.due, due)
		case h.until <= now:
			h.due = h.until
		default:
			kept = append(kept, h)
			continue
		}
		p.queue(h.pdu)
	}
	clear(p.held[len(kept):])
	p.held = kept
}

// clone copies b into a recycled buffer if one fits, else a new one.
func (p *pipe) clone(b []byte) []byte {
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		if cap(c) >= len(b) {
			return append(c[:0], b...)
		}
	}
	return append(make([]byte, 0, max(len(b), minCopy)), b...)
}

func (p *pipe) recycle(b []byte) {
	if len(p.free) <= p.limit {
		p.free = append(p.free, b)
	}
}

// read reads the due PDUs into bufs, waiting for one if none is.
func (p *pipe) read(bufs [][]byte, lens []int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.dstClosed {
			return 0, ErrClosed
		}
		now := p.now()
		p.release(now, 0)
		if n, err := p.pop(bufs, lens, now); n > 0 {
			return n, err
		}
		if p.srcClosed && p.q.len() == 0 && len(p.held) == 0 {
			return 0, io.EOF
		}
		if now >= p.rdl {
			return 0, os.ErrDeadlineExceeded
		}
		p.waitDue(now)
	}
}

// pop moves the PDUs due at now into bufs, stopping after a truncated one.
func (p *pipe) pop(bufs [][]byte, lens []int, now int64) (n int, err error) {
	for n < len(bufs) {
		if f := p.q.first(); f == nil || f.due > now {
			break
		}
		e := p.q.pop()
		lens[n] = copy(bufs[n], e.b)
		p.recycle(e.b)
		p.stats.Delivered++
		n++
		if lens[n-1] < len(e.b) {
			err = ErrTruncated
			break
		}
	}
	if n > 0 {
		p.wakeWriters()
	}
	return n, err
}

// waitDue sleeps, with mu held, until the first PDU is due, a held one
// waited its longest, the read deadline passes, or a writer, a close or a
// new deadline wakes the reader. The caller checks which.
func (p *pipe) waitDue(now int64) {
	until := p.rdl
	if f := p.q.first(); f != nil {
		until = min(until, f.due)
	}
	for _, h := range p.held {
		until = min(until, h.until)
	}
	p.rwaiting, p.rwaitUntil = true, until
	var due <-chan time.Time
	if until != never {
		p.rtimer.Reset(time.Duration(until - now))
		due = p.rtimer.C
	}
	p.mu.Unlock()
	select {
	case <-p.rwake:
	case <-due:
	}
	p.mu.Lock()
	p.rwaiting = false
	p.rtimer.Stop()
}

func (p *pipe) setReadDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dstClosed {
		return ErrClosed
	}
	p.rdl = p.mono(t)
	if p.rwaiting {
		p.wakeReader()
	}
	return nil
}

func (p *pipe) setWriteDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srcClosed {
		return ErrClosed
	}
	p.wdl = p.mono(t)
	p.wakeWriters()
	return nil
}

// closeSource closes the writing end: its writers fail, and the reader
// drains the queue, then reads io.EOF.
func (p *pipe) closeSource() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.srcClosed = true
	p.wakeReader()
	p.wakeWriters()
}

// closeSink closes the reading end: what is queued will never be read.
func (p *pipe) closeSink() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dstClosed = true
	p.q, p.held, p.free = pduQueue{}, nil, nil
	p.wakeReader()
	p.wakeWriters()
}

func (p *pipe) snapshot() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}
