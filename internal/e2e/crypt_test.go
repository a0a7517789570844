package e2e

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
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
	for i := 1; i < len(counters); i++ {
		if counters[i] <= counters[i-1] {
			t.Fatalf("sealed counter %d after %d: not the frame header", counters[i], counters[i-1])
		}
	}
	t.Logf("%d data datagrams, all sealed; counters %d..%d", len(counters), counters[0], counters[len(counters)-1])
}
