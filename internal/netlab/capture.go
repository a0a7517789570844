package netlab

// Capture reads an interface's IP traffic through an AF_PACKET socket
// opened inside the node's namespace (see Node.Do), so tests need no
// tcpdump. The socket is SOCK_DGRAM: the kernel strips the Ethernet
// header and tells, per packet, whether the node sent or received it.
//
//	veth ─► AF_PACKET socket (ETH_P_ALL, bound to the interface) ─► read
//	        goroutine ─┬ CaptureUDP: IPv4? UDP? parse ─► []Datagram under a lock
//	                   └ CaptureIP:  IPv4 or IPv6? copy ─► []Packet under a lock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Datagram is one IPv4 UDP datagram seen on a captured interface.
type Datagram struct {
	Out      bool // sent by the node; else received by it
	Src, Dst netip.AddrPort
	Payload  []byte // the UDP payload
	At       time.Time
}

// Packet is one IPv4 or IPv6 packet seen on a captured interface.
type Packet struct {
	Out  bool   // sent by the node; else received by it
	Data []byte // the packet from its IP header on, a copy
	At   time.Time
}

// Capture records what one interface sends and receives, from
// End.CaptureUDP (IPv4 UDP datagrams; fragments and other protocols are
// skipped) or End.CaptureIP (every IP packet) until Stop. Its methods may
// be called from any goroutine.
type Capture struct {
	end      *End
	raw      bool     // CaptureIP's: keep whole packets, not datagrams
	f        *os.File // the packet socket, in the poller so that Close ends a read
	done     chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	seen    []Datagram
	packets []Packet
	err     error // why reading stopped early, if it did
}

// ethPAll, ethPIP and ethPIPv6 are ETH_P_ALL, ETH_P_IP and ETH_P_IPV6
// in network byte order, as AF_PACKET has them. Only an ETH_P_ALL socket
// sees outgoing packets.
const (
	ethPAll  = unix.ETH_P_ALL>>8 | unix.ETH_P_ALL<<8&0xff00
	ethPIP   = unix.ETH_P_IP>>8 | unix.ETH_P_IP<<8&0xff00
	ethPIPv6 = unix.ETH_P_IPV6>>8 | unix.ETH_P_IPV6<<8&0xff00
)

// captureBuf is the socket's receive buffer: room for a burst at line
// rate while the reader is descheduled.
const captureBuf = 8 << 20

// CaptureUDP starts capturing the IPv4 UDP datagrams the interface sends
// and receives; Stop ends it, and the Lab's Close does if the test does
// not. It fails the test if the socket cannot be made.
func (e *End) CaptureUDP() *Capture {
	e.Node.lab.t.Helper()
	return e.capture(false)
}

// CaptureIP starts capturing every IPv4 and IPv6 packet the interface
// sends and receives, whole (Packets); Stop ends it, and the Lab's Close
// does if the test does not. It keeps all it sees: stop it before bulk
// traffic. It fails the test if the socket cannot be made.
func (e *End) CaptureIP() *Capture {
	e.Node.lab.t.Helper()
	return e.capture(true)
}

// capture opens the socket and starts the reader.
func (e *End) capture(raw bool) *Capture {
	t := e.Node.lab.t
	t.Helper()
	var fd int
	err := e.Node.Do(func() error {
		var err error
		fd, err = packetSocket(e.Name)
		return err
	})
	if err != nil {
		t.Fatalf("netlab: capture on %s: %v", e, err)
	}
	c := &Capture{end: e, raw: raw, f: os.NewFile(uintptr(fd), "capture "+e.String()), done: make(chan struct{})}
	t.Cleanup(func() { c.Stop() })
	go c.read()
	return c
}

// packetSocket opens a non-blocking AF_PACKET socket for every protocol
// bound to interface name; the calling thread must be in the interface's namespace.
func packetSocket(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(ethPAll))
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	// Best effort: a smaller buffer only risks drops under load.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, captureBuf)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: ethPAll, Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind to %s: %w", name, err)
	}
	return fd, nil
}

// read records datagrams until Stop sets a read deadline, then what the
// socket still holds.
func (c *Capture) read() {
	defer close(c.done)
	rc, err := c.f.SyscallConn()
	if err != nil {
		c.stop(err)
		return
	}
	buf := make([]byte, 65536)
	for {
		var n int
		var from unix.Sockaddr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.drain(rc, buf)
			return
		}
		if err == nil {
			err = rerr
		}
		if err != nil {
			c.stop(err)
			return
		}
		c.record(buf[:n], from)
	}
}

// drain records what is queued on the socket without waiting for more:
// packets the node sent or got before Stop was called.
func (c *Capture) drain(rc syscall.RawConn, buf []byte) {
	for {
		var n int
		var from unix.Sockaddr
		var rerr error
		if err := rc.Control(func(fd uintptr) {
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		}); err != nil || rerr != nil {
			return
		}
		c.record(buf[:n], from)
	}
}

// record keeps a packet if it is an IPv4 UDP datagram, or (CaptureIP)
// any IP packet.
func (c *Capture) record(p []byte, from unix.Sockaddr) {
	ll, ok := from.(*unix.SockaddrLinklayer)
	if !ok {
		return
	}
	if c.raw && (ll.Protocol == ethPIP || ll.Protocol == ethPIPv6) {
		c.mu.Lock()
		c.packets = append(c.packets, Packet{Out: ll.Pkttype == unix.PACKET_OUTGOING, Data: append([]byte(nil), p...), At: time.Now()})
		c.mu.Unlock()
		return
	}
	if c.raw || ll.Protocol != ethPIP {
		return
	}
	if d, ok := parseUDP4(p); ok {
		d.Out = ll.Pkttype == unix.PACKET_OUTGOING
		d.At = time.Now()
		c.mu.Lock()
		c.seen = append(c.seen, d)
		c.mu.Unlock()
	}
}

func (c *Capture) stop(err error) {
	c.mu.Lock()
	c.err = fmt.Errorf("netlab: capture on %s: %w", c.end, err)
	c.mu.Unlock()
}

// parseUDP4 decodes an IPv4 packet carrying a whole UDP datagram. The
// payload is a copy.
func parseUDP4(p []byte) (Datagram, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_UDP {
		return Datagram{}, false
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	fragment := binary.BigEndian.Uint16(p[6:8])&0x3fff != 0 // MF set or an offset
	if ihl < 20 || total < ihl+8 || total > len(p) || fragment {
		return Datagram{}, false
	}
	u := p[ihl:total]
	ulen := int(binary.BigEndian.Uint16(u[4:6]))
	if ulen < 8 || ulen > len(u) {
		return Datagram{}, false
	}
	src := netip.AddrFrom4([4]byte(p[12:16]))
	dst := netip.AddrFrom4([4]byte(p[16:20]))
	return Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:2])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:4])),
		Payload: append([]byte(nil), u[8:ulen]...),
	}, true
}

// Datagrams returns what was captured so far, in the order seen.
func (c *Capture) Datagrams() []Datagram {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Datagram(nil), c.seen...)
}

// Packets returns the packets CaptureIP captured so far, in the order
// seen; Stop first to have them all.
func (c *Capture) Packets() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Packet(nil), c.packets...)
}

// Stop ends the capture and returns everything captured, with the error
// that ended it early, if any. It is idempotent.
func (c *Capture) Stop() ([]Datagram, error) {
	c.stopOnce.Do(func() {
		// The deadline wakes the reader, which drains the socket and
		// returns; only then may the socket go.
		if err := c.f.SetReadDeadline(time.Unix(1, 0)); err != nil {
			c.stop(err)
			c.f.Close()
		}
		<-c.done
		c.f.Close()
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Datagram(nil), c.seen...), c.err
}
