package tunif

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// tapBatch is a tap's BatchSize. Frames come one per read(2), so a batch
// saves only wake-ups and lock round trips, not system calls.
const tapBatch = 64

// TAP is a tap interface: whole Ethernet frames.
type TAP struct {
	file *os.File
	rc   syscall.RawConn
	iface

	// Read's state, for readReady, which is made once so that a Read
	// allocates nothing.
	rmu       sync.Mutex
	rbufs     [][]byte
	rsizes    []int
	roff, rn  int
	rerr      error
	readReady func(fd uintptr) bool

	wmu        sync.Mutex
	wbufs      [][]byte
	woff, wn   int
	wfail      int
	werr       error
	writeReady func(fd uintptr) bool
}

var _ Device = (*TAP)(nil)

// OpenTAP creates the tap interface cfg describes (IFF_TAP|IFF_NO_PI).
func OpenTAP(cfg Config) (*TAP, error) {
	if err := cfg.check("tap"); err != nil {
		return nil, err
	}
	fd, name, err := openClone(cfg.Name, unix.IFF_TAP|unix.IFF_NO_PI)
	if err != nil {
		return nil, err
	}
	// Non-blocking before os.NewFile, so that the file joins Go's poller
	// and Close unblocks a Read.
	t := &TAP{file: os.NewFile(uintptr(fd), "/dev/net/tun"), iface: iface{name: name}}
	t.readReady = t.readSome
	t.writeReady = t.writeAll
	if t.rc, err = t.file.SyscallConn(); err != nil {
		t.file.Close()
		return nil, fmt.Errorf("tunif: tap %s: %w", name, err)
	}
	if err := t.setup(cfg.mtu(), cfg.Up); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Read implements Device: it waits for one frame, then takes those already
// queued, one read(2) each, until EAGAIN or the batch is full.
func (t *TAP) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if err := checkRead(bufs, sizes, offset); err != nil || len(bufs) == 0 {
		return 0, err
	}
	t.rmu.Lock()
	defer t.rmu.Unlock()
	t.rbufs, t.rsizes, t.roff, t.rn, t.rerr = bufs, sizes, offset, 0, nil
	err := t.rc.Read(t.readReady)
	n, rerr := t.rn, t.rerr
	t.rbufs, t.rsizes = nil, nil
	if err != nil || t.closed.Load() {
		return n, t.wrap("read", err)
	}
	if rerr != nil {
		return n, t.wrap("read", rerr)
	}
	return n, nil
}

// readSome runs with the fd ready or not; it returns false only to wait
// for the first frame.
func (t *TAP) readSome(fd uintptr) bool {
	for t.rn < len(t.rbufs) {
		m, err := unix.Read(int(fd), t.rbufs[t.rn][t.roff:])
		switch err {
		case nil:
			if m == len(t.rbufs[t.rn])-t.roff {
				t.rerr = ErrTruncated
				return true
			}
			t.rsizes[t.rn] = m
			t.rn++
		case unix.EINTR:
		case unix.EAGAIN:
			return t.rn > 0
		default:
			t.rerr = err
			return true
		}
	}
	return true
}

// Write implements Device: one write(2) per frame.
func (t *TAP) Write(bufs [][]byte, offset int) (int, error) {
	if offset < Headroom {
		return 0, ErrOffset
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.wbufs, t.woff, t.wn, t.wfail, t.werr = bufs, offset, 0, 0, nil
	err := t.rc.Write(t.writeReady)
	wn, fail, werr := t.wn, t.wfail, t.werr
	t.wbufs = nil
	if err != nil || t.closed.Load() {
		return wn - fail, t.wrap("write", err)
	}
	if fail > 0 {
		return wn - fail, t.wrap("write", fmt.Errorf("%d of %d frames refused, the first: %w", fail, len(bufs), werr))
	}
	return wn, nil
}

func (t *TAP) writeAll(fd uintptr) bool {
	for t.wn < len(t.wbufs) {
		var err error
		if p := t.wbufs[t.wn][t.woff:]; badSize(len(p)) {
			err = ErrPacketSize
		} else {
			_, err = unix.Write(int(fd), p)
		}
		switch err {
		case nil:
			t.wn++
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			// A refused frame (EINVAL: shorter than an Ethernet
			// header; EIO: the link is down; ErrPacketSize) does not
			// stop the rest.
			if t.wfail == 0 {
				t.werr = err
			}
			t.wfail++
			t.wn++
		}
	}
	return true
}

// BatchSize implements Device.
func (t *TAP) BatchSize() int { return tapBatch }

// Close implements Device.
func (t *TAP) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	return errors.Join(t.file.Close(), t.ctl.close())
}
