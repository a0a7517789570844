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
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/internal/mmsg"
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
	r     *mmsg.Batch
	rslot [batch][maxHeader]byte

	wmu   sync.Mutex
	src   MAC // the interface's address, the source of every frame
	w     *mmsg.Batch
	wslot [batch][maxHeader]byte
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
	mmsg.GrowBuffers(fd, socketBuffer)
	f := os.NewFile(uintptr(fd), "eth:"+dev)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, linkState{}, err
	}
	c := &conn{f: f, rc: rc, fr: fr, mtu: fr.payloadMTU(st.mtu), src: st.mac,
		r: mmsg.New(mmsg.Recv, batch), w: mmsg.New(mmsg.Send, batch)}
	// The interface going down or away is reported once, and the link
	// watch acts on it; frames may be queued behind the error.
	c.r.PassOver(linkGone)
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
	sa := &unix.SockaddrLinklayer{Protocol: mmsg.Htons(proto), Ifindex: index}
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
		got, err := c.r.Wait(c.rc, n)
		if err != nil {
			return 0, err
		}
		if k := c.keep(msgs[:got]); k > 0 {
			return k, nil
		}
	}
}

// prepareRead joins message i's header slot to msgs[i].Buf.
func (c *conn) prepareRead(msgs []shim.Msg[MAC]) {
	h := c.fr.header()
	for i := range msgs {
		c.r.SetHead(i, c.rslot[i][:h], msgs[i].Buf, true)
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
	switch c.r.Linklayer(i).Pkttype {
	case unix.PACKET_HOST, unix.PACKET_BROADCAST:
	default:
		return 0, frameOther // multicast, for another host, or sent by us
	}
	n, v := c.fr.parse(c.rslot[i][:c.fr.header()], c.r.Len(i))
	if v == frameOK && c.r.Truncated(i) {
		return 0, frameBad // larger than the interface's MTU
	}
	return n, v
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
		sent, err := c.w.Wait(c.rc, n)
		switch errno, ok := err.(unix.Errno); {
		case err == nil:
		case !ok || linkGone(errno):
			return done, err
		default:
			sent++ // skip the frame refused
		}
		done += sent
	}
	return done, nil
}

// prepareWrite writes the headers of msgs into the slots and joins each to
// its datagram, returning how many frames are ready.
func (c *conn) prepareWrite(msgs []shim.Msg[MAC]) int {
	h := c.fr.header()
	for i, m := range msgs {
		c.fr.put(c.wslot[i][:], m.Addr, c.src, m.N)
		// No address: the socket's binding names the interface.
		c.w.SetHead(i, c.wslot[i][:h], m.Buf[:m.N], false)
	}
	return len(msgs)
}

// linkGone reports whether err says the interface is down or gone.
func linkGone(err unix.Errno) bool {
	return err == unix.ENETDOWN || err == unix.ENXIO || err == unix.ENODEV
}
