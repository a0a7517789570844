package tunif

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
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

// TestTUNOffloadsSplitAndCoalesce joins two namespaces by two tuns with
// offloads and a forwarder between them, and sends TCP across. The
// sending kernel hands its tun super-packets, which must come out of Read
// as several packets per call, none above the MTU; the forwarder's writes
// must coalesce them again, so the receiving tun counts fewer packets than
// were written.
func TestTUNOffloadsSplitAndCoalesce(t *testing.T) {
	const mtu, total = 1400, 32 << 20
	nsA, nsB := newNetns(t), newNetns(t)
	a := openIn(t, nsA, OpenTUN, Config{Name: "otun0", MTU: mtu, Up: true}, "10.9.2.1/24")
	b := openIn(t, nsB, OpenTUN, Config{Name: "otun0", MTU: mtu, Up: true}, "10.9.2.2/24")
	var ab, ba fwdStats
	abDone, baDone := make(chan struct{}), make(chan struct{})
	go forward(a, b, &ab, abDone)
	go forward(b, a, &ba, baDone)

	var ln net.Listener
	if err := nsB.run(func() (err error) { ln, err = net.Listen("tcp4", "10.9.2.2:0"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	recvd := make(chan error, 1)
	go func() { recvd <- receivePattern(ln, total) }()

	var c net.Conn
	err := nsA.run(func() (err error) {
		c, err = net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.SetDeadline(start.Add(60 * time.Second))
	if _, err := io.CopyN(c, &pattern{}, total); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.Close()
	if err := <-recvd; err != nil {
		t.Fatalf("receive: %v", err)
	}
	elapsed := time.Since(start)

	var rx uint64
	nsB.run(func() error {
		l, err := netlink.LinkByName("otun0")
		if err == nil && l.Attrs().Statistics != nil {
			rx = l.Attrs().Statistics.RxPackets
		}
		return err
	})
	a.Close()
	b.Close()
	<-abDone
	<-baDone
	t.Logf("%d MiB in %v (%.0f Mbit/s); a→b: %d reads, %d packets (%.1f per read, at most %d, largest %d B); b's kernel got %d packets",
		total>>20, elapsed.Round(time.Millisecond), float64(total)*8/elapsed.Seconds()/1e6,
		ab.reads, ab.pkts, float64(ab.pkts)/float64(ab.reads), ab.maxBatch, ab.maxSize, rx)
	if ab.err != nil || ba.err != nil {
		t.Errorf("forwarder errors: a→b %v, b→a %v", ab.err, ba.err)
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
