package e2e

import (
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// ethHosts joins a and b by a veth with no IP addresses at all, runs an
// irmd in each, and bootstraps an Ethernet layer of type typ on the veth.
func ethHosts(t *testing.T, typ string) (a, b *netlab.Node, l *netlab.Link) {
	t.Helper()
	lab := netlab.New(t, bin)
	a, b = lab.Node("a"), lab.Node("b")
	l = lab.Link(a, b)
	a.StartIRMd()
	b.StartIRMd()
	a.MustRun("irm", "ipcp", "bootstrap", "name", "ea", "layer", "lan", "type", typ, "dev", l.A.Name)
	b.MustRun("irm", "ipcp", "bootstrap", "name", "eb", "layer", "lan", "type", typ, "dev", l.B.Name)
	return a, b, l
}

// serveEth is serveOn for the Ethernet layer "lan".
func serveEth(t *testing.T, b *netlab.Node, name string, srv *netlab.Proc) {
	t.Helper()
	b.MustRun("irm", "name", "register", name, "layer", "lan")
	b.MustRun("irm", "bind", "process", itoa(srv.PID()), "name", name)
}

func TestE2EEthernetLayers(t *testing.T) {
	for _, typ := range []string{"eth-dix", "eth-llc"} {
		t.Run(typ, func(t *testing.T) {
			a, b, _ := ethHosts(t, typ)
			serveEth(t, b, "pinger", b.Start("oping", "-l"))
			mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "10ms"),
				"20 packets transmitted, 20 received, 0% packet loss")
			catAcrossLayer(t, a, b, 50<<20, "lan")
		})
	}
}

func TestE2EEthernetLinkDown(t *testing.T) {
	a, b, l := ethHosts(t, "eth-dix")
	serveEth(t, b, "pinger", b.Start("oping", "-l"))
	ping := a.Start("oping", "-n", "pinger", "-c", "100000", "-i", "10ms")
	waitFor(t, 5*time.Second, "replies", func() bool { return strings.Contains(ping.Output(), "seq=5 ") })
	start := time.Now()
	l.B.Down() // the far end: a loses its carrier
	if err := ping.Wait(5 * time.Second); err == nil || err == hostlabStillRunning() {
		t.Fatalf("oping with its link down: %v, want a failure within 5 s\n%s", err, ping.Output())
	}
	t.Logf("flow reported down after %v: %s", time.Since(start).Round(time.Millisecond), lastLine(ping.Output()))
	mustContain(t, ping.Output(), "flow down")
	l.B.Up()
	waitFor(t, 10*time.Second, "a new flow after the link came back", func() bool {
		out, _ := a.Run("oping", "-n", "pinger", "-c", "3", "-i", "10ms")
		return strings.Contains(out, "0% packet loss")
	})
}
