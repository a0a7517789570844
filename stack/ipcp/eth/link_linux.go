package eth

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
)

// recheck is how often the interface is looked at when the kernel tells
// nothing: the kernel announces a lost carrier only once its link watch
// has run, up to a second later, and notices can be lost to a full
// netlink buffer.
const recheck = 200 * time.Millisecond

// linkState is what the IPCP needs to know of its interface.
type linkState struct {
	index int // 0 when the interface does not exist
	mac   MAC
	mtu   int
	up    bool // administratively up, with a carrier (or running, if the driver cannot tell)
}

// ifreq is the kernel's struct ifreq: an interface name, then a union
// that each ioctl reads as its own type.
type ifreq struct {
	name [unix.IFNAMSIZ]byte
	data [24]byte
}

// ioctl runs an interface ioctl on fd for interface dev.
func ioctl(fd int, req uint, dev string) (*ifreq, error) {
	r := &ifreq{}
	copy(r.name[:unix.IFNAMSIZ-1], dev)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(r)))
	if errno != 0 {
		return nil, errno
	}
	return r, nil
}

// readLink reads the state of interface dev with ioctls on fd, in fd's
// network namespace. A missing or non-Ethernet interface is a *ctrl.Error.
func readLink(fd int, dev string) (linkState, error) {
	var st linkState
	r, err := ioctl(fd, unix.SIOCGIFINDEX, dev)
	if err == unix.ENODEV {
		return st, ctrl.Errorf(ctrl.CodeNotFound, "no network interface %q here (see 'ip link')", dev)
	}
	if err != nil {
		return st, err
	}
	index := int(int32(binary.NativeEndian.Uint32(r.data[:])))
	if r, err = ioctl(fd, unix.SIOCGIFHWADDR, dev); err != nil {
		return st, err
	}
	// ifr_hwaddr is a struct sockaddr: the hardware type, then the address.
	if hw := binary.NativeEndian.Uint16(r.data[:]); hw != unix.ARPHRD_ETHER {
		return st, ctrl.Errorf(ctrl.CodeInvalid, "%s is not an Ethernet interface (hardware type %d)", dev, hw)
	}
	copy(st.mac[:], r.data[2:8])
	if r, err = ioctl(fd, unix.SIOCGIFMTU, dev); err != nil {
		return st, err
	}
	st.mtu = int(int32(binary.NativeEndian.Uint32(r.data[:])))
	if r, err = ioctl(fd, unix.SIOCGIFFLAGS, dev); err != nil {
		return st, err
	}
	flags := binary.NativeEndian.Uint16(r.data[:])
	if flags&unix.IFF_UP != 0 {
		on, known := carrier(fd, dev)
		st.up = on || !known && flags&unix.IFF_RUNNING != 0
	}
	st.index = index
	return st, nil
}

// ifreqData is struct ifreq with the union read as a pointer (ifr_data),
// typed so that the garbage collector sees it.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// carrier asks the driver whether the link has a carrier (ETHTOOL_GLINK);
// known is false when the driver cannot tell. The kernel follows the
// carrier with IFF_RUNNING only once its link watch has run, up to a
// second later for most devices, and the driver knows at once.
func carrier(fd int, dev string) (on, known bool) {
	v := struct{ cmd, data uint32 }{cmd: unix.ETHTOOL_GLINK}
	r := &ifreqData{data: unsafe.Pointer(&v)}
	copy(r.name[:unix.IFNAMSIZ-1], dev)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(r)))
	return v.data != 0, errno == 0
}

// watcher is a NETLINK_ROUTE socket subscribed to link changes. Every
// notice is only a hint to read the interface's state again, so none is
// parsed.
type watcher struct {
	f    *os.File
	done chan struct{} // closed when routineLink returns
	once sync.Once
}

// newWatcher subscribes to link changes in the calling thread's network
// namespace.
func newWatcher() (*watcher, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &watcher{f: os.NewFile(uintptr(fd), "rtnetlink"), done: make(chan struct{})}, nil
}

// close stops routineLink and waits for it.
func (w *watcher) close() {
	w.once.Do(func() {
		w.f.Close()
		<-w.done
	})
}

// wait returns when a link changed, after recheck at the latest, or with
// os.ErrClosed once the watcher is closed.
func (w *watcher) wait(buf []byte) error {
	w.f.SetReadDeadline(time.Now().Add(recheck))
	_, err := w.f.Read(buf)
	if errors.Is(err, os.ErrClosed) {
		return err
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		// ENOBUFS (notices lost): reading the state again covers it. Any
		// other error must not turn this loop into a busy one.
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// routineLink follows the interface's state until the watcher is closed.
func (p *IPCP) routineLink(w *watcher, c *conn, dev string) {
	defer close(w.done)
	buf := make([]byte, 4096)
	for w.wait(buf) == nil {
		p.checkLink(c, dev)
	}
}

// checkLink reads the interface's state and acts on a change. An
// interface that disappeared counts as down; when one of that name
// appears again the socket is bound to it.
func (p *IPCP) checkLink(c *conn, dev string) {
	now, err := c.readLink(dev)
	p.mu.Lock()
	old := p.link
	p.mu.Unlock()
	if err != nil {
		now = linkState{mac: old.mac}
	}
	if now.index != 0 && now.index != old.index {
		if err := c.rebind(now.index); err != nil {
			p.log.Error("cannot bind to the interface again", "dev", dev, "err", err)
			now = linkState{mac: old.mac}
		}
	}
	if now.mac != old.mac {
		c.setSource(now.mac)
	}
	p.mu.Lock()
	p.link = now
	p.mu.Unlock()
	p.up.Store(now.up)
	p.linkChanged(dev, old, now)
}
