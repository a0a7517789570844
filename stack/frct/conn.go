package frct

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Errors a Conn reports, besides io.EOF (the peer closed in order,
// everything it sent has been read) and the Lower's own errors.
var (
	// ErrPeerTimeout: nothing came from the peer for the QoS timeout, or a
	// packet went unacknowledged for R: the peer is considered dead.
	ErrPeerTimeout = errors.New("frct: peer timed out")
	// ErrAborted: the Lower ended (the flow's path was torn down) before
	// the peer closed in order with a FIN: what arrived may be incomplete.
	ErrAborted = errors.New("frct: the flow ended without the peer closing it")
	// ErrTimeout: a read or write deadline passed.
	ErrTimeout = errors.New("frct: deadline exceeded")
	// ErrClosed: the Conn was closed by this side.
	ErrClosed = errors.New("frct: use of closed connection")
	// ErrTooLarge: the SDU does not fit the Lower's MTU with a header.
	ErrTooLarge = errors.New("frct: SDU too large")
	// ErrEmpty: SDUs carry at least one byte.
	ErrEmpty = errors.New("frct: empty SDU")
)

// Conn runs FRCT for one flow end. Read and Write may be called from
// different goroutines; concurrent Writes are serialised, as are Reads.
type Conn struct {
	cfg      Config
	lower    Lower
	reliable bool
	maxSDU   int

	mu sync.Mutex
	s  sender
	r  receiver
	p  pool
	st Stats
	// err is set once the Conn has ended; done is closed then.
	err     error
	done    chan struct{}
	closing bool
	acked   chan struct{} // closed when a lingering Close may finish
	fin     closeState
	finDone chan struct{} // closed when the peer answered our FIN

	readyCh chan struct{} // a Read may make progress
	winCh   chan struct{} // a Write may make progress
	kicked  atomic.Bool   // routineReceive should recompute its timers
	rng     *rand.Rand

	wmu      sync.Mutex      // serialises Write
	wscratch []byte          // unreliable PDUs are built here
	rmu      sync.Mutex      // serialises Read
	fcbuf    [MaxHeader]byte // window updates sent from Read; guarded by rmu
	fcone    [1][]byte
	wone     [1][]byte    // guarded by wmu
	rdl, wdl atomic.Int64 // deadlines in Unix ns, 0: none
	rtimer   *time.Timer
	wtimer   *time.Timer
	rxDone   chan struct{}
}

// New starts FRCT over lower. The Conn owns lower from now on.
func New(lower Lower, cfg Config) *Conn {
	c := newConn(lower, cfg)
	go c.routineReceive()
	return c
}

// newConn builds a Conn without starting its goroutine (tests drive it).
func newConn(lower Lower, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		cfg: cfg, lower: lower, reliable: cfg.QoS.Reliable(), maxSDU: cfg.MTU - MaxHeader,
		done: make(chan struct{}), acked: make(chan struct{}), finDone: make(chan struct{}),
		readyCh: make(chan struct{}, 1), winCh: make(chan struct{}, 1),
		wscratch: make([]byte, cfg.MTU), rxDone: make(chan struct{}),
		rtimer: stoppedTimer(), wtimer: stoppedTimer(),
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	c.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c.s.init(cfg)
	c.r.init(cfg)
	now := time.Now()
	c.r.lastRecv = now
	c.s.lastSent = now
	return c
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// MaxSDU returns the largest SDU Write accepts.
func (c *Conn) MaxSDU() int { return c.maxSDU }

// SetReadDeadline sets the deadline for Read; a time in the past makes
// Read non-blocking, the zero time removes the deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.Store(unixNano(t))
	c.signal(c.readyCh) // a blocked Read re-reads its deadline
	return nil
}

// SetWriteDeadline sets the deadline for Write, including its wait for the
// peer's window and for the Lower.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.Store(unixNano(t))
	c.signal(c.winCh)
	return c.lower.SetWriteDeadline(t)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// signal wakes a waiter on ch without blocking.
func (c *Conn) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait blocks until ch is signalled, the Conn ends, or the deadline dl
// (Unix ns, 0: none) passes; it reports false on the deadline.
func (c *Conn) wait(ch chan struct{}, t *time.Timer, dl int64) bool {
	if dl != 0 {
		d := time.Until(time.Unix(0, dl))
		if d <= 0 {
			return false
		}
		t.Reset(d)
		defer t.Stop()
	}
	select {
	case <-ch:
	case <-c.done:
	case <-t.C:
		return false
	}
	return true
}

// Err returns why the Conn ended, or nil while it runs.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Readable reports whether a Read would return at once: an SDU is ready, a
// gap may be skipped, or the Conn has ended.
func (c *Conn) Readable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil || c.r.ready(c.cfg, time.Now())
}

// endLocked ends the Conn with err, once; c.mu held. A writer blocked in
// the Lower (a path that stopped taking packets) returns at once.
func (c *Conn) endLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	close(c.done)
	if !c.closing {
		c.lower.SetWriteDeadline(time.Now())
	}
}

// Read reads the next SDU into p. An SDU longer than p is truncated and
// ErrTooLarge returned with len(p). When the Conn has ended and every
// deliverable SDU was read, Read returns io.EOF (the peer closed) or the
// reason it ended.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		c.mu.Lock()
		n, ok, trunc := c.r.deliver(c.cfg, &c.p, &c.st, p, time.Now(), c.err != nil)
		err := c.err
		fc := ok && c.r.windowUpdateDue()
		_, gap := c.r.gapDeadline(c.cfg)
		var pdu []byte
		if fc {
			pdu = c.controlPDULocked(c.fcbuf[:], 0)
		}
		c.mu.Unlock()
		if pdu != nil {
			c.fcone[0] = pdu
			c.lower.TryWriteBatch(c.fcone[:]) // dropped when full, like any acknowledgement
		}
		if gap && ok {
			c.kick() // a new gap blocks base: its deadline is a new timer
		}
		if c.cfg.Notify != nil && ok {
			c.cfg.Notify(c)
		}
		if ok {
			if trunc {
				return n, ErrTooLarge
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if !c.wait(c.readyCh, c.rtimer, c.rdl.Load()) {
			return 0, ErrTimeout
		}
	}
}

// Write sends p as one SDU. It waits while the peer's window is closed, and
// while the Lower pushes back, until the write deadline.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, ErrEmpty
	}
	if len(p) > c.maxSDU {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(p), c.maxSDU)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	pdu, seq, err := c.prepare(p)
	if err != nil {
		return 0, err
	}
	c.wone[0] = pdu
	_, err = c.lower.WriteBatch(c.wone[:])
	c.wone[0] = nil
	if !c.reliable {
		if err != nil {
			c.mu.Lock()
			c.s.unsend(seq)
			c.mu.Unlock()
			return 0, c.lowerErr(err)
		}
		return len(p), nil
	}
	c.mu.Lock()
	armed := c.s.written(seq, &c.p, time.Now())
	c.mu.Unlock()
	if armed {
		c.kick()
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, c.lowerErr(err)
	}
	if err != nil {
		if end := c.Err(); end != nil {
			return 0, end // the deadline was the Conn ending
		}
	}
	// Numbered and kept for retransmission, the SDU will be delivered even
	// if the Lower pushed back past the deadline: the write succeeded.
	return len(p), nil
}

// prepare waits for the window, then numbers p and builds its PDU.
func (c *Conn) prepare(p []byte) ([]byte, uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.err != nil {
			return nil, 0, c.err
		}
		if c.closing {
			return nil, 0, ErrClosed
		}
		now := time.Now()
		c.s.maybeNewRun(c.cfg, c.rng, now)
		if c.s.open(c.cfg, c.reliable) {
			break
		}
		c.s.blocked(now)
		c.mu.Unlock()
		c.kick() // arm the window probe
		ok := c.wait(c.winCh, c.wtimer, c.wdl.Load())
		c.mu.Lock()
		if !ok {
			c.s.blockedSince = time.Time{} // nobody waits on the window: stop probing
			return nil, 0, ErrTimeout
		}
	}
	now := time.Now()
	h := Header{Flags: FlagData, Seqno: c.s.next}
	if c.s.drf {
		h.Flags |= FlagDRF
		h.Start = c.s.runStart
	}
	c.r.piggyback(&h)
	n := h.Len() + len(p)
	var buf []byte
	if c.reliable {
		buf = c.p.get(n)
	} else {
		buf = c.wscratch[:n]
	}
	copy(buf[h.Encode(buf):], p)
	seq := c.s.sent(buf, c.reliable, now)
	c.st.DataSent++
	return buf, seq, nil
}

// lowerErr maps a Lower's write error: a closed path means the peer left,
// in order only if it sent FIN.
func (c *Conn) lowerErr(err error) error {
	if errors.Is(err, io.ErrClosedPipe) || errors.Is(err, io.EOF) {
		c.mu.Lock()
		c.endLocked(c.endOfLowerLocked())
		err = c.err
		c.mu.Unlock()
	}
	return err
}

// Close lingers until everything written is acknowledged (reliable Conns),
// the peer is gone, or R passes; then it closes in order: it sends FIN and
// waits for the peer's FIN (at most the peer timeout) so that the peer
// sees an orderly end, not an abrupt one; then it closes the Lower.
//
// On a reliable Conn, Close fails when what was written may not have
// arrived: with the reason the Conn ended while it lingered (io.EOF: the
// peer closed first), or ErrPeerTimeout after R.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closing = true
	linger := c.reliable && c.s.outstanding() && c.err == nil
	if !linger {
		c.s.ackedClosed = true
		close(c.acked)
	}
	c.mu.Unlock()
	var lost error
	if linger {
		c.kick()
		select {
		case <-c.acked:
		case <-c.done:
			lost = c.Err()
		case <-time.After(c.cfg.R):
			lost = fmt.Errorf("%w: data unacknowledged at close after %v", ErrPeerTimeout, c.cfg.R)
		}
	}
	c.mu.Lock()
	fin := c.startCloseLocked(time.Now())
	c.mu.Unlock()
	if fin {
		c.kick()
		select {
		case <-c.finDone:
		case <-c.done:
		case <-time.After(c.cfg.finWait()):
		}
	}
	err := c.lower.Close()
	<-c.rxDone
	c.mu.Lock()
	c.endLocked(ErrClosed)
	c.s.release(&c.p)
	c.r.release(&c.p)
	c.mu.Unlock()
	if lost != nil {
		return lost
	}
	return err
}

// Stats returns the Conn's counters.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// Stats counts what a Conn did.
type Stats struct {
	DataSent, Retransmitted, ControlSent          uint64
	DataReceived, Delivered, Duplicates, Skipped  uint64
	OutOfWindow, NoRun, BadHeader, ControlDropped uint64
	// DeliveredBytes counts the bytes Read returned.
	DeliveredBytes uint64
	// FinEarly counts FINs ignored because SDUs before them were missing.
	FinEarly uint64
}

// Pending reports whether an SDU (or a skippable gap) waits to be read.
func (c *Conn) Pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.r.ready(c.cfg, time.Now()) || (c.err != nil && !c.reliable && c.r.buffered > 0)
}

// ReadBatch reads one SDU, blocking as Read does, then as many more as are
// ready without waiting.
func (c *Conn) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	n, err := c.Read(bufs[0])
	lens[0] = n
	if err != nil {
		return 0, err
	}
	i := 1
	for ; i < len(bufs) && c.Pending(); i++ {
		n, err := c.Read(bufs[i])
		if err != nil {
			break
		}
		lens[i] = n
	}
	return i, nil
}

// WriteBatch writes each of bufs as one SDU.
func (c *Conn) WriteBatch(bufs [][]byte) (int, error) {
	for i, b := range bufs {
		if _, err := c.Write(b); err != nil {
			return i, err
		}
	}
	return len(bufs), nil
}
