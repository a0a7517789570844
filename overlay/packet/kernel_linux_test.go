package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"o7s.dev/ouroboros/overlay/netcfg"
	"o7s.dev/ouroboros/tunif"
)

// The kernel as the independent judge: answers and clamped SYNs written
// into a tun must be taken by Linux's own IP, ICMP and TCP code, which
// checks every checksum and acts on what it accepts.

// kernelTun is a tun "pk0" in a fresh network namespace with 10.99.0.1/24
// and fd99::1/64, routes to 10.98.0.0/24 and fd98::/64 through it, and a
// reader that hands over copies of the packets the kernel sends.
type kernelTun struct {
	dev tunif.Device
	out chan []byte
}

func newKernelTun(t *testing.T) *kernelTun {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace and a tun device")
	}
	// The test's goroutine stays locked to its thread, which ends with
	// the test and takes the namespace with it.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
	dev, err := tunif.OpenPlainTUN(tunif.Config{Name: "pk0", MTU: 1500, Up: true})
	if err != nil {
		t.Fatal(err)
	}
	k := &kernelTun{dev: dev, out: make(chan []byte, 64)}
	t.Cleanup(func() { dev.Close() })
	i := netcfg.Iface{Name: "pk0"}
	if err := i.SetAddrs([]netip.Prefix{netip.MustParsePrefix("10.99.0.1/24"), netip.MustParsePrefix("fd99::1/64")}); err != nil {
		t.Fatal(err)
	}
	if err := i.SetRoutes([]netip.Prefix{netip.MustParsePrefix("10.98.0.0/24"), netip.MustParsePrefix("fd98::/64")}); err != nil {
		t.Fatal(err)
	}
	go func() {
		bufs, sizes := [][]byte{make([]byte, tunif.Headroom+tunif.MaxPacket)}, []int{0}
		for {
			n, err := dev.Read(bufs, sizes, tunif.Headroom)
			if errors.Is(err, os.ErrClosed) {
				close(k.out)
				return
			}
			if n == 1 {
				k.out <- append([]byte(nil), bufs[0][tunif.Headroom:tunif.Headroom+sizes[0]]...)
			}
		}
	}()
	return k
}

// next returns the next packet the kernel sends that match accepts, or
// fails the test after 5 s.
func (k *kernelTun) next(t *testing.T, what string, match func(p []byte) bool) []byte {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-k.out:
			if match(p) {
				return p
			}
		case <-timeout:
			t.Fatalf("the kernel sent no %s within 5 s; its counters:\n%s", what, kernelErrors())
			return nil
		}
	}
}

// write hands p to the kernel as if it had arrived on pk0.
func (k *kernelTun) write(t *testing.T, p []byte) {
	t.Helper()
	buf := append(make([]byte, tunif.Headroom), p...)
	if _, err := k.dev.Write([][]byte{buf}, tunif.Headroom); err != nil {
		t.Fatalf("writing %d bytes into the tun: %v", len(p), err)
	}
}

// toDst matches packets to dst.
func toDst(dst string) func([]byte) bool {
	want := netip.MustParseAddr(dst)
	return func(p []byte) bool { _, d, ok := Addrs(p); return ok && d == want }
}

// setsockopt sets an integer socket option on c.
func setsockopt(t *testing.T, c *net.UDPConn, level, opt, v int) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }); err != nil || serr != nil {
		t.Fatalf("setsockopt %d/%d: %v %v", level, opt, err, serr)
	}
}

// getsockopt reads an integer socket option of c.
func getsockopt(c *net.UDPConn, level, opt int) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	v := -1
	rc.Control(func(fd uintptr) { v, _ = unix.GetsockoptInt(int(fd), level, opt) })
	return v
}

// family holds what differs between the IPv4 and IPv6 cases.
type family struct {
	name, net, local, router, far string
	mtuDiscover, discoverDo       int // IP(V6)_MTU_DISCOVER, IP(V6)_PMTUDISC_DO
	mtu, recvErr, level           int // IP(V6)_MTU, IP(V6)_RECVERR, the option level
}

var families = []family{
	{"IPv4", "udp4", "10.99.0.1", "10.99.0.254", "10.98.0.5",
		unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO, unix.IP_MTU, unix.IP_RECVERR, unix.IPPROTO_IP},
	{"IPv6", "udp6", "fd99::1", "fd99::fe", "fd98::5",
		unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO, unix.IPV6_MTU, unix.IPV6_RECVERR, unix.IPPROTO_IPV6},
}

// TestKernelTakesTooBig: a DF datagram too big for the tunnel, answered
// with TooBig, makes the kernel lower the path MTU to what the answer
// announced. The kernel checks the IPv4 header and ICMP checksums and the
// ICMPv6 checksum over its pseudo-header, and drops an answer that fails.
func TestKernelTakesTooBig(t *testing.T) {
	k := newKernelTun(t)
	for _, f := range families {
		c, err := net.Dial(f.net, net.JoinHostPort(f.far, "9"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		u := c.(*net.UDPConn)
		setsockopt(t, u, f.level, f.mtuDiscover, f.discoverDo)
		if got := getsockopt(u, f.level, f.mtu); got != 1500 {
			t.Fatalf("%s: path MTU %d before the answer, want 1500", f.name, got)
		}
		if _, err := u.Write(make([]byte, 1400)); err != nil {
			t.Fatal(err)
		}
		p := k.next(t, f.name+" datagram", toDst(f.far))
		k.write(t, TooBig(nil, p, netip.MustParseAddr(f.router), 1280))
		deadline := time.Now().Add(5 * time.Second)
		for getsockopt(u, f.level, f.mtu) != 1280 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: path MTU %d after the answer, want 1280: the kernel did not take it; its counters:\n%s", f.name, getsockopt(u, f.level, f.mtu), kernelErrors())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := u.Write(make([]byte, 1400)); !errors.Is(err, syscall.EMSGSIZE) {
			t.Errorf("%s: a 1400-byte DF datagram after the answer: %v, want EMSGSIZE", f.name, err)
		}
	}
}

// TestKernelTakesUnreachable: a connected UDP socket (with RECVERR, since
// "no route" is not a hard error for UDP) reads ENETUNREACH after its
// datagram is answered with Unreachable.
func TestKernelTakesUnreachable(t *testing.T) {
	k := newKernelTun(t)
	for _, f := range families {
		c, err := net.Dial(f.net, net.JoinHostPort(f.far, "7"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		u := c.(*net.UDPConn)
		setsockopt(t, u, f.level, f.recvErr, 1)
		if _, err := u.Write([]byte("anyone?")); err != nil {
			t.Fatal(err)
		}
		p := k.next(t, f.name+" datagram", toDst(f.far))
		k.write(t, Unreachable(nil, p, netip.MustParseAddr(f.router)))
		u.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := u.Read(make([]byte, 64)); !errors.Is(err, syscall.ENETUNREACH) {
			t.Errorf("%s: read after the answer: %v, want ENETUNREACH; the kernel's counters:\n%s", f.name, err, kernelErrors())
		}
	}
}

// TestKernelTakesClampedSYN: a SYN to a listening socket, its MSS clamped,
// gets a SYN-ACK, so its TCP checksum is right; the same SYN from another
// port with its checksum spoilt, written first, gets none.
func TestKernelTakesClampedSYN(t *testing.T) {
	k := newKernelTun(t)
	for _, f := range families {
		ln, err := net.Listen("tcp", net.JoinHostPort(f.local, "8080"))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		segment := func(port uint16) []byte {
			// A NOP first: the MSS value sits at an odd offset.
			h := syn(tcpSYN, cat([]byte{1}, mssOpt(1460), []byte{3, 3, 7})...)
			binary.BigEndian.PutUint16(h[0:], port)
			binary.BigEndian.PutUint16(h[2:], 8080)
			if f.name == "IPv4" {
				return tcp4At(f.far, f.local, h)
			}
			return tcp6At(f.far, f.local, h)
		}
		bad, good := segment(40001), segment(40002)
		for _, p := range [][]byte{bad, good} {
			if !ClampMSS(p, 1300) {
				t.Fatalf("%s: SYN not clamped", f.name)
			}
		}
		bad[len(bad)-1] ^= 0x01 // the window scale changes, the checksum does not
		k.write(t, bad)
		k.write(t, good)
		p := k.next(t, f.name+" SYN-ACK", toDst(f.far))
		tcp := p[20:]
		if f.name == "IPv6" {
			tcp = p[40:]
		}
		if port := binary.BigEndian.Uint16(tcp[2:]); port != 40002 || tcp[13] != 0x12 {
			t.Errorf("%s: first answer to port %d flags %#x, want the SYN-ACK to the good SYN (port 40002)", f.name, port, tcp[13])
		}
	}
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// kernelErrors returns the namespace's non-zero IP, ICMP and TCP counters
// (of /proc/net/snmp and snmp6 as this thread sees them), to tell why the
// kernel dropped what a test wrote.
func kernelErrors() string {
	var b strings.Builder
	for _, f := range []string{"snmp", "snmp6"} {
		data, err := os.ReadFile("/proc/thread-self/net/" + f)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", f, err)
			continue
		}
		b.WriteString(nonZero(f, string(data)))
	}
	return b.String()
}

// nonZero picks the non-zero counters of snmp (pairs of header and value
// lines) or snmp6 (one "name value" a line).
func nonZero(file, data string) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimSpace(data), "\n")
	if file == "snmp6" {
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 2 && f[1] != "0" {
				fmt.Fprintf(&b, "%s=%s ", f[0], f[1])
			}
		}
		return b.String() + "\n"
	}
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j := 1; j < len(names) && j < len(values); j++ {
			if values[j] != "0" {
				fmt.Fprintf(&b, "%s%s=%s ", names[0], names[j], values[j])
			}
		}
	}
	return b.String() + "\n"
}
