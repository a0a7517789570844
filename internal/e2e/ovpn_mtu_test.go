package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var pingMTU = regexp.MustCompile(`mtu ?= ?(\d+)`)

// TestE2EOVPNPathMTU: gwA's interface is set to a 1500-byte MTU, more than
// the flow carries, so the kernel hands ovpn packets too big for the flow:
// ovpn drops them, counts them (too-big) and answers with ICMP
// "fragmentation needed" / ICMPv6 "packet too big" naming the flow's size;
// hostA's path MTU discovery then fits its packets, and TCP from hostA
// across the link works at full size.
func TestE2EOVPNPathMTU(t *testing.T) {
	s := newOVPNSites(t)
	confA := strings.Replace(siteConf("a", ""), `mode    = "tun"`, "mode    = \"tun\"\nmtu     = 1500", 1)
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", confA))
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "site", siteConf("b", "")))
	waitPeerUp(t, s.gwA.Node, "site", "gw.site-b", 30*time.Second)
	waitPing(t, s.hostA, "10.2.0.1", 30*time.Second)

	for _, dst := range []string{"10.2.0.1", "fd02::1"} {
		// The first ping draws the answer; ping reports it (or, once the
		// kernel has the path MTU, refuses to send: "message too long").
		out, err := s.hostA.Run("ping", "-M", "do", "-s", "1400", "-c", "2", "-i", "0.2", "-W", "1", dst)
		m := pingMTU.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("hostA's 1428-byte ping to %s with DF set drew no too-big answer (%v):\n%s\n%s\n%s", dst, err, out, s.gwA.MustRun("ip", "link", "show", "ovpn0"), s.gwA.MustRun("ovpn", "status", "--json"))
		}
		mtu, _ := strconv.Atoi(m[1])
		if mtu < 1280 || mtu >= 1428 {
			t.Errorf("the too-big answer for %s names MTU %d, want the flow's size (1280..1427)", dst, mtu)
		}
		t.Logf("%s: path MTU %d", dst, mtu)
		// What fits the announced size goes through.
		fit := strconv.Itoa(mtu - 28)
		if strings.Contains(dst, ":") {
			fit = strconv.Itoa(mtu - 48)
		}
		s.hostA.MustRun("ping", "-M", "do", "-s", fit, "-c", "1", "-W", "2", dst)
	}
	if n := ovpnStatus(t, s.gwA.Node, "site").Drops["too-big"]; n == 0 {
		t.Errorf("gwA's link counts no too-big drop")
	}
	// TCP from hostA sends full-size segments first and must shrink them.
	iperfAcross(t, s.hostA, s.hostB, "10.2.0.1")
}
