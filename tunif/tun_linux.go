package tunif

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// ErrTooManySegments is returned by a tun's Read, with the packets that fit,
// when an offloaded super-packet splits into more segments than there are
// buffers; the rest of it is lost. Reading with BatchSize buffers avoids it.
var ErrTooManySegments = tun.ErrTooManySegments

// TUN is a tun interface: IP packets, offloads on or off.
type TUN struct {
	dev tun.Device
	iface

	wmu  sync.Mutex
	good [][]byte // Write's batch without the packets of bad sizes
}

var _ Device = (*TUN)(nil)

// OpenTUN creates the tun interface cfg describes with the kernel's
// offloads on (TSO, checksum and, from Linux 6.2, USO): reads split
// super-packets, writes coalesce (GRO). BatchSize is 128.
func OpenTUN(cfg Config) (*TUN, error) {
	return openTUN(cfg, unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_VNET_HDR)
}

// OpenPlainTUN creates a tun interface without offloads: one packet per
// system call, BatchSize 1. It exists to measure what offloads give.
func OpenPlainTUN(cfg Config) (*TUN, error) {
	return openTUN(cfg, unix.IFF_TUN|unix.IFF_NO_PI)
}

func openTUN(cfg Config, flags uint16) (*TUN, error) {
	if err := cfg.check("tun"); err != nil {
		return nil, err
	}
	fd, name, err := openClone(cfg.Name, flags)
	if err != nil {
		return nil, err
	}
	// The fd is non-blocking, so os.NewFile puts it in Go's poller: reads
	// park goroutines, not threads, and Close wakes them.
	file := os.NewFile(uintptr(fd), "/dev/net/tun")
	dev, err := tun.CreateTUNFromFile(file, cfg.mtu())
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("tunif: tun %s: %w", name, err)
	}
	// wireguard's tun sends link events on a channel of 5 and its
	// listener blocks when nobody reads them; we have no use for them.
	go func() {
		for range dev.Events() {
		}
	}()
	t := &TUN{dev: dev, iface: iface{name: name}}
	// wireguard's tun has set the MTU already.
	if err := t.setup(0, cfg.Up); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Read implements Device.
func (t *TUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if err := checkRead(bufs, sizes, offset); err != nil {
		return 0, err
	}
	n, err := t.dev.Read(bufs, sizes, offset)
	if err != nil {
		return n, t.wrap("read", err)
	}
	// Without offloads wireguard's tun reads straight into bufs[0], and
	// the kernel cuts a packet that does not fit. (With them it reads
	// into its own 64 KiB buffer and refuses what does not fit.)
	if t.dev.BatchSize() == 1 && n == 1 && sizes[0] == len(bufs[0])-offset {
		return 0, t.wrap("read", ErrTruncated)
	}
	return n, nil
}

// Write implements Device.
func (t *TUN) Write(bufs [][]byte, offset int) (int, error) {
	if offset < Headroom {
		return 0, ErrOffset
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	// wireguard's Write refuses a whole batch for one empty packet
	// ("invalid offset"), so bad sizes are taken out first, into a
	// slice kept for the purpose.
	good, skipped := bufs, 0
	for _, b := range bufs {
		if badSize(len(b) - offset) {
			skipped++
		}
	}
	if skipped > 0 {
		good = t.good[:0]
		for _, b := range bufs {
			if !badSize(len(b) - offset) {
				good = append(good, b)
			}
		}
		t.good = good
		defer clear(t.good) // hold no caller's buffer
	}
	if len(good) > 0 {
		if _, err := t.dev.Write(good, offset); err != nil {
			// wireguard's Write goes on past a refused packet and
			// joins the errors; it does not say which were written.
			return 0, t.wrap("write", err)
		}
	}
	if skipped > 0 {
		return len(good), t.wrap("write", fmt.Errorf("%d of %d packets skipped: %w", skipped, len(bufs), ErrPacketSize))
	}
	return len(bufs), nil
}

// BatchSize implements Device.
func (t *TUN) BatchSize() int { return t.dev.BatchSize() }

// Close implements Device.
func (t *TUN) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	return errors.Join(t.dev.Close(), t.ctl.close())
}
