package flow

// An encrypted flow seals every SDU it writes and opens every SDU it
// reads, below FRCT, so that its header travels encrypted too:
//
//	Write ─► [frct.Conn] ─► sealedConn.Seal ─► seqpkt.Conn ─► irmd
//	Read  ◄─ [frct.Conn] ◄─ sealedConn.Open ◄─ seqpkt.Conn ◄─ irmd
//
// A packet that does not open (modified, replayed, or not sealed with the
// flow's keys) is dropped and counted; the reader never sees it.

import (
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/seqpkt"
)

// sealBatch is how many packets a sealed read or write moves per call.
const sealBatch = 16

type sealedConn struct {
	sock *seqpkt.Conn

	// The Sealer is locked only while sealing, never while a write waits
	// on the socket: FRCT's acknowledgements and retransmissions
	// (TryWriteBatch) must not queue behind an application's write blocked
	// on a full socket. Each kind of writer seals into its own buffers;
	// the two may send in another order than they sealed, which the
	// receiver's replay window absorbs.
	smu  sync.Mutex
	seal *crypt.Sealer
	wmu  sync.Mutex // WriteBatch's buffers
	w    sealBufs
	tmu  sync.Mutex // TryWriteBatch's buffers
	t    sealBufs

	rmu  sync.Mutex
	open *crypt.Opener
	// The read buffers are made at the first read, as many as fit
	// readBufBytes: a flow of the local layer (64 KiB SDUs) would
	// otherwise zero a megabyte at every allocation.
	maxSDU int
	rbuf   [][]byte // sealed packets as read
	rlens  []int
	plain  []byte // one SDU, for Read into a short buffer

	rejected, rejectedBytes atomic.Uint64
}

// sealBufs holds one writer's sealed packets; their capacity is kept
// between calls.
type sealBufs struct {
	buf [][]byte
	out [][]byte
}

func newSealBufs() sealBufs {
	return sealBufs{buf: make([][]byte, sealBatch), out: make([][]byte, sealBatch)}
}

// newSealedConn seals and opens the flow's packets with keys (which it
// erases). maxSDU is the largest plaintext SDU.
func newSealedConn(sock *seqpkt.Conn, keys crypt.Keys, maxSDU int) (*sealedConn, error) {
	defer keys.Erase()
	seal, err := keys.Sealer()
	if err != nil {
		return nil, err
	}
	open, err := keys.Opener()
	if err != nil {
		return nil, err
	}
	return &sealedConn{sock: sock, seal: seal, open: open, w: newSealBufs(), t: newSealBufs(), maxSDU: maxSDU}, nil
}

// readBufBytes bounds the memory of a sealed flow's read buffers: all of
// sealBatch for SDUs up to 4 KiB, fewer for larger ones, one at least.
const readBufBytes = 64 << 10

// readBufs returns the read buffers, making them at the first read.
// c.rmu held.
func (c *sealedConn) readBufs() ([][]byte, []int) {
	if c.rbuf == nil {
		size := c.maxSDU + crypt.Overhead
		k := min(max(readBufBytes/size, 1), sealBatch)
		c.rbuf, c.rlens = make([][]byte, k), make([]int, k)
		for i := range c.rbuf {
			c.rbuf[i] = make([]byte, size)
		}
	}
	return c.rbuf, c.rlens
}

// Rejected returns how many packets did not open, and their size.
func (c *sealedConn) Rejected() (uint64, uint64) {
	return c.rejected.Load(), c.rejectedBytes.Load()
}

// reject counts a packet that did not open.
func (c *sealedConn) reject(pkt []byte) {
	c.rejected.Add(1)
	c.rejectedBytes.Add(uint64(len(pkt)))
}

// WriteBatch implements frct.Lower and sduConn.
func (c *sealedConn) WriteBatch(pdus [][]byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(&c.w, pdus, c.sock.WriteBatch)
}

// TryWriteBatch implements frct.Lower: it never waits on the socket, nor
// for a writer that does.
func (c *sealedConn) TryWriteBatch(pdus [][]byte) (int, error) {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	return c.write(&c.t, pdus, c.sock.TryWriteBatch)
}

// write seals pdus into b, a batch at a time, and sends each batch.
func (c *sealedConn) write(b *sealBufs, pdus [][]byte, send func([][]byte) (int, error)) (int, error) {
	done := 0
	for done < len(pdus) {
		k := min(len(pdus)-done, sealBatch)
		if err := c.sealInto(b, pdus[done:done+k]); err != nil {
			return done, err
		}
		n, err := send(b.out[:k])
		done += n
		if err != nil || n < k {
			return done, err
		}
	}
	return done, nil
}

func (c *sealedConn) sealInto(b *sealBufs, pdus [][]byte) error {
	c.smu.Lock()
	defer c.smu.Unlock()
	for i, p := range pdus {
		out, err := c.seal.Seal(b.buf[i][:0], p)
		if err != nil {
			return err
		}
		b.buf[i], b.out[i] = out, out
	}
	return nil
}

// Write implements sduConn.
func (c *sealedConn) Write(p []byte) (int, error) {
	if _, err := c.WriteBatch([][]byte{p}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReadBatch implements frct.Lower and sduConn. Each buffer must hold the
// flow's largest SDU (frct and the API's batch readers size them so).
func (c *sealedConn) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readLocked(bufs, lens)
}

func (c *sealedConn) readLocked(bufs [][]byte, lens []int) (int, error) {
	for {
		k := min(len(bufs), sealBatch)
		rbuf, rlens := c.readBufs()
		k = min(k, len(rbuf))
		n, err := c.sock.ReadBatch(rbuf[:k], rlens[:k])
		out := 0
		for i := range n {
			pkt := rbuf[i][:rlens[i]]
			if len(pkt)-crypt.Overhead > len(bufs[out]) {
				c.reject(pkt) // cannot be ours: larger than any SDU
				continue
			}
			pt, oerr := c.open.Open(bufs[out][:0], pkt)
			if oerr != nil {
				c.reject(pkt)
				continue
			}
			lens[out] = len(pt)
			out++
		}
		if out > 0 || err != nil {
			return out, err
		}
	}
}

// Read implements sduConn: one SDU into p, cut to len(p) with
// seqpkt.ErrTruncated if longer, as an unsealed read would.
func (c *sealedConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.plain == nil {
		c.plain = make([]byte, c.maxSDU)
	}
	one, lens := [][]byte{c.plain}, []int{0}
	if _, err := c.readLocked(one, lens); err != nil {
		return 0, err
	}
	n := copy(p, c.plain[:lens[0]])
	if n < lens[0] {
		return n, seqpkt.ErrTruncated
	}
	return n, nil
}

// SetReadDeadline implements frct.Lower and sduConn.
func (c *sealedConn) SetReadDeadline(t time.Time) error { return c.sock.SetReadDeadline(t) }

// SetWriteDeadline implements frct.Lower and sduConn.
func (c *sealedConn) SetWriteDeadline(t time.Time) error { return c.sock.SetWriteDeadline(t) }

// Close implements frct.Lower and sduConn; the keys are erased.
func (c *sealedConn) Close() error {
	err := c.sock.Close()
	c.smu.Lock()
	c.seal.Erase()
	c.smu.Unlock()
	c.rmu.Lock()
	c.open.Erase()
	c.rmu.Unlock()
	return err
}
