package mmsg

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Op is the direction of a Batch.
type Op int

const (
	Recv Op = iota // recvmmsg
	Send           // sendmmsg
)

// Batch is the scratch of one direction of one socket: up to Max messages
// of up to two iovecs each, and a socket address per message. Set the
// messages, then run them with Wait or Try; one goroutine at a time.
type Batch struct {
	op    Op
	hdr   []unix.Mmsghdr
	iov   []unix.Iovec // two per message
	names []unix.RawSockaddrAny

	// The call in progress: how many messages, and what it did.
	n     int
	res   int
	errno unix.Errno
	done  bool
	// transient, if set, says which errors are passed over: the call
	// is made again (a few times), then waits for readiness.
	transient func(unix.Errno) bool

	fn  func(uintptr) bool // call, bound once so that Wait does not allocate
	try func(uintptr)      // the same, for Try
}

// New returns a Batch of up to max messages in direction op.
func New(op Op, max int) *Batch {
	b := &Batch{
		op:    op,
		hdr:   make([]unix.Mmsghdr, max),
		iov:   make([]unix.Iovec, 2*max),
		names: make([]unix.RawSockaddrAny, max),
	}
	b.fn = b.call
	b.try = func(fd uintptr) { b.done = b.call(fd) }
	return b
}

// Max returns the most messages the batch holds.
func (b *Batch) Max() int { return len(b.hdr) }

// PassOver makes the batch treat the errors f reports as transient: the
// call is made again, at most four times, then waits for readiness. An
// AF_PACKET socket reports an interface going down once, with frames
// possibly queued behind the error.
func (b *Batch) PassOver(f func(unix.Errno) bool) { b.transient = f }

// zeroByte backs the iovec of an empty buffer: the kernel wants a valid
// pointer even for length 0. It is never written (length 0).
var zeroByte byte

func base(p []byte) *byte {
	if len(p) == 0 {
		return &zeroByte
	}
	return unsafe.SliceData(p)
}

// Set makes message i the buffer p: the space to receive into, or the
// bytes to send. With named, a received message's source address is kept
// (see AddrPort, Linklayer); a message to send gets its address from
// SetAddrPort.
func (b *Batch) Set(i int, p []byte, named bool) {
	b.set(i, nil, p, named)
}

// SetHead makes message i two buffers: head (a frame header, say) then p.
func (b *Batch) SetHead(i int, head, p []byte, named bool) {
	b.set(i, head, p, named)
}

func (b *Batch) set(i int, head, p []byte, named bool) {
	iov := b.iov[2*i : 2*i+2]
	k := 0
	if head != nil {
		iov[k] = unix.Iovec{Base: base(head)}
		iov[k].SetLen(len(head))
		k++
	}
	iov[k] = unix.Iovec{Base: base(p)}
	iov[k].SetLen(len(p))
	k++
	h := &b.hdr[i]
	*h = unix.Mmsghdr{}
	h.Hdr.Iov = &iov[0]
	h.Hdr.SetIovlen(k)
	if named {
		h.Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Hdr.Namelen = unix.SizeofSockaddrAny
	}
}

// SetAddrPort gives message i, to send, the UDP destination a: as an IPv4
// address unless v6.
func (b *Batch) SetAddrPort(i int, a netip.AddrPort, v6 bool) {
	sa := &b.names[i]
	*sa = unix.RawSockaddrAny{}
	h := &b.hdr[i]
	h.Hdr.Name = (*byte)(unsafe.Pointer(sa))
	if !v6 {
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		s4.Family = unix.AF_INET
		s4.Port = htons(a.Port())
		s4.Addr = a.Addr().Unmap().As4()
		h.Hdr.Namelen = unix.SizeofSockaddrInet4
		return
	}
	s6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
	s6.Family = unix.AF_INET6
	s6.Port = htons(a.Port())
	s6.Addr = a.Addr().As16()
	h.Hdr.Namelen = unix.SizeofSockaddrInet6
}

// Len returns the length of message i: received, or sent.
func (b *Batch) Len(i int) int { return int(b.hdr[i].Len) }

// Truncated reports whether received message i was larger than its
// buffers, and cut.
func (b *Batch) Truncated(i int) bool { return b.hdr[i].Hdr.Flags&unix.MSG_TRUNC != 0 }

// AddrPort returns the UDP source of received message i, an IPv4 address
// unmapped; the zero AddrPort for another family.
func (b *Batch) AddrPort(i int) netip.AddrPort {
	sa := &b.names[i]
	switch sa.Addr.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), ntohs(s4.Port))
	case unix.AF_INET6:
		s6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom16(s6.Addr).Unmap(), ntohs(s6.Port))
	}
	return netip.AddrPort{}
}

// Linklayer returns the AF_PACKET source of received message i.
func (b *Batch) Linklayer(i int) *unix.RawSockaddrLinklayer {
	return (*unix.RawSockaddrLinklayer)(unsafe.Pointer(&b.names[i]))
}

// Wait runs the first n messages through rc: it waits in the poller until
// the socket is ready and the call moves at least one message, the
// deadline passes or the socket is closed. It returns how many messages
// moved and the error of the call (a unix.Errno) or of the poller.
func (b *Batch) Wait(rc syscall.RawConn, n int) (int, error) {
	b.arm(n)
	var err error
	if b.op == Recv {
		err = rc.Read(b.fn)
	} else {
		err = rc.Write(b.fn)
	}
	if err != nil {
		return 0, err
	}
	return b.result()
}

// Try runs the first n messages through rc once, without waiting. ok is
// false when the socket was not ready (the queue is empty, or full).
func (b *Batch) Try(rc syscall.RawConn, n int) (moved int, ok bool, err error) {
	b.arm(n)
	b.done = false
	if err := rc.Control(b.try); err != nil {
		return 0, false, err
	}
	if !b.done {
		return 0, false, nil
	}
	moved, err = b.result()
	return moved, true, err
}

func (b *Batch) arm(n int) { b.n, b.res, b.errno = min(n, len(b.hdr)), 0, 0 }

func (b *Batch) result() (int, error) {
	if b.errno != 0 {
		return b.res, b.errno
	}
	return b.res, nil
}

// call makes the system call; it returns false to wait for readiness.
func (b *Batch) call(fd uintptr) bool {
	trap, flags := uintptr(unix.SYS_RECVMMSG), uintptr(unix.MSG_DONTWAIT)
	if b.op == Send {
		trap, flags = unix.SYS_SENDMMSG, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL
	}
	for range 4 {
		n, _, errno := unix.Syscall6(trap, fd, uintptr(unsafe.Pointer(&b.hdr[0])), uintptr(b.n), flags, 0, 0)
		switch {
		case errno == 0:
			b.res = int(n)
			return true
		case errno == unix.EAGAIN || errno == unix.EINTR:
			return false
		case b.transient != nil && b.transient(errno):
			continue
		}
		b.errno = errno
		return true
	}
	return false
}

// GrowBuffers asks for size bytes of kernel buffer each way on fd: the
// FORCE options work for root beyond the sysctl limits, the plain ones up
// to them otherwise. The default (about 200 KiB) overflows under a burst
// of batches from the other side.
func GrowBuffers(fd int, size int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, size)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	}
}

// htons and ntohs convert the port fields of raw socket addresses, which
// hold their bytes in network order whatever the host's.
func htons(p uint16) uint16 {
	var v uint16
	b := (*[2]byte)(unsafe.Pointer(&v))
	b[0], b[1] = byte(p>>8), byte(p)
	return v
}

func ntohs(v uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&v))
	return uint16(b[0])<<8 | uint16(b[1])
}

// Htons puts v in network byte order, as sockaddr_ll's protocol wants it.
func Htons(v uint16) uint16 { return htons(v) }
