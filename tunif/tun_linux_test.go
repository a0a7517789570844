package tunif

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testOff is the offset the tests read and write at: the device's headroom
// and an 8-byte header of the caller's.
const testOff = Headroom + 8

func newBatch(n int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, testOff+MaxPacket)
	}
	return bufs, make([]int, n)
}

// readUntil reads batches from d until match accepts a packet, and fails
// the test if none comes within the timeout (closing d, which ends the
// pending Read). It returns the packet and the batch sizes it saw.
func readUntil(t testing.TB, d Device, what string, match func(p []byte) bool) []byte {
	t.Helper()
	timer := time.AfterFunc(10*time.Second, func() { d.Close() })
	defer timer.Stop()
	bufs, sizes := newBatch(d.BatchSize())
	for {
		n, err := d.Read(bufs, sizes, testOff)
		if err != nil {
			t.Fatalf("%s: waiting for %s: %v", d.Name(), what, err)
		}
		for i := range n {
			if p := bufs[i][testOff : testOff+sizes[i]]; match(p) {
				return bytes.Clone(p)
			}
		}
	}
}

// write writes packets to d at testOff.
func write(t *testing.T, d Device, pkts ...[]byte) {
	t.Helper()
	bufs := make([][]byte, len(pkts))
	for i, p := range pkts {
		bufs[i] = append(make([]byte, testOff, testOff+MaxPacket), p...)
	}
	if n, err := d.Write(bufs, testOff); n != len(pkts) || err != nil {
		t.Fatalf("%s: Write = %d, %v; want %d, nil", d.Name(), n, err, len(pkts))
	}
}

type opener func(Config) (*TUN, error)

// openIn opens a tun or tap in ns, up, with the given address, closed when
// the test ends.
func openIn[D Device](t testing.TB, ns *netns, open func(Config) (D, error), cfg Config, addr string) D {
	t.Helper()
	var d D
	err := ns.run(func() error {
		var err error
		if d, err = open(cfg); err != nil {
			return err
		}
		return addAddr(d.Name(), netip.MustParsePrefix(addr))
	})
	if err != nil {
		t.Fatalf("open %s with %s: %v", cfg.Name, addr, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// listenUDP opens a UDP socket in ns.
func listenUDP(t *testing.T, ns *netns, addr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := ns.run(func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	tunLocal  = netip.MustParseAddr("10.9.0.1")
	tunRemote = netip.MustParseAddrPort("10.9.0.2:4000")
)

// ipFamily is how the UDP tests build and recognise datagrams.
type ipFamily struct {
	local, remote netip.AddrPort // the tun's address (port 0: any), the far end
	prefix        string         // the tun's address with its prefix length
	build         func(src, dst netip.AddrPort, data []byte) []byte
	parse         func(p []byte, dst netip.AddrPort) ([]byte, bool)
}

var (
	family4 = ipFamily{netip.AddrPortFrom(tunLocal, 0), tunRemote, "10.9.0.1/24", udp4, udp4Payload}
	family6 = ipFamily{netip.MustParseAddrPort("[fd09::1]:0"), netip.MustParseAddrPort("[fd09::2]:4000"), "fd09::1/64", udp6, udp6Payload}
)

// TestTUNMovesUDPBothWays sends a datagram from a socket out through the
// tun and one written to the tun up to the socket, over IPv4 and IPv6,
// with offloads and (IPv4) without.
func TestTUNMovesUDPBothWays(t *testing.T) {
	for _, c := range []struct {
		name string
		open opener
		fam  ipFamily
	}{{"offloads", OpenTUN, family4}, {"plain", OpenPlainTUN, family4}, {"offloads6", OpenTUN, family6}} {
		t.Run(c.name, func(t *testing.T) {
			ns := newNetns(t)
			tun := openIn(t, ns, c.open, Config{Name: "otun0", MTU: 1400, Up: true}, c.fam.prefix)
			if m, err := tun.MTU(); m != 1400 || err != nil {
				t.Errorf("MTU = %d, %v; want 1400", m, err)
			}
			udpBothWays(t, ns, tun, c.fam)
		})
	}
}

func udpBothWays(t *testing.T, ns *netns, tun Device, fam ipFamily) {
	c := listenUDP(t, ns, fam.local.String())
	if _, err := c.WriteToUDPAddrPort([]byte("out"), fam.remote); err != nil {
		t.Fatal(err)
	}
	readUntil(t, tun, "the datagram sent to "+fam.remote.String(), func(p []byte) bool {
		data, ok := fam.parse(p, fam.remote)
		return ok && string(data) == "out"
	})
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	write(t, tun, fam.build(fam.remote, netip.AddrPortFrom(fam.local.Addr(), local.Port()), []byte("in")))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "in" || from != fam.remote {
		t.Fatalf("socket read %q from %v, %v; want \"in\" from %v", buf[:n], from, err, fam.remote)
	}
}

// TestTUNEchoReply writes an ICMP echo request to the tun's address and
// reads the kernel's reply.
func TestTUNEchoReply(t *testing.T) {
	ns := newNetns(t)
	tun := openIn(t, ns, OpenTUN, Config{Name: "otun0", Up: true}, "10.9.0.1/24")
	write(t, tun, echo4(tunRemote.Addr(), tunLocal, 0x4242, 1, []byte("are you there")))
	readUntil(t, tun, "the echo reply", func(p []byte) bool {
		return len(p) >= 28 && p[9] == unix.IPPROTO_ICMP && p[20] == 0 && p[24] == 0x42 && p[25] == 0x42 &&
			bytes.HasSuffix(p, []byte("are you there"))
	})
}

// TestTUNSetMTU runs from outside the device's namespace: the ioctl socket
// opened with the device still reaches it.
func TestTUNSetMTU(t *testing.T) {
	ns := newNetns(t)
	tun := openIn(t, ns, OpenTUN, Config{Name: "otun0"}, "10.9.0.1/24")
	if err := tun.SetMTU(9000); err != nil {
		t.Fatal(err)
	}
	if m, err := tun.MTU(); m != 9000 || err != nil {
		t.Errorf("MTU after SetMTU(9000) = %d, %v", m, err)
	}
	if err := tun.SetMTU(0); err == nil {
		t.Error("SetMTU(0) accepted")
	}
}

// TestOpenBusyName opens a name that a live device holds.
func TestOpenBusyName(t *testing.T) {
	ns := newNetns(t)
	openIn(t, ns, OpenTUN, Config{Name: "otun0"}, "10.9.0.1/24")
	err := ns.run(func() error {
		d, err := OpenTUN(Config{Name: "otun0"})
		if err == nil {
			d.Close()
		}
		return err
	})
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("second open of otun0: %v, want EBUSY", err)
	}
}

// closeUnblocks checks that Close ends a pending Read with os.ErrClosed.
func closeUnblocks(t *testing.T, d Device) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		bufs, sizes := newBatch(d.BatchSize())
		for {
			if _, err := d.Read(bufs, sizes, testOff); err != nil {
				errc <- err
				return
			}
		}
	}()
	// Most likely the Read is waiting by then; if not, it must fail at
	// once, which the test accepts too.
	closed := make(chan error, 1)
	time.AfterFunc(20*time.Millisecond, func() { closed <- d.Close() })
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := d.Write([][]byte{make([]byte, testOff+40)}, testOff); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v, want os.ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestTUNCloseUnblocksRead(t *testing.T) {
	ns := newNetns(t)
	closeUnblocks(t, openIn(t, ns, OpenTUN, Config{Name: "otun0", Up: true}, "10.9.0.1/24"))
}

// TestBadPacketCostsNoOther writes a batch with an empty packet in the
// middle, as a peer could send one: the packets around it must still
// reach the kernel (wireguard-go's tun alone refuses the whole batch).
func TestBadPacketCostsNoOther(t *testing.T) {
	for name, open := range map[string]func(Config) (Device, error){
		"tun": func(c Config) (Device, error) { return OpenTUN(c) },
		"tap": func(c Config) (Device, error) { return OpenTAP(c) },
	} {
		t.Run(name, func(t *testing.T) {
			ns := newNetns(t)
			d := openIn(t, ns, open, Config{Name: "odev0", Up: true}, "10.9.0.1/24")
			c := listenUDP(t, ns, "10.9.0.1:0")
			to := netip.AddrPortFrom(tunLocal, c.LocalAddr().(*net.UDPAddr).AddrPort().Port())
			var mac [6]byte
			if name == "tap" {
				mac = linkMAC(t, ns, d.Name())
			}
			pkt := func(data string) []byte {
				p := udp4(tunRemote, to, []byte(data))
				if name == "tap" {
					p = ethernet(mac, remoteMAC, unix.ETH_P_IP, p)
				}
				return append(make([]byte, testOff, testOff+MaxPacket), p...)
			}
			bufs := [][]byte{pkt("one"), make([]byte, testOff), pkt("two")}
			n, err := d.Write(bufs, testOff)
			if n != 2 || !errors.Is(err, ErrPacketSize) {
				t.Errorf("Write = %d, %v; want 2 written and ErrPacketSize", n, err)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 100)
			for _, want := range []string{"one", "two"} {
				m, _, err := c.ReadFromUDPAddrPort(buf)
				if err != nil || string(buf[:m]) != want {
					t.Fatalf("socket read %q, %v; want %q", buf[:m], err, want)
				}
			}
		})
	}
}
