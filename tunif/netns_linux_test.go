package tunif

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netns is a fresh network namespace with one thread in it that runs what
// the test asks. The thread stays locked until the test ends and then
// exits, taking the namespace with it (once the devices and sockets made
// in it are closed).
type netns struct{ do chan func() }

func newNetns(t testing.TB) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and tun/tap devices")
	}
	n := &netns{do: make(chan func())}
	errc := make(chan error)
	go func() {
		// Never unlocked: the goroutine's end ends the thread, which
		// must not go back to the pool in another namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for f := range n.do {
			f()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
	t.Cleanup(func() { close(n.do) })
	return n
}

// run runs f on the namespace's thread and returns its error.
func (n *netns) run(f func() error) error {
	errc := make(chan error)
	n.do <- func() { errc <- f() }
	return <-errc
}

// addAddr gives the interface an address, without duplicate address
// detection for IPv6 so that it is usable at once. It runs in the
// namespace.
func addAddr(name string, p netip.Prefix) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: netipNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return netlink.AddrAdd(link, a)
}

func netipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Packet builders for the tests: checksums are filled in, as the kernel
// checks them on packets we write.

func csum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// ipv4 returns an IPv4 packet with the given protocol and payload.
func ipv4(src, dst netip.Addr, proto byte, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = proto
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], fold(csum(0, p[:20])))
	copy(p[20:], payload)
	return p
}

// udp4 returns an IPv4 UDP datagram (UDP checksum 0: none, allowed in IPv4).
func udp4(src, dst netip.AddrPort, data []byte) []byte {
	u := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], data)
	return ipv4(src.Addr(), dst.Addr(), unix.IPPROTO_UDP, u)
}

// echo4 returns an ICMP echo request.
func echo4(src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	m := make([]byte, 8+len(data))
	m[0] = 8
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	copy(m[8:], data)
	binary.BigEndian.PutUint16(m[2:], fold(csum(0, m)))
	return ipv4(src, dst, unix.IPPROTO_ICMP, m)
}

// udp4Payload returns the payload of an IPv4 UDP datagram to dst, or false.
func udp4Payload(p []byte, dst netip.AddrPort) ([]byte, bool) {
	if len(p) < 28 || p[0]>>4 != 4 || p[9] != unix.IPPROTO_UDP {
		return nil, false
	}
	ihl := int(p[0]&0xf) * 4
	d := dst.Addr().As4()
	if len(p) < ihl+8 || [4]byte(p[16:20]) != d || binary.BigEndian.Uint16(p[ihl+2:]) != dst.Port() {
		return nil, false
	}
	return p[ihl+8:], true
}
