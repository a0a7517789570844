package tunif

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// fwdStats is what a forwarder saw.
type fwdStats struct {
	reads, pkts, writes int
	maxBatch, maxSize   int
	err                 error // the first error other than the close
}

// forward copies batches from one device to the other, as ovpn does with a
// flow in between, until from is closed.
func forward(from, to Device, st *fwdStats, done chan<- struct{}) {
	defer close(done)
	bufs, sizes := newBatch(from.BatchSize())
	out := make([][]byte, len(bufs))
	for {
		n, err := from.Read(bufs, sizes, testOff)
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil && st.err == nil {
			st.err = err
		}
		if n == 0 {
			continue
		}
		st.reads++
		st.pkts += n
		st.maxBatch = max(st.maxBatch, n)
		for i := range n {
			st.maxSize = max(st.maxSize, sizes[i])
			// The buffer's whole capacity, for GRO to coalesce into.
			out[i] = bufs[i][:testOff+sizes[i]]
		}
		if _, err := to.Write(out[:n], testOff); err != nil && !errors.Is(err, os.ErrClosed) && st.err == nil {
			st.err = err
		}
		st.writes += n
	}
}

// tunLink is two namespaces joined by two tuns and a forwarder each way,
// with a TCP listener at b's end.
type tunLink struct {
	nsA, nsB       *netns
	a, b           Device
	ab, ba         fwdStats
	abDone, baDone chan struct{}
	ln             net.Listener
}

func newTunLink(t testing.TB, open opener, mtu int) *tunLink {
	l := &tunLink{nsA: newNetns(t), nsB: newNetns(t), abDone: make(chan struct{}), baDone: make(chan struct{})}
	l.a = openIn(t, l.nsA, open, Config{Name: "otun0", MTU: mtu, Up: true}, "10.9.2.1/24")
	l.b = openIn(t, l.nsB, open, Config{Name: "otun0", MTU: mtu, Up: true}, "10.9.2.2/24")
	go forward(l.a, l.b, &l.ab, l.abDone)
	go forward(l.b, l.a, &l.ba, l.baDone)
	if err := l.nsB.run(func() (err error) { l.ln, err = net.Listen("tcp4", "10.9.2.2:0"); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.ln.Close() })
	return l
}

// transfer sends total bytes from a to b over a new TCP connection and
// checks that they arrive intact.
func (l *tunLink) transfer(t testing.TB, total int) {
	recvd := make(chan error, 1)
	go func() { recvd <- receivePattern(l.ln, total) }()
	var c net.Conn
	err := l.nsA.run(func() (err error) {
		c, err = net.DialTimeout("tcp4", l.ln.Addr().String(), 10*time.Second)
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.CopyN(c, &pattern{}, int64(total)); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.Close()
	if err := <-recvd; err != nil {
		t.Fatalf("receive: %v", err)
	}
}

// stop closes the devices, waits for the forwarders and returns how many
// packets b's kernel received.
func (l *tunLink) stop() uint64 {
	var rx uint64
	l.nsB.run(func() error {
		k, err := netlink.LinkByName("otun0")
		if err == nil && k.Attrs().Statistics != nil {
			rx = k.Attrs().Statistics.RxPackets
		}
		return err
	})
	l.a.Close()
	l.b.Close()
	<-l.abDone
	<-l.baDone
	return rx
}

// TestTUNOffloadsSplitAndCoalesce joins two namespaces by two tuns with
// offloads and a forwarder between them, and sends TCP across. The
// sending kernel hands its tun super-packets, which must come out of Read
// as several packets per call, none above the MTU; the forwarder's writes
// must coalesce them again, so the receiving tun counts fewer packets than
// were written.
func TestTUNOffloadsSplitAndCoalesce(t *testing.T) {
	const mtu, total = 1400, 32 << 20
	l := newTunLink(t, OpenTUN, mtu)
	start := time.Now()
	l.transfer(t, total)
	elapsed := time.Since(start)
	rx := l.stop()
	ab := l.ab
	t.Logf("%d MiB in %v (%.0f Mbit/s); a→b: %d reads, %d packets (%.1f per read, at most %d, largest %d B); b's kernel got %d packets",
		total>>20, elapsed.Round(time.Millisecond), float64(total)*8/elapsed.Seconds()/1e6,
		ab.reads, ab.pkts, float64(ab.pkts)/float64(ab.reads), ab.maxBatch, ab.maxSize, rx)
	if ab.err != nil || l.ba.err != nil {
		t.Errorf("forwarder errors: a→b %v, b→a %v", ab.err, l.ba.err)
	}
	if ab.maxSize > mtu {
		t.Errorf("Read returned a %d-byte packet on a tun with MTU %d", ab.maxSize, mtu)
	}
	if ab.maxBatch < 2 {
		t.Errorf("no Read returned more than one packet: super-packets were not split (or never made)")
	}
	if rx == 0 || rx >= uint64(ab.writes) {
		t.Errorf("b's kernel received %d packets for %d written: writes were not coalesced", rx, ab.writes)
	}
}

// BenchmarkTCPForward is TCP through two tuns and a one-goroutine
// forwarder each way (no flows, no crypto): the most a tunnel over these
// devices can carry on this machine, with offloads and without.
func BenchmarkTCPForward(b *testing.B) {
	const total = 16 << 20
	for name, open := range map[string]opener{"offloads": OpenTUN, "plain": OpenPlainTUN} {
		b.Run(name, func(b *testing.B) {
			l := newTunLink(b, open, 1400)
			b.SetBytes(total)
			for b.Loop() {
				l.transfer(b, total)
			}
			b.ReportMetric(float64(b.N)*total*8/b.Elapsed().Seconds()/1e6, "Mbit/s")
			l.stop()
		})
	}
}

// pattern is an endless stream of bytes i%251.
type pattern struct{ off int }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte((p.off + i) % 251)
	}
	p.off += len(b)
	return len(b), nil
}

// receivePattern accepts one connection and checks that it carries
// exactly n bytes of pattern.
func receivePattern(ln net.Listener, n int) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	buf := make([]byte, 1<<16)
	off := 0
	for {
		m, err := c.Read(buf)
		for i := range m {
			if buf[i] != byte((off+i)%251) {
				return errors.New("received bytes differ from those sent")
			}
		}
		off += m
		if err == io.EOF {
			if off != n {
				return errors.New("connection ended early")
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestTUNTooFewBuffers reads a UDP super-packet (UDP_SEGMENT, split by the
// tun's USO offload) of ten segments with four buffers: Read returns the
// segments that fit with ErrTooManySegments, and the device goes on.
func TestTUNTooFewBuffers(t *testing.T) {
	ns := newNetns(t)
	tun := openIn(t, ns, OpenTUN, Config{Name: "otun0", Up: true}, "10.9.0.1/24")
	c := listenUDP(t, ns, "10.9.0.1:0")
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT, 500) })
	if serr != nil {
		t.Fatalf("UDP_SEGMENT: %v", serr)
	}
	if _, err := c.WriteToUDPAddrPort(make([]byte, 10*500), tunRemote); err != nil {
		t.Fatal(err)
	}
	defer time.AfterFunc(10*time.Second, func() { tun.Close() }).Stop()
	bufs, sizes := newBatch(4)
	for {
		n, err := tun.Read(bufs, sizes, testOff)
		if errors.Is(err, ErrTooManySegments) {
			if n < 1 || n > 4 {
				t.Fatalf("Read = %d packets with ErrTooManySegments; want those that fit", n)
			}
			for i := range n {
				if _, ok := udp4Payload(bufs[i][testOff:testOff+sizes[i]], tunRemote); !ok || sizes[i] != 528 {
					t.Fatalf("segment %d: %d bytes, want a 528-byte datagram to %v", i, sizes[i], tunRemote)
				}
			}
			t.Logf("Read = %d, %v", n, err)
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	// The device goes on.
	write(t, tun, echo4(tunRemote.Addr(), tunLocal, 7, 7, []byte("still there")))
	readUntil(t, tun, "an echo reply after ErrTooManySegments", func(p []byte) bool {
		return len(p) >= 28 && p[9] == unix.IPPROTO_ICMP && p[20] == 0
	})
}
