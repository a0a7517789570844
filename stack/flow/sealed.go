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

	wmu  sync.Mutex
	seal *crypt.Sealer
	wbuf [][]byte // sealed packets, capacity kept between calls
	wout [][]byte

	rmu   sync.Mutex
	open  *crypt.Opener
	rbuf  [][]byte // sealed packets as read
	rlens []int
	plain []byte // one SDU, for Read into a short buffer

	rejected atomic.Uint64
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
	c := &sealedConn{sock: sock, seal: seal, open: open,
		wbuf: make([][]byte, sealBatch), wout: make([][]byte, sealBatch),
		rbuf: make([][]byte, sealBatch), rlens: make([]int, sealBatch), plain: make([]byte, maxSDU)}
	for i := range c.rbuf {
		c.rbuf[i] = make([]byte, maxSDU+crypt.Overhead)
	}
	return c, nil
}

// Rejected returns how many packets did not open.
func (c *sealedConn) Rejected() uint64 { return c.rejected.Load() }

// WriteBatch implements frct.Lower and sduConn.
func (c *sealedConn) WriteBatch(pdus [][]byte) (int, error) {
	return c.write(pdus, c.sock.WriteBatch)
}

// TryWriteBatch implements frct.Lower: it never blocks, not even for a
// writer blocked on a full socket (which holds the sealer): then nothing
// is written, as when the socket is full. FRCT's own goroutine sends acks
// and retransmissions this way, and must go on reading meanwhile.
func (c *sealedConn) TryWriteBatch(pdus [][]byte) (int, error) {
	if !c.wmu.TryLock() {
		return 0, nil
	}
	defer c.wmu.Unlock()
	return c.writeLocked(pdus, c.sock.TryWriteBatch)
}

func (c *sealedConn) write(pdus [][]byte, send func([][]byte) (int, error)) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(pdus, send)
}

func (c *sealedConn) writeLocked(pdus [][]byte, send func([][]byte) (int, error)) (int, error) {
	done := 0
	for done < len(pdus) {
		k := min(len(pdus)-done, sealBatch)
		for i := range k {
			out, err := c.seal.Seal(c.wbuf[i][:0], pdus[done+i])
			if err != nil {
				return done, err
			}
			c.wbuf[i], c.wout[i] = out, out
		}
		n, err := send(c.wout[:k])
		done += n
		if err != nil || n < k {
			return done, err
		}
	}
	return done, nil
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
		n, err := c.sock.ReadBatch(c.rbuf[:k], c.rlens[:k])
		out := 0
		for i := range n {
			pkt := c.rbuf[i][:c.rlens[i]]
			if len(pkt)-crypt.Overhead > len(bufs[out]) {
				c.rejected.Add(1) // cannot be ours: larger than any SDU
				continue
			}
			pt, oerr := c.open.Open(bufs[out][:0], pkt)
			if oerr != nil {
				c.rejected.Add(1)
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
	c.wmu.Lock()
	c.seal.Erase()
	c.wmu.Unlock()
	c.rmu.Lock()
	c.open.Erase()
	c.rmu.Unlock()
	return err
}
