package e2e

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/internal/netlab"
)

// TestE2EForgedFlowPacketsAreShownRejected: datagrams of a running
// encrypted flow, replayed and modified by an attacker who can send with
// the client's address and port, pass the shim (which checks only the
// source) and are rejected by the receiving application; irm flow list on
// the server shows them in its REJECTED column, irm ipcp list counts them
// for the layer, and the flow goes on.
func TestE2EForgedFlowPacketsAreShownRejected(t *testing.T) {
	u := udpPair(t)
	a, b := u.a, u.b
	received := new(countingWriter)
	cmd := b.Command("ocat", "-l")
	cmd.Stdout = received
	serveOn(t, b, "sink", b.StartCmd(cmd))
	capture := u.link.B.CaptureUDP()
	cli := a.Command("ocat", "-n", "sink", "-q", "data")
	stdin, err := cli.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	a.StartCmd(cli)
	io.WriteString(stdin, "genuine\n")
	waitFor(t, 10*time.Second, "the first line to cross", func() bool { return received.n.Load() >= 8 })
	seen, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	var flowPkts []netlab.Datagram
	for _, d := range seen {
		if !d.Out && len(d.Payload) > 8 && d.Payload[0]|d.Payload[1]|d.Payload[2]|d.Payload[3] != 0 {
			flowPkts = append(flowPkts, d) // an endpoint id: a flow's packet
		}
	}
	if len(flowPkts) == 0 {
		t.Fatalf("no flow packet among %d datagrams", len(seen))
	}
	const copies = 20
	var forged [][]byte
	for i := range copies {
		p := flowPkts[i%len(flowPkts)].Payload
		forged = append(forged, p) // a replay
		m := append([]byte(nil), p...)
		m[len(m)-1] ^= 0x55 // a modified copy
		forged = append(forged, m)
	}
	src, dst := flowPkts[0].Src, flowPkts[0].Dst
	if err := a.Do(func() error { return sendSpoofedUDP4(src, dst, forged) }); err != nil {
		t.Fatal(err)
	}
	var row string
	waitFor(t, 10*time.Second, "b's flow list to show the rejected packets", func() bool {
		row = flowRow(b.MustRun("irm", "flow", "list"), "accept", "sink")
		f := strings.Fields(row) // ... REJECTED PEER
		return len(f) > 1 && f[len(f)-2] == "40"
	})
	t.Logf("b's flow: %s", row)
	mustContain(t, b.MustRun("irm", "ipcp", "list"), "flow-rejected 40")
	io.WriteString(stdin, "still up\n")
	waitFor(t, 10*time.Second, "the flow to carry on", func() bool { return received.n.Load() >= 17 })
}

// flowRow returns the line of irm flow list that has every one of words.
func flowRow(list string, words ...string) string {
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		all := true
		for _, w := range words {
			all = all && slices.Contains(f, w)
		}
		if all {
			return line
		}
	}
	return ""
}

// sendSpoofedUDP4 sends each payload as a UDP datagram from src to dst,
// whatever socket owns src: a raw socket writes the UDP header itself (the
// kernel adds the IP header, from src's address when it is the node's).
func sendSpoofedUDP4(src, dst netip.AddrPort, payloads [][]byte) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_UDP)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrInet4{Addr: dst.Addr().As4()}
	for _, p := range payloads {
		b := make([]byte, 8, 8+len(p))
		binary.BigEndian.PutUint16(b[0:], src.Port())
		binary.BigEndian.PutUint16(b[2:], dst.Port())
		binary.BigEndian.PutUint16(b[4:], uint16(8+len(p)))
		// Checksum 0: none, which IPv4 allows.
		if err := unix.Sendto(fd, append(b, p...), 0, to); err != nil {
			return fmt.Errorf("send to %v: %w", dst, err)
		}
	}
	return nil
}
