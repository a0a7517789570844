package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// tapSite is one site of the L2 lab: a gateway whose tap ovpn0 shares a
// Linux bridge br0 with the veth to its LAN host.
type tapSite struct {
	gw   *ovpnGW
	host *netlab.Node
	ip   string // the host's address in the stretched subnet 10.50.0.0/24
	lan  string // the host's interface on its LAN
}

// tapConf is site i's (0, 1, 2 of three) ovpn configuration: a tap with a
// tunnel address of its own and the other sites as peers (a full mesh).
func tapConf(i int, names []string) string {
	var peers strings.Builder
	for j, n := range names {
		if j != i {
			fmt.Fprintf(&peers, "\n[[peer]]\nname = %q\n", n)
		}
	}
	return fmt.Sprintf(`name  = %q
layer = "corp"
authenticate = false

[interface]
device  = "ovpn0"
mode    = "tap"
address = ["10.60.0.%d/24"]
%s`, names[i], i+1, peers.String())
}

// newTapSites builds three sites on one WAN segment (198.51.100.0/24)
// with the corp layer up, each site's LAN host in 10.50.0.0/24 and its
// gateway's LAN port in a bridge, then brings ovpn up in tap mode on
// every gateway and puts each tap in its bridge.
func newTapSites(t *testing.T) []*tapSite {
	t.Helper()
	lab := netlab.New(t, bin)
	names := []string{"gw.site-a", "gw.site-b", "gw.site-c"}
	var sites []*tapSite
	var gws []*ovpnGW
	var nodes []*netlab.Node
	for i, s := range []string{"A", "B", "C"} {
		gw := newGW(lab, "gw"+s, "uc"+s)
		gw.peer = append([]*ovpnGW(nil), gws...)
		host := lab.Node("host" + s)
		lan := lab.Link(host, gw.Node)
		ip := fmt.Sprintf("10.50.0.%d", i+1)
		lan.A.AddAddr(ip + "/24")
		gw.MustRun("ip", "link", "add", "br0", "type", "bridge", "stp_state", "0")
		gw.MustRun("ip", "link", "set", lan.B.Name, "master", "br0")
		gw.MustRun("ip", "link", "set", "br0", "up")
		sites = append(sites, &tapSite{gw: gw, host: host, ip: ip, lan: lan.A.Name})
		gws = append(gws, gw)
		nodes = append(nodes, gw.Node)
	}
	wan := lab.Switch("wan", nodes...).Subnet("198.51.100.0/24")
	for i, g := range gws {
		g.wan, g.ip = wan.Ends[i], wan.Ends[i].IP4()
	}
	startCorp(t, gws...)
	for i, s := range sites {
		ovpnUp(t, s.gw.Node, writeOVPNConf(t, "l2", tapConf(i, names)))
		s.gw.MustRun("ip", "link", "set", "ovpn0", "master", "br0")
	}
	for i, s := range sites {
		for j, n := range names {
			if j != i {
				waitPeerUp(t, s.gw.Node, "l2", n, 30*time.Second)
			}
		}
	}
	return sites
}

// tapRx returns the packets a site's link received from its peers, in all.
func tapRx(t *testing.T, s *tapSite) uint64 {
	t.Helper()
	var n uint64
	for _, p := range ovpnStatus(t, s.gw.Node, "l2").Peers {
		n += p.RxPackets
	}
	return n
}

// TestE2EOVPNTap: three sites' LANs, each bridged with its gateway's tap,
// form one Ethernet segment: hosts in one subnet ARP for and ping each
// other across. Site C sees the ARP broadcasts of A and B (flooded to
// every peer) but not their unicast once the MACs are learned, and a
// broadcast costs a bounded number of frames: no loops in the full mesh.
// A host at C taking the MAC of a host at B does not draw B's frames.
func TestE2EOVPNTap(t *testing.T) {
	sites := newTapSites(t)
	a, b, c := sites[0], sites[1], sites[2]
	for _, p := range [][2]*tapSite{{a, b}, {a, c}, {b, c}} {
		waitPing(t, p[0].host, p[1].ip, 20*time.Second)
		pingOK(t, p[0].host, p[1].ip)
	}
	mustContain(t, a.host.MustRun("ip", "neigh", "show", b.ip), "lladdr")

	// Learning: A and B's unicast does not reach C.
	before := tapRx(t, c)
	out := a.host.MustRun("ping", "-c", "50", "-i", "0.02", "-W", "2", b.ip)
	mustContain(t, out, "50 received")
	got := tapRx(t, c) - before
	if got > 15 { // echoes and IPv6 multicast besides
		t.Errorf("site C received %d frames during 50 pings between A and B: unicast is flooded, not learned", got)
	}
	t.Logf("site C received %d frames while A and B exchanged 100", got)

	// Flooding without loops: one broadcast ping from A (hosts ignore
	// echo requests to broadcast) reaches B and C once each; in a loop
	// the frames would keep circling and the counters keep rising.
	total := func() (n uint64) {
		for _, s := range sites {
			n += tapRx(t, s)
		}
		return n
	}
	before = total()
	a.host.Run("ping", "-b", "-c", "1", "-W", "1", "10.50.0.255")
	waitFor(t, 5*time.Second, "the broadcast to reach B and C", func() bool { return total() >= before+2 })
	time.Sleep(time.Second) // the window in which a loop would show, not a wait for a condition
	n := total() - before
	if n > 15 {
		t.Fatalf("one broadcast made %d frames between the sites within a second: a loop", n)
	}
	t.Logf("one broadcast from A: %d frames between the sites", n)

	// A MAC learned behind B does not move to C: hostC taking hostB's
	// MAC gets its frames dropped at A, counted as mac-moved from C.
	macB := strings.TrimSpace(b.host.MustRun("cat", "/sys/class/net/"+b.lan+"/address"))
	c.host.MustRun("ip", "link", "set", "dev", c.lan, "address", macB)
	pings(c.host, a.ip)
	waitFor(t, 10*time.Second, "gwA to count hostC's frames with hostB's MAC as mac-moved", func() bool {
		p := ovpnStatus(t, a.gw.Node, "l2").peer("gw.site-c")
		return p != nil && p.Drops["mac-moved"] > 0
	})
	pingOK(t, a.host, b.ip) // B keeps its MAC's place
}
