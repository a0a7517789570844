package e2e

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// TestE2EAllocationReplayRefused: a flow request captured on the wire and
// sent again later, from elsewhere, is refused by the server's irmd (its
// key exchange was answered once already) and reaches no application.
func TestE2EAllocationReplayRefused(t *testing.T) {
	lab := netlab.New(t, bin)
	a, b := lab.Node("a"), lab.Node("b")
	l := lab.Link(a, b).Subnet("10.1.0.0/24")
	bAddr := l.B.IP4()
	a.Hosts(map[string]string{"pinger": bAddr.String()})
	a.StartIRMd()
	irmdB := b.StartIRMd()
	a.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", "udp4", "ip", l.A.IP4().String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", "udp4", "ip", bAddr.String())
	serveOn(t, b, "pinger", b.Start("oping", "-l"))

	capture := l.B.CaptureUDP()
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "1"), "1 packets transmitted, 1 received")
	seen, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	var req *netlab.Datagram
	for i, d := range seen {
		if p := d.Payload; !d.Out && len(p) > 6 && binary.BigEndian.Uint32(p) == 0 && p[5] == 1 {
			req = &seen[i] // a FLOW_REQ
		}
	}
	if req == nil {
		t.Fatalf("no flow request among %d datagrams", len(seen))
	}
	served := flowsOf(t, b)

	// The attacker replays it from another port of a's address.
	err = a.Do(func() error {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(bAddr, req.Dst.Port())))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(req.Payload)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b's irmd to refuse the replayed request", func() bool {
		return strings.Contains(irmdB.Output(), "replayed request")
	})
	if now := flowsOf(t, b); now > served {
		t.Fatalf("b has %d flows after the replay, %d before", now, served)
	}
	for _, line := range strings.Split(irmdB.Output(), "\n") {
		if strings.Contains(line, "replayed request") {
			t.Logf("b's irmd: %s", line)
		}
	}
}

// flowsOf counts the flows irm flow list shows on n.
func flowsOf(t *testing.T, n *netlab.Node) int {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(n.MustRun("irm", "flow", "list")), "\n")
	return len(lines) - 1 // the header
}
