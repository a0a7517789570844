package tunif

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	tapLocal  = netip.MustParseAddr("10.9.1.1")
	tapRemote = netip.MustParseAddrPort("10.9.1.2:4000")
	// remoteMAC is the station the test plays on the tap's link.
	remoteMAC = [6]byte{0x02, 0, 0, 0, 0, 0x02}
)

// ethernet returns a frame from src to dst.
func ethernet(dst, src [6]byte, etherType uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f, dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], etherType)
	return append(f, payload...)
}

// isARPRequest says whether f asks who has ip, and returns the asker's MAC.
func isARPRequest(f []byte, ip netip.Addr) ([6]byte, bool) {
	if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != unix.ETH_P_ARP || binary.BigEndian.Uint16(f[20:]) != 1 {
		return [6]byte{}, false
	}
	return [6]byte(f[22:28]), [4]byte(f[38:42]) == ip.As4()
}

// arpReply answers the request of (mac, ip) for (remoteMAC, ourIP).
func arpReply(mac [6]byte, ip, ourIP netip.Addr) []byte {
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:], 1) // Ethernet
	binary.BigEndian.PutUint16(a[2:], unix.ETH_P_IP)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 2) // reply
	copy(a[8:], remoteMAC[:])
	o := ourIP.As4()
	copy(a[14:], o[:])
	copy(a[18:], mac[:])
	t := ip.As4()
	copy(a[24:], t[:])
	return ethernet(mac, remoteMAC, unix.ETH_P_ARP, a)
}

// udpFrame says whether f is a UDP datagram to remoteMAC and tapRemote
// carrying data.
func udpFrame(f []byte, data string) bool {
	if len(f) < 14 || [6]byte(f[:6]) != remoteMAC || binary.BigEndian.Uint16(f[12:]) != unix.ETH_P_IP {
		return false
	}
	p, ok := udp4Payload(f[14:], tapRemote)
	return ok && string(p) == data
}

// TestTAPMovesFrames plays a station on the tap's link: it answers the
// kernel's ARP request, receives the datagram that was waiting for it,
// then a batch of ten in one Read, and sends a datagram up to a socket.
func TestTAPMovesFrames(t *testing.T) {
	ns := newNetns(t)
	tap := openIn(t, ns, OpenTAP, Config{Name: "otap0", MTU: 1400, Up: true}, "10.9.1.1/24")
	if m, err := tap.MTU(); m != 1400 || err != nil {
		t.Errorf("MTU = %d, %v; want 1400", m, err)
	}
	c := listenUDP(t, ns, "10.9.1.1:0")
	if _, err := c.WriteToUDPAddrPort([]byte("first"), tapRemote); err != nil {
		t.Fatal(err)
	}
	var tapMAC [6]byte
	readUntil(t, tap, "the kernel's ARP request for "+tapRemote.Addr().String(), func(f []byte) bool {
		var ok bool
		tapMAC, ok = isARPRequest(f, tapRemote.Addr())
		return ok
	})
	write(t, tap, arpReply(tapMAC, tapLocal, tapRemote.Addr()))
	readUntil(t, tap, "the datagram queued behind ARP", func(f []byte) bool { return udpFrame(f, "first") })

	// sendto on a tap's route runs down to the tap's queue before it
	// returns, so all ten are queued when Read starts.
	const burst = 10
	for range burst {
		if _, err := c.WriteToUDPAddrPort([]byte("burst"), tapRemote); err != nil {
			t.Fatal(err)
		}
	}
	bufs, sizes := newBatch(tap.BatchSize())
	n, err := tap.Read(bufs, sizes, testOff)
	got := 0
	for i := range n {
		if udpFrame(bufs[i][testOff:testOff+sizes[i]], "burst") {
			got++
		}
	}
	if err != nil || got != burst {
		t.Fatalf("one Read returned %d frames (%d of the burst of %d), %v; want the whole burst", n, got, burst, err)
	}

	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	write(t, tap, ethernet(tapMAC, remoteMAC, unix.ETH_P_IP,
		udp4(tapRemote, netip.AddrPortFrom(tapLocal, local.Port()), []byte("up"))))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	m, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:m], []byte("up")) || from != tapRemote {
		t.Fatalf("socket read %q from %v, %v; want \"up\" from %v", buf[:m], from, err, tapRemote)
	}
}

// TestTAPRefusedFrameDoesNotStopBatch writes a runt between two good frames.
func TestTAPRefusedFrameDoesNotStopBatch(t *testing.T) {
	ns := newNetns(t)
	tap := openIn(t, ns, OpenTAP, Config{Name: "otap0", Up: true}, "10.9.1.1/24")
	good := ethernet([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, remoteMAC, 0x88b5, make([]byte, 46))
	bufs := [][]byte{
		append(make([]byte, testOff), good...),
		append(make([]byte, testOff), 1, 2, 3), // shorter than an Ethernet header
		append(make([]byte, testOff), good...),
	}
	n, err := tap.Write(bufs, testOff)
	if n != 2 || err == nil {
		t.Fatalf("Write = %d, %v; want 2 written and an error for the runt", n, err)
	}
	t.Logf("the runt: %v", err)
}

func TestTAPSetMTU(t *testing.T) {
	ns := newNetns(t)
	tap := openIn(t, ns, OpenTAP, Config{Name: "otap0"}, "10.9.1.1/24")
	if m, err := tap.MTU(); m != DefaultMTU || err != nil {
		t.Errorf("MTU = %d, %v; want DefaultMTU", m, err)
	}
	if err := tap.SetMTU(9000); err != nil {
		t.Fatal(err)
	}
	if m, err := tap.MTU(); m != 9000 || err != nil {
		t.Errorf("MTU after SetMTU(9000) = %d, %v", m, err)
	}
}

func TestTAPCloseUnblocksRead(t *testing.T) {
	ns := newNetns(t)
	closeUnblocks(t, openIn(t, ns, OpenTAP, Config{Name: "otap0", Up: true}, "10.9.1.1/24"))
}

// TestReadDropsCutShortPacket reads a reply larger than the buffer: the
// kernel cuts it silently, so Read must drop it and say so.
func TestReadDropsCutShortPacket(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) *echoer{
		"plain": func(t *testing.T) *echoer { return tunEchoer(t, OpenPlainTUN, 1, 3000) },
		"tap":   func(t *testing.T) *echoer { return tapEchoer(t, 1, 3000) },
	} {
		t.Run(name, func(t *testing.T) {
			e := mk(t)
			defer time.AfterFunc(30*time.Second, func() { e.d.Close() }).Stop()
			if err := e.d.SetMTU(9000); err != nil {
				t.Fatal(err)
			}
			copy(e.out, e.reqs)
			if _, err := e.d.Write(e.out, testOff); err != nil {
				t.Fatal(err)
			}
			bufs, sizes := [][]byte{make([]byte, testOff+1500)}, []int{0}
			for {
				n, err := e.d.Read(bufs, sizes, testOff)
				if errors.Is(err, ErrTruncated) && n == 0 {
					return
				}
				if err != nil || sizes[0] > 1000 {
					t.Fatalf("Read = %d, %v, %d bytes; want ErrTruncated for the 3000-byte reply", n, err, sizes[0])
				}
			}
		})
	}
}
