// Package tuntest gives in-memory doubles of tunif.Device for tests of code
// that reads and writes packets: NewPair returns two connected devices, and
// what one writes the other reads. Give the code under test one end and
// drive the other, with Write and Read or, more simply, Send and Recv:
//
//	dev, peer := tuntest.NewPair(1400)
//	engine := overlay.New(dev, ...)
//	peer.Send(ipPacket)                  // the kernel sends ipPacket to the engine
//	got, err := peer.Recv(time.Second)   // what the engine wrote to its device
//
//	a.Write(bufs) ─► copy into a free buffer of b ─► b's queue ─► b.Read(bufs): copy out, buffer freed
//
// The doubles keep the contract of tunif.Device: batches, offsets of at
// least tunif.Headroom (whose bytes Write scribbles over, so that code
// relying on them after a Write fails here as it would on a real device),
// Close unblocking Read with os.ErrClosed, and no allocations per packet.
// Unlike a real tun they never drop for want of room: a Write waits while
// the peer's queue is full, until the peer reads or either end closes (a
// Write to a closed peer discards its packets, as a link to nobody would).
// A packet that fills a read buffer is dropped with tunif.ErrTruncated, as
// on a tap.
package tuntest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/tunif"
)

// BatchSize is a double's BatchSize.
const BatchSize = 64

// QueueLen is how many packets a double holds for its reader.
const QueueLen = 4 * BatchSize

// queue holds the packets written to one end: filled buffers in order, and
// the free buffers they come from, so that nothing is allocated per packet.
type queue struct {
	pkts chan []byte
	free chan []byte
	done chan struct{} // closed when the reading end closes
}

func newQueue() *queue {
	q := &queue{
		pkts: make(chan []byte, QueueLen),
		free: make(chan []byte, QueueLen),
		done: make(chan struct{}),
	}
	for range QueueLen {
		q.free <- make([]byte, 0, tunif.MaxPacket)
	}
	return q
}

// Device is one end of a pair. It implements tunif.Device.
type Device struct {
	name      string
	in, out   *queue
	mtu       atomic.Int32
	closeOnce sync.Once
	rmu, wmu  sync.Mutex
}

var _ tunif.Device = (*Device)(nil)

// NewPair returns two connected devices named tt-a and tt-b with the given
// MTU (0: tunif.DefaultMTU).
func NewPair(mtu int) (a, b *Device) {
	if mtu == 0 {
		mtu = tunif.DefaultMTU
	}
	qa, qb := newQueue(), newQueue()
	a = &Device{name: "tt-a", in: qa, out: qb}
	b = &Device{name: "tt-b", in: qb, out: qa}
	a.mtu.Store(int32(mtu))
	b.mtu.Store(int32(mtu))
	return a, b
}

// Read implements tunif.Device.
func (d *Device) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if offset < tunif.Headroom {
		return 0, tunif.ErrOffset
	}
	if len(sizes) < len(bufs) {
		return 0, fmt.Errorf("tuntest: %d sizes for %d buffers", len(sizes), len(bufs))
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	d.rmu.Lock()
	defer d.rmu.Unlock()
	if d.isClosed() {
		return 0, d.closed("read")
	}
	var p []byte
	select {
	case <-d.in.done:
		return 0, d.closed("read")
	case p = <-d.in.pkts:
	}
	n := 0
	for {
		// As the real devices: a packet that fills the buffer could
		// have been cut short there, and is dropped.
		if len(p) >= len(bufs[n])-offset {
			d.in.free <- p[:0]
			return n, fmt.Errorf("tuntest: read %s: %d-byte packet: %w", d.name, len(p), tunif.ErrTruncated)
		}
		sizes[n] = copy(bufs[n][offset:], p)
		d.in.free <- p[:0]
		n++
		if n == len(bufs) {
			return n, nil
		}
		select {
		case p = <-d.in.pkts:
		default:
			return n, nil
		}
	}
}

// Write implements tunif.Device.
func (d *Device) Write(bufs [][]byte, offset int) (int, error) {
	if offset < tunif.Headroom {
		return 0, tunif.ErrOffset
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.isClosed() {
		return 0, d.closed("write")
	}
	n, skipped := 0, 0
	for _, b := range bufs {
		if len(b) <= offset || len(b)-offset > tunif.MaxPacket {
			skipped++ // as the real devices do
			continue
		}
		var q []byte
		select {
		case <-d.in.done:
			return n, d.closed("write")
		case <-d.out.done:
			n++ // the peer is gone: the packet is lost on the way
			continue
		case q = <-d.out.free:
		}
		d.out.pkts <- append(q, b[offset:]...)
		n++
		// The headroom is the device's during a call.
		for j := offset - tunif.Headroom; j < offset; j++ {
			b[j] = 0xdd
		}
	}
	if skipped > 0 {
		return n, fmt.Errorf("tuntest: write %s: %d of %d packets skipped: %w", d.name, skipped, len(bufs), tunif.ErrPacketSize)
	}
	return n, nil
}

func (d *Device) isClosed() bool {
	select {
	case <-d.in.done:
		return true
	default:
		return false
	}
}

func (d *Device) closed(op string) error {
	return fmt.Errorf("tuntest: %s %s: %w", op, d.name, os.ErrClosed)
}

// BatchSize implements tunif.Device.
func (d *Device) BatchSize() int { return BatchSize }

// Name implements tunif.Device.
func (d *Device) Name() string { return d.name }

// MTU implements tunif.Device.
func (d *Device) MTU() (int, error) { return int(d.mtu.Load()), nil }

// SetMTU implements tunif.Device.
func (d *Device) SetMTU(mtu int) error {
	if mtu <= 0 || mtu > tunif.MaxPacket {
		return fmt.Errorf("tuntest: %s: MTU %d is outside 1..%d", d.name, mtu, tunif.MaxPacket)
	}
	d.mtu.Store(int32(mtu))
	return nil
}

// Close implements tunif.Device: this end's Read and Write return
// os.ErrClosed, and the peer's writes are discarded from now on.
func (d *Device) Close() error {
	d.closeOnce.Do(func() { close(d.in.done) })
	return nil
}

// ErrTimeout is returned by Recv when no packet came in time.
var ErrTimeout = errors.New("tuntest: no packet in time")

// Send writes packets as the device's user would, for a test driving one
// end by hand: each is copied behind tunif.Headroom bytes. It allocates;
// use Write on hot paths.
func (d *Device) Send(pkts ...[]byte) error {
	bufs := make([][]byte, len(pkts))
	for i, p := range pkts {
		bufs[i] = append(make([]byte, tunif.Headroom, tunif.Headroom+len(p)), p...)
	}
	_, err := d.Write(bufs, tunif.Headroom)
	return err
}

// Recv returns a copy of the next packet for this end, waiting at most
// timeout: ErrTimeout then, os.ErrClosed once the device is closed.
func (d *Device) Recv(timeout time.Duration) ([]byte, error) {
	d.rmu.Lock()
	defer d.rmu.Unlock()
	if d.isClosed() {
		return nil, d.closed("read")
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-d.in.done:
		return nil, d.closed("read")
	case <-t.C:
		return nil, fmt.Errorf("tuntest: read %s: %w after %v", d.name, ErrTimeout, timeout)
	case p := <-d.in.pkts:
		c := bytes.Clone(p)
		d.in.free <- p[:0]
		return c, nil
	}
}
