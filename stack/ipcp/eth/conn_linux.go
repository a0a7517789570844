package eth

// The frame path of an Ethernet IPCP. The shim core hands over and takes
// shim datagrams in its own buffers; the frame header lives in a slot of
// the conn, joined to the datagram by a second iovec, so that nothing is
// copied and nothing allocated per frame:
//
//	core ─ Msg{datagram, dst MAC} ─► WriteBatch: header into slot i ─► sendmmsg [slot i | datagram]
//	core ◄─ Msg{datagram, src MAC} ◄─ ReadBatch: check header, cut padding ◄─ recvmmsg [slot i | core buffer]
//
// ReadBatch keeps frames addressed to this host (or broadcast) that parse
// as this layer's, moving them to the front of the batch; frames of other
// protocols and layers are ignored, and frames of this layer that do not
// parse are returned empty so that the core counts them as malformed.

import (
	"encoding/binary"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp/shim"
)

const (
	// batch is the most frames one system call moves.
	batch = 64

	// socketBuffer is the kernel buffer asked for each way: bursts of a
	// few hundred full frames wait there rather than being dropped.
	socketBuffer = 4 << 20
)

// conn is an AF_PACKET socket bound to one interface and one protocol
// (our ethertype, or 802.2 LLC), read and written in batches through Go's
// poller. It implements shim.Transport[MAC].
type conn struct {
	f   *os.File
	rc  syscall.RawConn
	fr  framing
	mtu int // the largest datagram (frame payload)

	rmu   sync.Mutex
	rhdr  [batch]unix.Mmsghdr
	riov  [2 * batch]unix.Iovec
	rname [batch]unix.RawSockaddrLinklayer
	rslot [batch][maxHeader]byte
	rlen  int
	rn    int
	rerr  error
	rfn   func(uintptr) bool

	wmu   sync.Mutex
	src   MAC // the interface's address, the source of every frame
	whdr  [batch]unix.Mmsghdr
	wiov  [2 * batch]unix.Iovec
	wslot [batch][maxHeader]byte
	wlen  int
	wn    int
	werr  error
	wfn   func(uintptr) bool
}

var _ shim.Transport[MAC] = (*conn)(nil)

// open opens a socket on interface dev for frames of format fr, in the
// calling thread's network namespace, and returns it with the state of
// the interface. Problems with the interface are *ctrl.Error values.
func open(dev string, fr framing) (*conn, linkState, error) {
	// Protocol 0: nothing is received until bind names ours.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if err == unix.EPERM || err == unix.EACCES {
			return nil, linkState{}, ctrl.Errorf(ctrl.CodeNotAllowed, "raw Ethernet sockets need root or CAP_NET_RAW: %v", err)
		}
		return nil, linkState{}, err
	}
	st, err := readLink(fd, dev)
	if err == nil {
		err = checkMTU(dev, fr, st.mtu)
	}
	if err == nil {
		err = bindTo(fd, fr, st.index)
	}
	if err != nil {
		unix.Close(fd)
		return nil, linkState{}, err
	}
	growBuffers(fd)
	f := os.NewFile(uintptr(fd), "eth:"+dev)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, linkState{}, err
	}
	c := &conn{f: f, rc: rc, fr: fr, mtu: fr.payloadMTU(st.mtu), src: st.mac}
	c.rfn, c.wfn = c.recv, c.send
	return c, st, nil
}

// checkMTU refuses interfaces whose frames cannot hold a flow request.
func checkMTU(dev string, fr framing, ifMTU int) error {
	if fr.payloadMTU(ifMTU) < minPayload {
		return ctrl.Errorf(ctrl.CodeInvalid, "interface %s has MTU %d: the layer needs at least %d",
			dev, ifMTU, minPayload+fr.header()-ethHeader)
	}
	return nil
}

// bindTo binds the socket to the interface and to the layer's protocol:
// from then on the kernel hands it only frames of that protocol.
func bindTo(fd int, fr framing, index int) error {
	proto := fr.ethertype
	if fr.llc {
		proto = unix.ETH_P_802_2
	}
	// sll_protocol is in network byte order.
	sa := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: index}
	return unix.Bind(fd, sa)
}

// rebind binds the socket again, to the interface's new index: an
// interface that was deleted and created again is a new interface to the
// kernel, and the socket lost the old one.
func (c *conn) rebind(index int) error {
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { err = bindTo(int(fd), c.fr, index) }); cerr != nil {
		return cerr
	}
	return err
}

// setSource changes the source address of the frames sent from now on.
func (c *conn) setSource(m MAC) {
	c.wmu.Lock()
	c.src = m
	c.wmu.Unlock()
}

// readLink reads the state of interface dev through the socket, so in the
// socket's network namespace whichever thread asks.
func (c *conn) readLink(dev string) (linkState, error) {
	var st linkState
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { st, err = readLink(int(fd), dev) }); cerr != nil {
		return st, cerr
	}
	return st, err
}

func growBuffers(fd int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, socketBuffer)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
	}
}

// MTU implements shim.Transport: the largest datagram a frame carries.
func (c *conn) MTU() int { return c.mtu }

// Close implements shim.Transport; a blocked ReadBatch returns an error.
func (c *conn) Close() error { return c.f.Close() }

// ReadBatch implements shim.Transport. It may reorder the buffers of msgs
// among its entries: the frames kept come first.
func (c *conn) ReadBatch(msgs []shim.Msg[MAC]) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n := min(len(msgs), batch)
	if n == 0 {
		return 0, nil
	}
	for {
		c.prepareRead(msgs[:n])
		c.rlen, c.rn, c.rerr = n, 0, nil
		if err := c.rc.Read(c.rfn); err != nil {
			return 0, err
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if k := c.keep(msgs[:c.rn]); k > 0 {
			return k, nil
		}
	}
}

// prepareRead points slot i's header iovec at its header slot and its
// payload iovec at msgs[i].Buf.
func (c *conn) prepareRead(msgs []shim.Msg[MAC]) {
	h := c.fr.header()
	for i := range msgs {
		iov := c.riov[2*i : 2*i+2]
		iov[0] = unix.Iovec{Base: &c.rslot[i][0]}
		iov[0].SetLen(h)
		iov[1] = unix.Iovec{Base: unsafe.SliceData(msgs[i].Buf)}
		iov[1].SetLen(len(msgs[i].Buf))
		c.rhdr[i] = unix.Mmsghdr{}
		c.rhdr[i].Hdr.Iov = &iov[0]
		c.rhdr[i].Hdr.SetIovlen(2)
		c.rhdr[i].Hdr.Name = (*byte)(unsafe.Pointer(&c.rname[i]))
		c.rhdr[i].Hdr.Namelen = unix.SizeofSockaddrLinklayer
	}
}

// keep checks the frames received into msgs and moves those for the core
// to the front (swapping buffers), returning how many there are.
func (c *conn) keep(msgs []shim.Msg[MAC]) int {
	k := 0
	for i := range msgs {
		n, v := c.check(i)
		if v == frameOther {
			continue
		}
		if v == frameBad {
			n = 0 // the core counts it as malformed
		}
		msgs[k].Buf, msgs[i].Buf = msgs[i].Buf, msgs[k].Buf
		msgs[k].N = n
		copy(msgs[k].Addr[:], c.rslot[i][6:12])
		k++
	}
	return k
}

// check judges received frame i: only frames to this host or broadcast,
// not our own, whole, and of this layer are OK.
func (c *conn) check(i int) (int, verdict) {
	switch c.rname[i].Pkttype {
	case unix.PACKET_HOST, unix.PACKET_BROADCAST:
	default:
		return 0, frameOther // multicast, for another host, or sent by us
	}
	n, v := c.fr.parse(c.rslot[i][:c.fr.header()], int(c.rhdr[i].Len))
	if v == frameOK && c.rhdr[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
		return 0, frameBad // larger than the interface's MTU
	}
	return n, v
}

// recv runs recvmmsg; it is called by the poller until it returns true.
func (c *conn) recv(fd uintptr) bool {
	for range 4 {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.rhdr[0])), uintptr(c.rlen), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			c.rn = int(n)
			return true
		case unix.EAGAIN, unix.EINTR:
			return false
		case unix.ENETDOWN, unix.ENODEV, unix.ENXIO:
			// The interface went down or away: the error is reported once
			// and the link watch acts on it. Frames may be queued behind it.
			continue
		}
		c.rerr = errno
		return true
	}
	return false
}

// WriteBatch implements shim.Transport. A frame the kernel refuses is
// lost, like any frame on a segment; when the interface is down or gone
// the rest of the batch is lost with it.
func (c *conn) WriteBatch(msgs []shim.Msg[MAC]) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	done := 0
	for done < len(msgs) {
		n := c.prepareWrite(msgs[done:min(len(msgs), done+batch)])
		c.wlen, c.wn, c.werr = n, 0, nil
		if err := c.rc.Write(c.wfn); err != nil {
			return done, err
		}
		if c.werr != nil {
			if linkGone(c.werr) {
				return done, c.werr
			}
			c.wn++ // skip the frame refused
		}
		done += c.wn
	}
	return done, nil
}

// prepareWrite writes the headers of msgs into the slots and joins each to
// its datagram, returning how many frames are ready.
func (c *conn) prepareWrite(msgs []shim.Msg[MAC]) int {
	h := c.fr.header()
	for i, m := range msgs {
		c.fr.put(c.wslot[i][:], m.Addr, c.src, m.N)
		iov := c.wiov[2*i : 2*i+2]
		iov[0] = unix.Iovec{Base: &c.wslot[i][0]}
		iov[0].SetLen(h)
		iov[1] = unix.Iovec{Base: unsafe.SliceData(m.Buf)}
		iov[1].SetLen(m.N)
		c.whdr[i] = unix.Mmsghdr{}
		c.whdr[i].Hdr.Iov = &iov[0]
		c.whdr[i].Hdr.SetIovlen(2)
		// No address: the socket's binding names the interface.
	}
	return len(msgs)
}

// send runs sendmmsg; it is called by the poller until it returns true.
func (c *conn) send(fd uintptr) bool {
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

func linkGone(err error) bool {
	return err == unix.ENETDOWN || err == unix.ENXIO || err == unix.ENODEV
}

// htons puts v in network byte order, as sockaddr_ll wants its protocol.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
