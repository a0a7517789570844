package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

// The data-transfer header of a layer with 4-byte addresses (issue 5),
// after the udp4 layer's endpoint id in each datagram, as the test expects
// them on the wire; it does not use the stack's own decoder, so that the
// two can disagree:
//
//	0      4          8      9     10    11                19
//	+------+----------+------+-----+-----+-----------------+--------
//	| eid  | dst addr | cube | ttl | ecn | dst endpoint id | SDU ...
//	+------+----------+------+-----+-----+-----------------+--------
const (
	shimEID   = 4
	dtDst     = shimEID
	dtTTL     = shimEID + 5
	dtECN     = shimEID + 6
	dtEID     = shimEID + 7
	dtEnd     = shimEID + 15
	defaultTT = 60 // the TTL a source puts on its packets
)

// TestE2EUnicastHeaderImmutable captures the datagrams of a flow entering
// and leaving the relay B between A and C, both ways, and checks that B
// changed nothing but the TTL (one less) and the ECN field. Member flows
// are sealed hop by hop, which hides the header on the wire: here the
// administrator lets them go unencrypted (an open layer whose names say
// encryption = "off"), so that the header can be seen.
func TestE2EUnicastHeaderImmutable(t *testing.T) {
	var conf strings.Builder
	for _, n := range []string{"ucA", "ucB", "ucC", ucLayer} {
		fmt.Fprintf(&conf, "[name.%s]\nencryption = \"off\"\n\n", n)
	}
	u := newUCLabConf(t, []hop{{"b", "a"}, {"c", "b"}}, conf.String())
	a, c := u.nodes["a"], u.nodes["c"]
	addrA := ucAddr(t, a, "ucA")
	addrC := ucAddr(t, c, "ucC")

	serveUC(t, c, "pinger", c.Start("oping", "-l"))
	pingUntil(t, a, "pinger", 1, 15*time.Second)

	// The test process is both ends, with payloads it can find again.
	c.MustRun("irm", "name", "register", "hdr", "layer", ucLayer)
	c.MustRun("irm", "bind", "process", itoa(os.Getpid()), "name", "hdr")
	srv, cli := attachNode(t, c), attachNode(t, a)
	capAB, capBC := u.ends["b"]["ab"].CaptureUDP(), u.ends["b"]["bc"].CaptureUDP()
	const n = 20
	echoFlow(t, srv, cli, n)
	atAB, err := capAB.Stop()
	if err != nil {
		t.Fatal(err)
	}
	atBC, err := capBC.Stop()
	if err != nil {
		t.Fatal(err)
	}

	for _, dir := range []struct {
		name     string
		in, out  []netlab.Datagram
		dstAddr  uint32
		wantSeen int
	}{
		{"A to C", atAB, atBC, addrC, n},
		{"C to A", atBC, atAB, addrA, n},
	} {
		// The flow is encrypted: its markers must not be on the wire, and
		// a packet is found again after the relay by its ciphertext.
		for _, d := range append(append([]netlab.Datagram{}, dir.in...), dir.out...) {
			if bytes.Contains(d.Payload, []byte("o7s-header-test")) {
				t.Fatalf("%s: a datagram carries the flow's payload in clear: %x", dir.name, d.Payload)
			}
		}
		matched := 0
		for _, pin := range flowPDUs(dir.in, false, dir.dstAddr) {
			pout, ok := sameCiphertext(dir.out, pin)
			if !ok {
				continue
			}
			if err := sameButTTL(pin, pout, dir.dstAddr); err != nil {
				t.Errorf("%s: %v\nin:  %x\nout: %x", dir.name, err, pin, pout)
				continue
			}
			if matched == 0 {
				t.Logf("%s: in %x..., out %x...", dir.name, pin[:dtEnd], pout[:dtEnd])
			}
			matched++
		}
		if matched != dir.wantSeen {
			t.Errorf("%s: %d of %d packets matched", dir.name, matched, dir.wantSeen)
		}
	}
}

// ucAddr returns the address of unicast IPCP name on n, from irm ipcp
// list.
func ucAddr(t *testing.T, n *netlab.Node, name string) uint32 {
	t.Helper()
	s := ipcpRow(t, n, name)["ADDRESS"]
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32)
	if err != nil {
		t.Fatalf("%s's address %q: %v", name, s, err)
	}
	return uint32(v)
}

// flowPDUs returns the udp4 payloads received (or sent, if out) that are
// data-transfer PDUs of a flow (endpoint id 64 and up) to dst.
func flowPDUs(ds []netlab.Datagram, out bool, dst uint32) [][]byte {
	var pdus [][]byte
	for _, d := range ds {
		p := d.Payload
		if d.Out == out && len(p) > dtEnd && binary.BigEndian.Uint32(p[dtDst:]) == dst &&
			binary.BigEndian.Uint64(p[dtEID:]) >= 64 {
			pdus = append(pdus, p)
		}
	}
	return pdus
}

// sameCiphertext finds the datagram sent on the other side of the relay
// that carries the same SDU (everything after the DT header) as pin.
func sameCiphertext(ds []netlab.Datagram, pin []byte) ([]byte, bool) {
	for _, d := range ds {
		if d.Out && len(d.Payload) == len(pin) && bytes.Equal(d.Payload[dtEnd:], pin[dtEnd:]) {
			return d.Payload, true
		}
	}
	return nil, false
}

// sameButTTL checks that a relay's output datagram is its input but for
// the shim's endpoint id, a TTL one less and the ECN field, and that the
// header is the documented one.
func sameButTTL(in, out []byte, dst uint32) error {
	if len(in) < dtEnd || len(out) != len(in) {
		return fmt.Errorf("lengths %d in, %d out", len(in), len(out))
	}
	if got := binary.BigEndian.Uint32(in[dtDst:]); got != dst {
		return fmt.Errorf("destination %#x, want %#x", got, dst)
	}
	if eid := binary.BigEndian.Uint64(in[dtEID:]); eid < 64 {
		return fmt.Errorf("endpoint id %d: flows have 64 and up", eid)
	}
	if in[dtTTL] != defaultTT || out[dtTTL] != in[dtTTL]-1 {
		return fmt.Errorf("TTL %d in, %d out: want %d, %d", in[dtTTL], out[dtTTL], defaultTT, defaultTT-1)
	}
	a, b := bytes.Clone(in[shimEID:]), bytes.Clone(out[shimEID:])
	for _, off := range []int{dtTTL - shimEID, dtECN - shimEID} {
		a[off], b[off] = 0, 0
	}
	if !bytes.Equal(a, b) {
		for i := range a {
			if a[i] != b[i] {
				return fmt.Errorf("byte %d of the DT PDU changed: %#x to %#x", i, a[i], b[i])
			}
		}
	}
	return nil
}

// attachNode attaches the test process to n's irmd.
func attachNode(t *testing.T, n *netlab.Node) *flow.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := flow.Attach(ctx, flow.Config{RunDir: n.RunDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// flowPair allocates a flow from cli to name, which srv accepts, and
// returns both ends (the allocating one first), closed when the test ends.
func flowPair(t *testing.T, ctx context.Context, srv, cli *flow.Process, name string, q qos.Spec) (w, r *flow.Flow) {
	t.Helper()
	return flowPairBy(t, ctx, srv, func() (*flow.Flow, error) { return cli.Alloc(ctx, name, q) })
}

// flowPairBy is flowPair with the allocation done by alloc.
func flowPairBy(t *testing.T, ctx context.Context, srv *flow.Process, alloc func() (*flow.Flow, error)) (w, r *flow.Flow) {
	t.Helper()
	type acceptance struct {
		f   *flow.Flow
		err error
	}
	accepted := make(chan acceptance, 1) // never blocks: the goroutine may outlive a failed test
	go func() {
		f, err := srv.Accept(ctx)
		accepted <- acceptance{f, err}
	}()
	w, err := alloc()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	acc := <-accepted
	if acc.err != nil {
		t.Fatalf("accept: %v", acc.err)
	}
	t.Cleanup(func() { acc.f.Close() })
	return w, acc.f
}

// echoFlow allocates a raw flow from cli to "hdr", which srv accepts, and
// sends count marked SDUs of 200 bytes each way.
func echoFlow(t *testing.T, srv, cli *flow.Process, count int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, r := flowPair(t, ctx, srv, cli, "hdr", qos.Raw)
	buf := make([]byte, 2048)
	for i := range count {
		msg := bytes.Repeat([]byte{byte(i)}, 200)
		copy(msg, fmt.Sprintf("o7s-header-test %02d ", i))
		for _, ends := range [][2]*flow.Flow{{w, r}, {r, w}} {
			if _, err := ends[0].Write(msg); err != nil {
				t.Fatal(err)
			}
			ends[1].SetReadDeadline(time.Now().Add(5 * time.Second))
			k, err := ends[1].Read(buf)
			if err != nil {
				t.Fatalf("SDU %d: %v", i, err)
			}
			if !bytes.Equal(buf[:k], msg) {
				t.Fatalf("SDU %d arrived as %q", i, buf[:k])
			}
		}
	}
}
