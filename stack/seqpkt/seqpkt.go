// Package seqpkt moves SDUs over a Unix SOCK_SEQPACKET socket: one message per
// SDU, batched with recvmmsg/sendmmsg, through Go's network poller so that
// deadlines work and no thread blocks.
//
// Every flow between an application and irmd is one such socket pair: the
// application holds one end, irmd the other.
//
//	app: Flow.Write ──► Conn.Write ─► sendmsg ──► [kernel queue] ──► recvmmsg ─► Conn.ReadBatch :irmd
//	app: Flow.Read  ◄── Conn.Read  ◄─ recvmsg ◄── [kernel queue] ◄── sendmmsg ◄─ Conn.WriteBatch :irmd
//
// A zero-length read means the other end closed, so zero-length SDUs are
// refused on write. The kernel queue gives back-pressure: a writer blocks (or
// times out) while the reader does not keep up, and nothing is dropped.
package seqpkt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/internal/mmsg"
)

// ErrEmpty is returned when writing a zero-length SDU, which would be
// indistinguishable from the end of the stream.
var ErrEmpty = errors.New("seqpkt: empty SDU")

// ErrTruncated is returned by reads when the SDU was larger than the buffer.
// The SDU is consumed.
var ErrTruncated = errors.New("seqpkt: SDU larger than the read buffer")

// MaxBatch is the largest batch ReadBatch and WriteBatch move in one system call.
const MaxBatch = 64

// SocketBuffer is the kernel buffer asked for on each end, in bytes. It bounds
// how much a flow holds in flight between an application and irmd.
const SocketBuffer = 4 << 20

// Conn is one end of a SOCK_SEQPACKET socket. Reads may run concurrently with
// writes; concurrent reads (or writes) are serialised.
type Conn struct {
	f  *os.File
	rc syscall.RawConn
	// rdl and wdl mirror the deadlines (Unix ns, 0 = none), see io1.
	rdl, wdl atomic.Int64

	rmu   sync.Mutex
	r     *mmsg.Batch
	rone  [1][]byte // Read's batch of one, kept here so it does not escape
	rlen1 [1]int

	wmu  sync.Mutex
	w    *mmsg.Batch
	wone [1][]byte

	// tmu guards TryWriteBatch's own batch, so that it never waits for a
	// blocked WriteBatch.
	tmu sync.Mutex
	t   *mmsg.Batch
}

// Pair returns the two ends of a new socket pair.
func Pair() (*Conn, *Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("seqpkt: socketpair: %w", err)
	}
	for _, fd := range fds {
		growBuffers(fd)
	}
	a, err := New(fds[0], "flow")
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err := New(fds[1], "flow")
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// PairFD returns a new socket pair as a Conn and a raw descriptor, for
// passing the second end to another process; the caller closes fd.
func PairFD() (*Conn, int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, -1, fmt.Errorf("seqpkt: socketpair: %w", err)
	}
	for _, fd := range fds {
		growBuffers(fd)
	}
	c, err := New(fds[0], "flow")
	if err != nil {
		unix.Close(fds[1])
		return nil, -1, err
	}
	return c, fds[1], nil
}

// growBuffers asks for SocketBuffer bytes each way.
func growBuffers(fd int) { mmsg.GrowBuffers(fd, SocketBuffer) }

// New takes ownership of fd, a SOCK_SEQPACKET socket, and makes it non-blocking.
func New(fd int, name string) (*Conn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("seqpkt: set non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("seqpkt: %w", err)
	}
	c := &Conn{f: f, rc: rc, r: mmsg.New(mmsg.Recv, MaxBatch), w: mmsg.New(mmsg.Send, MaxBatch), t: mmsg.New(mmsg.Send, MaxBatch)}
	// ECONNRESET is not the end of the stream: the kernel sets it when the
	// other end closes with SDUs of ours still unread in its own queue, and
	// recvmmsg reports (and clears) it before the SDUs queued here, which
	// are still readable and followed by the end of the stream. Treating it
	// as the end lost what the other end had written just before closing.
	c.r.PassOver(func(e unix.Errno) bool { return e == unix.ECONNRESET })
	return c, nil
}

// File returns the underlying file, to pass the socket to another process.
// The Conn keeps ownership.
func (c *Conn) File() *os.File { return c.f }

// Close closes the socket; the other end reads io.EOF.
func (c *Conn) Close() error { return c.f.Close() }

// SetReadDeadline sets the deadline for reads; a zero value means none.
// Reads past it fail with an error matching os.ErrDeadlineExceeded, after
// one try: a deadline in the past makes reads non-blocking.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.Store(unixNano(t))
	return c.f.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for writes; a zero value means none. A
// deadline in the past makes writes non-blocking.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.Store(unixNano(t))
	return c.f.SetWriteDeadline(t)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// expired reports whether a deadline stored by unixNano has passed.
func expired(dl int64) bool { return dl != 0 && time.Now().UnixNano() >= dl }

// io1 runs the first n messages of b through the poller, which waits for
// readiness and honours the deadline. Go's poller fails at once, without
// trying, when the deadline has passed; so then the call is tried once
// directly, which is what non-blocking use asks for.
func io1(rc syscall.RawConn, dl int64, b *mmsg.Batch, n int) (int, error) {
	if expired(dl) {
		moved, ok, err := b.Try(rc, n)
		if err == nil && !ok {
			err = os.ErrDeadlineExceeded
		}
		return moved, err
	}
	return b.Wait(rc, n)
}

// Read reads one SDU into p. It returns io.EOF once the other end has closed
// and its queue is drained, and ErrTruncated if the SDU did not fit.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rone[0] = p
	_, err := c.readBatchLocked(c.rone[:], c.rlen1[:])
	c.rone[0] = nil
	return c.rlen1[0], err
}

// ReadBatch reads up to len(bufs) SDUs (at most MaxBatch) into bufs, storing
// their lengths in lens, and returns how many it read. It blocks until at
// least one SDU is available. It returns io.EOF when the other end has closed
// and nothing is left. An SDU that did not fit its buffer ends the batch with
// ErrTruncated, counting that SDU as read.
func (c *Conn) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readBatchLocked(bufs, lens)
}

func (c *Conn) readBatchLocked(bufs [][]byte, lens []int) (int, error) {
	if len(bufs) > MaxBatch {
		bufs = bufs[:MaxBatch]
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	for i, b := range bufs {
		c.r.Set(i, b, false)
	}
	n, err := io1(c.rc, c.rdl.Load(), c.r, len(bufs))
	if err != nil {
		return 0, wrapErr("read", err)
	}
	for i := 0; i < n; i++ {
		lens[i] = c.r.Len(i)
		if c.r.Truncated(i) {
			return i + 1, ErrTruncated
		}
		if lens[i] == 0 {
			if i == 0 {
				return 0, io.EOF
			}
			return i, nil
		}
	}
	return n, nil
}

// Write writes p as one SDU.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wone[0] = p
	_, err := c.writeBatchLocked(c.wone[:])
	c.wone[0] = nil
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteBatch writes each of bufs as one SDU and returns how many it wrote. It
// blocks until all are written, the deadline passes or the socket fails.
func (c *Conn) WriteBatch(bufs [][]byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	done := 0
	for done < len(bufs) {
		n, err := c.writeBatchLocked(bufs[done:])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (c *Conn) writeBatchLocked(bufs [][]byte) (int, error) {
	if len(bufs) > MaxBatch {
		bufs = bufs[:MaxBatch]
	}
	for i, b := range bufs {
		if len(b) == 0 {
			if i == 0 {
				return 0, ErrEmpty
			}
			bufs = bufs[:i]
			break
		}
		c.w.Set(i, b, false)
	}
	n, err := io1(c.rc, c.wdl.Load(), c.w, len(bufs))
	if err != nil {
		return n, wrapErr("write", err)
	}
	return n, nil
}

// TryWriteBatch writes what it can of bufs without blocking, even while
// another goroutine blocks in WriteBatch, and returns how many SDUs it
// wrote. A full queue is not an error: it returns 0, nil.
func (c *Conn) TryWriteBatch(bufs [][]byte) (int, error) {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if len(bufs) > MaxBatch {
		bufs = bufs[:MaxBatch]
	}
	for i, b := range bufs {
		if len(b) == 0 {
			bufs = bufs[:i]
			break
		}
		c.t.Set(i, b, false)
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	n, _, err := c.t.Try(c.rc, len(bufs))
	if err != nil {
		return 0, wrapErr("write", err)
	}
	return n, nil
}

// wrapErr maps socket errors onto the io and os errors callers check for.
func wrapErr(op string, err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, os.ErrClosed):
		return err
	case errors.Is(err, unix.EPIPE), errors.Is(err, unix.ECONNRESET):
		return io.ErrClosedPipe
	case errors.Is(err, unix.EMSGSIZE):
		return fmt.Errorf("seqpkt: %s: %w", op, syscall.EMSGSIZE)
	}
	return fmt.Errorf("seqpkt: %s: %w", op, err)
}

// SyscallConn gives access to the descriptor without changing its mode
// (unlike File().Fd(), which makes it blocking).
func (c *Conn) SyscallConn() syscall.RawConn { return c.rc }
