package tunif

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// echoer sends batches of ICMP echo requests into a device and reads the
// kernel's replies: a round trip through the device with nothing but the
// kernel's ICMP on the other side, for allocation counts and benchmarks.
type echoer struct {
	d     Device
	reqs  [][]byte // at testOff: the requests, as Ethernet frames on a tap
	out   [][]byte // what Write gets, reset from reqs each round
	bufs  [][]byte
	sizes []int
	eth   int // 14 on a tap
}

func newEchoer(d Device, batch, size, eth int, frame func(ip []byte) []byte) *echoer {
	e := &echoer{d: d, eth: eth, out: make([][]byte, batch)}
	for i := range batch {
		p := echo4(tunRemote.Addr(), tunLocal, 0x4545, uint16(i), make([]byte, size))
		if frame != nil {
			p = frame(p)
		}
		e.reqs = append(e.reqs, append(make([]byte, testOff, testOff+MaxPacket), p...))
	}
	e.bufs, e.sizes = newBatch(d.BatchSize())
	return e
}

// round writes the batch and reads until every request has its reply.
func (e *echoer) round(t testing.TB) {
	copy(e.out, e.reqs)
	if _, err := e.d.Write(e.out, testOff); err != nil {
		t.Fatalf("write: %v", err)
	}
	for got := 0; got < len(e.reqs); {
		n, err := e.d.Read(e.bufs, e.sizes, testOff)
		if err != nil {
			t.Fatalf("read after %d replies: %v", got, err)
		}
		for i := range n {
			p := e.bufs[i][testOff+e.eth : testOff+e.sizes[i]]
			if len(p) >= 28 && p[9] == unix.IPPROTO_ICMP && p[20] == 0 && binary.BigEndian.Uint16(p[24:]) == 0x4545 {
				got++
			}
		}
	}
}

func tunEchoer(t testing.TB, open opener, batch, size int) *echoer {
	ns := newNetns(t)
	d := openIn(t, ns, open, Config{Name: "otun0", MTU: 1500, Up: true}, "10.9.0.1/24")
	return newEchoer(d, batch, size, 0, nil)
}

// tapEchoer opens a tap whose kernel knows remoteMAC as 10.9.0.2, so that
// no ARP comes between requests and replies.
func tapEchoer(t testing.TB, batch, size int) *echoer {
	ns := newNetns(t)
	d := openIn(t, ns, OpenTAP, Config{Name: "otap0", MTU: 1500, Up: true}, "10.9.0.1/24")
	mac := linkMAC(t, ns, d.Name())
	err := ns.run(func() error {
		l, err := netlink.LinkByName(d.Name())
		if err != nil {
			return err
		}
		return netlink.NeighAdd(&netlink.Neigh{
			LinkIndex: l.Attrs().Index, State: netlink.NUD_PERMANENT,
			IP: net.IP(tunRemote.Addr().AsSlice()), HardwareAddr: net.HardwareAddr(remoteMAC[:]),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return newEchoer(d, batch, size, 14, func(ip []byte) []byte {
		return ethernet(mac, remoteMAC, unix.ETH_P_IP, ip)
	})
}

// linkMAC returns the MAC address of an interface in ns.
func linkMAC(t testing.TB, ns *netns, name string) [6]byte {
	var mac [6]byte
	err := ns.run(func() error {
		l, err := netlink.LinkByName(name)
		if err == nil {
			mac = [6]byte(l.Attrs().HardwareAddr)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// TestNoAllocationsPerPacket: a round of 32 echo requests written and 32
// replies read allocates nothing, on a tun with offloads, a plain tun and
// a tap.
func TestNoAllocationsPerPacket(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) *echoer{
		"tun":   func(t *testing.T) *echoer { return tunEchoer(t, OpenTUN, 32, 1000) },
		"plain": func(t *testing.T) *echoer { return tunEchoer(t, OpenPlainTUN, 32, 1000) },
		"tap":   func(t *testing.T) *echoer { return tapEchoer(t, 32, 1000) },
	} {
		t.Run(name, func(t *testing.T) {
			e := mk(t)
			// A round that never completes fails instead of hanging.
			defer time.AfterFunc(30*time.Second, func() { e.d.Close() }).Stop()
			e.round(t)
			if a := testing.AllocsPerRun(50, func() { e.round(t) }); a != 0 {
				t.Errorf("%.1f allocations per round of 32 packets each way, want 0", a)
			}
		})
	}
}

func benchEcho(b *testing.B, e *echoer) {
	e.round(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(e.reqs) * (len(e.reqs[0]) - testOff)))
	for b.Loop() {
		e.round(b)
	}
	b.ReportMetric(float64(b.N*len(e.reqs))/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkEcho32 is a round of 32 ICMP echo requests of 1000 bytes
// written and their replies read; pkts/s counts each way once.
func BenchmarkEcho32(b *testing.B) {
	b.Run("tun", func(b *testing.B) { benchEcho(b, tunEchoer(b, OpenTUN, 32, 1000)) })
	b.Run("plain", func(b *testing.B) { benchEcho(b, tunEchoer(b, OpenPlainTUN, 32, 1000)) })
	b.Run("tap", func(b *testing.B) { benchEcho(b, tapEchoer(b, 32, 1000)) })
}
