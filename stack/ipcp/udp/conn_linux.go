package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ipcp/shim"
)

// batch is the most datagrams one system call moves.
const batch = 64

// conn is a UDP socket read and written in batches with recvmmsg and
// sendmmsg through Go's poller, with source and destination addresses
// kept as netip.AddrPort so that no datagram allocates.
type conn struct {
	uc  *net.UDPConn
	rc  syscall.RawConn
	v6  bool
	mtu int

	rmu   sync.Mutex
	rhdr  [batch]unix.Mmsghdr
	riov  [batch]unix.Iovec
	rname [batch]unix.RawSockaddrInet6
	rn    int
	rerr  error
	rlen  int
	rfn   func(uintptr) bool

	wmu   sync.Mutex
	whdr  [batch]unix.Mmsghdr
	wiov  [batch]unix.Iovec
	wname [batch]unix.RawSockaddrInet6
	wlen  int
	wn    int
	werr  error
	wfn   func(uintptr) bool
}

var _ shim.Transport[netip.AddrPort] = (*conn)(nil)

// listen opens the layer's socket on laddr.
func listen(network string, laddr netip.AddrPort, mtu int) (*conn, error) {
	uc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(laddr))
	if err != nil {
		return nil, err
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, err
	}
	c := &conn{uc: uc, rc: rc, v6: network == "udp6", mtu: mtu}
	c.rfn, c.wfn = c.recv, c.sendm
	rc.Control(growBuffers)
	return c, nil
}

// socketBuffer is the kernel buffer asked for each way. The default (about
// 200 KiB) overflows under a burst of sendmmsg batches from the other side,
// and every overflow is a lost datagram.
const socketBuffer = 4 << 20

// growBuffers asks for socketBuffer bytes each way: the FORCE options work
// for root beyond the sysctl limits, the plain ones up to them otherwise.
func growBuffers(fd uintptr) {
	if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer) != nil {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
	}
	if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBuffer) != nil {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, socketBuffer)
	}
}

func (c *conn) MTU() int     { return c.mtu }
func (c *conn) Close() error { return c.uc.Close() }

// ReadBatch implements shim.Transport.
func (c *conn) ReadBatch(msgs []shim.Msg[netip.AddrPort]) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n := min(len(msgs), batch)
	for i := 0; i < n; i++ {
		c.riov[i] = unix.Iovec{Base: &msgs[i].Buf[0]}
		c.riov[i].SetLen(len(msgs[i].Buf))
		c.rhdr[i] = unix.Mmsghdr{}
		c.rhdr[i].Hdr.Iov = &c.riov[i]
		c.rhdr[i].Hdr.SetIovlen(1)
		c.rhdr[i].Hdr.Name = (*byte)(unsafe.Pointer(&c.rname[i]))
		c.rhdr[i].Hdr.Namelen = unix.SizeofSockaddrInet6
	}
	c.rlen, c.rn, c.rerr = n, 0, nil
	if err := c.rc.Read(c.rfn); err != nil {
		return 0, err
	}
	if c.rerr != nil {
		return 0, c.rerr
	}
	for i := 0; i < c.rn; i++ {
		msgs[i].N = int(c.rhdr[i].Len)
		if c.rhdr[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			msgs[i].N = 0 // larger than the MTU: dropped as malformed
		}
		msgs[i].Addr = sockaddrToAddrPort(&c.rname[i])
	}
	return c.rn, nil
}

func (c *conn) recv(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.rhdr[0])), uintptr(c.rlen), unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		c.rn = int(n)
		return true
	case unix.EAGAIN, unix.EINTR:
		return false
	}
	c.rerr = errno
	return true
}

// WriteBatch implements shim.Transport. Datagrams to addresses of the other
// family are skipped (a udp4 layer cannot reach an IPv6 address).
func (c *conn) WriteBatch(msgs []shim.Msg[netip.AddrPort]) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	done := 0
	for done < len(msgs) {
		n := 0
		for _, m := range msgs[done:min(len(msgs), done+batch)] {
			nl := c.putSockaddr(n, m.Addr)
			c.wiov[n] = unix.Iovec{Base: &m.Buf[0]}
			c.wiov[n].SetLen(m.N)
			c.whdr[n] = unix.Mmsghdr{}
			c.whdr[n].Hdr.Iov = &c.wiov[n]
			c.whdr[n].Hdr.SetIovlen(1)
			c.whdr[n].Hdr.Name = (*byte)(unsafe.Pointer(&c.wname[n]))
			c.whdr[n].Hdr.Namelen = nl
			n++
		}
		c.wlen, c.wn, c.werr = n, 0, nil
		if err := c.rc.Write(c.wfn); err != nil {
			return done, err
		}
		if c.werr != nil {
			// One bad destination must not stop the rest: skip it.
			c.wn++
		}
		done += c.wn
	}
	return done, nil
}

func (c *conn) sendm(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.whdr[0])), uintptr(c.wlen), unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		c.wn = int(n)
		return true
	case unix.EAGAIN, unix.EINTR:
		return false
	}
	c.werr = errno
	return true
}

// putSockaddr writes a into slot i and returns its length.
func (c *conn) putSockaddr(i int, a netip.AddrPort) uint32 {
	sa := &c.wname[i]
	*sa = unix.RawSockaddrInet6{}
	if !c.v6 {
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		s4.Family = unix.AF_INET
		s4.Port = htons(a.Port())
		s4.Addr = a.Addr().Unmap().As4()
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	sa.Port = htons(a.Port())
	sa.Addr = a.Addr().As16()
	return unix.SizeofSockaddrInet6
}

func sockaddrToAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), ntohs(s4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), ntohs(sa.Port))
	}
	return netip.AddrPort{}
}

// htons and ntohs convert the port fields of raw sockaddrs, which hold
// their bytes in network order whatever the host's.
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

var errFamily = errors.New("address of the other IP family")

func familyCheck(v6 bool, a netip.Addr) error {
	if a.Unmap().Is4() == v6 {
		return fmt.Errorf("%w: %v", errFamily, a)
	}
	return nil
}
