package e2e

import (
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

// TestE2EOVPNClaimedRoutes: a peer (internal/attack/ovpnclaim on gwB,
// saying hello as gw.site-b) claims routes gwA's configuration does not
// give it, the default route and site A's own LAN: gwA installs neither
// (no kernel route, not in the peer's routes in status), counts the
// claims, and drops as spoofed the packets it then sends from inside them.
func TestE2EOVPNClaimedRoutes(t *testing.T) {
	s := newOVPNSites(t)
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", siteConf("a", "")))
	claim := hostlab.BuildAttacker(t, "ovpnclaim")
	attacker := s.gwB.Start(claim, "-to", "gw.site-a", "-name", "gw.site-b", "-addr", "10.77.0.2/24",
		"-claim", "0.0.0.0/0,10.1.0.0/24", "-src", "192.0.2.7", "-dst", "10.1.0.1", "-n", "20", "-hold", "30s")
	waitFor(t, 20*time.Second, "the attacker to send its packets", func() bool {
		if attacker.Exited() {
			t.Fatalf("ovpnclaim: %v\n%s", attacker.Wait(0), attacker.Output())
		}
		return strings.Contains(attacker.Output(), "sent 20 packets")
	})
	mustContain(t, attacker.Output(), "peer said hello")
	var p *ovpnPeerStatus
	waitFor(t, 10*time.Second, "gwA to count the claimed routes and the spoofed packets", func() bool {
		p = ovpnStatus(t, s.gwA.Node, "site").peer("gw.site-b")
		return p != nil && p.Drops["claimed-route"] >= 2 && p.Drops["spoofed"] >= 20
	})
	for _, r := range p.Routes {
		if r.String() == "0.0.0.0/0" || r.String() == "10.1.0.0/24" {
			t.Errorf("gwA gave gw.site-b the claimed route %v", r)
		}
	}
	if routes := s.gwA.MustRun("ip", "-4", "route", "show", "dev", "ovpn0"); strings.Contains(routes, "default") || strings.Contains(routes, "10.1.0.0/24") {
		t.Errorf("gwA installed a claimed route through ovpn0:\n%s", routes)
	}
	t.Logf("gwA's drops for gw.site-b: %v", p.Drops)
}
