package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
	"o7s.dev/ouroboros/stack/qos"
)

// TestE2EEncryptedOnTheWire sends a reliable flow's data across a udp4
// layer while capturing every datagram: the payload never appears in
// clear, and what follows the layer's 4-byte header is the flow's sealed
// frame (epoch, then a counter that grows by one per packet), so FRCT's
// header travels inside the ciphertext.
func TestE2EEncryptedOnTheWire(t *testing.T) {
	lab := netlab.New(t, bin)
	a, b := lab.Node("a"), lab.Node("b")
	l := lab.Link(a, b).Subnet("10.1.0.0/24")
	a.Hosts(map[string]string{"sink": l.B.IP4().String()})
	a.StartIRMd()
	b.StartIRMd()
	a.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", "udp4", "ip", l.A.IP4().String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", "udp4", "ip", l.B.IP4().String())
	capture := l.B.CaptureUDP()

	marker := []byte("o7s-plaintext-marker ")
	data := bytes.Repeat(marker, 50_000) // about 1 MB
	var got bytes.Buffer
	srvCmd := b.Command("ocat", "-l")
	srvCmd.Stdout = &got
	srv := b.StartCmd(srvCmd)
	b.MustRun("irm", "name", "register", "sink", "layer", "wan")
	b.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "sink")
	cli := a.Command("ocat", "-n", "sink", "-q", "data")
	cli.Stdin = bytes.NewReader(data)
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("ocat -n: %v\n%s", err, out)
	}
	if err := srv.Wait(30 * time.Second); err != nil {
		t.Fatalf("ocat -l: %v\n%s", err, srv.Output())
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("received %d bytes of %d: not identical", got.Len(), len(data))
	}
	datagrams, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}

	var counters []uint64
	for _, d := range datagrams {
		if bytes.Contains(d.Payload, marker[:12]) {
			t.Fatalf("a datagram carries the flow's data in clear: %q", d.Payload)
		}
		p := d.Payload
		// Data from a: shim eid (not 0, which is management), then the
		// sealed frame: epoch u8, counter u64, ciphertext, tag.
		if !d.Out && len(p) > 4+9+16+100 && binary.BigEndian.Uint32(p) != 0 {
			if p[4] != 0 {
				t.Fatalf("epoch %d on a fresh flow: %x", p[4], p[:16])
			}
			counters = append(counters, binary.BigEndian.Uint64(p[5:]))
		}
	}
	if len(counters) < 100 {
		t.Fatalf("only %d data datagrams captured", len(counters))
	}
	// Each packet has a counter of its own (a nonce is never used twice),
	// and they count the packets: a few may pass each other between
	// sealing and the socket (FRCT's acknowledgements and retransmissions
	// are sealed on another goroutine than the writer's; the receiver's
	// replay window takes them in any order).
	sorted := slices.Clone(counters)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			t.Fatalf("sealed counter %d used twice", sorted[i])
		}
	}
	if span := sorted[len(sorted)-1] - sorted[0]; span > 2*uint64(len(sorted)) {
		t.Fatalf("counters %d..%d for %d packets: not the frame header", sorted[0], sorted[len(sorted)-1], len(sorted))
	}
	t.Logf("%d data datagrams, all sealed; counters %d..%d", len(counters), counters[0], counters[len(counters)-1])
}

// lossyPair is a — r — b with r dropping percent of the packets each way
// (nftables in the router's namespace), a udp4 layer "wan" between a and
// b, and a resolving b's names; dst is b's address.
func lossyPair(t testing.TB, percent int) (a, b *netlab.Node, dst string) {
	t.Helper()
	lab := netlab.New(t, bin)
	a, r, b := lab.Node("a"), lab.Router("r"), lab.Node("b")
	left := lab.Link(a, r).Subnet("10.1.0.0/24")
	right := lab.Link(r, b).Subnet("10.2.0.0/24")
	a.Route("default", left.B.IP4())
	b.Route("default", right.A.IP4())
	r.Loss(percent)
	// A real link drops packets of its MTU; on a veth, TCP hands the
	// kernel 64 KiB segments that the router would drop (or pass) whole.
	// One segment per packet makes the loss hit TCP (in the benchmark) as
	// it hits us.
	for _, e := range []*netlab.End{left.A, left.B, right.A, right.B} {
		e.Node.MustRun("ip", "link", "set", "dev", e.Name, "gso_max_segs", "1")
	}
	dst = right.B.IP4().String()
	a.Hosts(map[string]string{"sink": dst, "stream": dst})
	a.StartIRMd()
	b.StartIRMd()
	a.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", "udp4", "ip", left.A.IP4().String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", "udp4", "ip", dst)
	return a, b, dst
}

// TestE2EEncryptedUnderLoss: through a router that drops 10% of the
// packets each way, an encrypted reliable transfer of 50 MB arrives
// identical (its retransmissions sealed like every packet), and a one-way
// best-effort stream of 100 000 packets runs to its end.
func TestE2EEncryptedUnderLoss(t *testing.T) {
	a, b, _ := lossyPair(t, 10)
	catAcross(t, a, b, 50<<20)

	b.MustRun("irm", "name", "register", "stream", "layer", "wan")
	b.MustRun("irm", "bind", "process", strconv.Itoa(os.Getpid()), "name", "stream")
	srv, cli := attachNode(t, b), attachNode(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, r := flowPair(t, ctx, srv, cli, "stream", qos.Best)
	if !w.Encrypted() || !r.Encrypted() {
		t.Fatal("the flow is not encrypted")
	}
	const n = 100_000
	sent := make(chan error, 1)
	go func() {
		msg := make([]byte, 200)
		for i := range n {
			binary.BigEndian.PutUint32(msg, uint32(i))
			if _, err := w.Write(msg); err != nil {
				sent <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
		sent <- nil
	}()
	buf := make([]byte, 256)
	got, last := 0, -1
	for {
		r.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := r.Read(buf); err != nil {
			break // quiet for 3 s: the stream is over
		}
		got++
		last = int(binary.BigEndian.Uint32(buf))
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	t.Logf("one-way best over 10%% loss: %d of %d packets arrived, the last #%d", got, n, last)
	if last != n-1 && got < n*8/10 {
		t.Fatalf("the stream stalled: %d of %d arrived, the last #%d", got, n, last)
	}
	if got < n*8/10 {
		t.Fatalf("only %d of %d packets arrived through 10%% loss", got, n)
	}
}
