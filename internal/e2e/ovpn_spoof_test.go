package e2e

import (
	"testing"
	"time"
)

// TestE2EOVPNAntiSpoofing: hostA sends from addresses outside what gwB
// allows gw.site-a (its tunnel addresses and site A's LAN, 10.1.0.0/24
// and fd01::/64): gwA's link forwards them (it routes by destination),
// gwB drops them and counts them as spoofed in its status, and hostB
// never answers.
func TestE2EOVPNAntiSpoofing(t *testing.T) {
	s := newOVPNSites(t)
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", siteConf("a", "")))
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "site", siteConf("b", "")))
	waitPing(t, s.hostA, "10.2.0.1", 30*time.Second)
	waitPing(t, s.hostA, "fd02::1", 30*time.Second)

	// gwA must forward what hostA sends from an address it has no route
	// back to: no reverse-path filter on it.
	for _, k := range []string{"all", "default", s.lanA.B.Name} {
		s.gwA.Sysctl("net.ipv4.conf."+k+".rp_filter", "0")
	}
	s.lanA.A.AddAddr("10.9.9.1/32", "fd09::1/128")
	before := spoofed(t, s)
	for _, c := range [][2]string{{"10.2.0.1", "10.9.9.1"}, {"fd02::1", "fd09::1"}} {
		if pings(s.hostA, c[0], c[1]) {
			t.Fatalf("hostB answered a ping from %s, outside site A's allowed addresses", c[1])
		}
	}
	waitFor(t, 10*time.Second, "gwB to count the spoofed packets", func() bool {
		return spoofed(t, s) >= before+2
	})
	t.Logf("gwB counted %d spoofed packets from gw.site-a", spoofed(t, s))
	pingOK(t, s.hostA, "10.2.0.1") // the allowed source still works
}

// spoofed returns what gwB counts as spoofed from gw.site-a.
func spoofed(t *testing.T, s *ovpnSites) uint64 {
	t.Helper()
	st := ovpnStatus(t, s.gwB.Node, "site")
	p := st.peer("gw.site-a")
	if p == nil {
		t.Fatalf("gwB's status lacks gw.site-a: %+v", st)
	}
	return p.Drops["spoofed"]
}
