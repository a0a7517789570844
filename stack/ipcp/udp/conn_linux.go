package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/internal/mmsg"
	"o7s.dev/ouroboros/stack/ipcp/shim"
)

// batch is the most datagrams one system call moves.
const batch = 64

// conn is a UDP socket read and written in batches with recvmmsg and
// sendmmsg through Go's poller (package mmsg), with source and destination
// addresses kept as netip.AddrPort so that no datagram allocates.
type conn struct {
	uc  *net.UDPConn
	rc  syscall.RawConn
	v6  bool
	mtu int

	rmu sync.Mutex
	r   *mmsg.Batch

	wmu sync.Mutex
	w   *mmsg.Batch
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
	c := &conn{uc: uc, rc: rc, v6: network == "udp6", mtu: mtu, r: mmsg.New(mmsg.Recv, batch), w: mmsg.New(mmsg.Send, batch)}
	rc.Control(func(fd uintptr) { mmsg.GrowBuffers(int(fd), socketBuffer) })
	return c, nil
}

// socketBuffer is the kernel buffer asked for each way. The default (about
// 200 KiB) overflows under a burst of sendmmsg batches from the other side,
// and every overflow is a lost datagram.
const socketBuffer = 4 << 20

func (c *conn) MTU() int     { return c.mtu }
func (c *conn) Close() error { return c.uc.Close() }

// ReadBatch implements shim.Transport.
func (c *conn) ReadBatch(msgs []shim.Msg[netip.AddrPort]) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n := min(len(msgs), batch)
	for i := 0; i < n; i++ {
		c.r.Set(i, msgs[i].Buf, true)
	}
	n, err := c.r.Wait(c.rc, n)
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		msgs[i].N = c.r.Len(i)
		if c.r.Truncated(i) {
			msgs[i].N = 0 // larger than the MTU: dropped as malformed
		}
		msgs[i].Addr = c.r.AddrPort(i)
	}
	return n, nil
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
			c.w.Set(n, m.Buf[:m.N], false)
			c.w.SetAddrPort(n, m.Addr, c.v6)
			n++
		}
		sent, err := c.w.Wait(c.rc, n)
		switch err.(type) {
		case nil:
		case unix.Errno:
			// One bad destination must not stop the rest: skip it.
			sent++
		default:
			return done, err
		}
		done += sent
	}
	return done, nil
}

var errFamily = errors.New("address of the other IP family")

func familyCheck(v6 bool, a netip.Addr) error {
	if a.Unmap().Is4() == v6 {
		return fmt.Errorf("%w: %v", errFamily, a)
	}
	return nil
}
