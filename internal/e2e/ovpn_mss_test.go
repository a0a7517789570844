package e2e

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// receivedMSS returns the MSS announced by the first SYN (or, if ack,
// SYN-ACK) that c captured as received from src (any port if src has
// none). It fails the test if there is none.
func receivedMSS(t *testing.T, c *netlab.Capture, src netip.AddrPort, ack bool) int {
	t.Helper()
	want := byte(netlab.TCPSYN)
	if ack {
		want |= netlab.TCPACK
	}
	var syns []netlab.Segment
	for _, p := range c.Packets() {
		s, ok := p.TCP()
		if !ok || s.Flags&netlab.TCPSYN == 0 {
			continue
		}
		syns = append(syns, s)
		from := s.Src == src || src.Port() == 0 && s.Src.Addr() == src.Addr()
		if !p.Out && from && s.Flags&(netlab.TCPSYN|netlab.TCPACK) == want {
			return s.MSS
		}
	}
	t.Fatalf("no SYN (flags %#x) received from %v; the SYNs seen: %+v", want, src, syns)
	return 0
}

var linkMTU = regexp.MustCompile(` mtu (\d+) `)

// devMTU returns the MTU of n's interface dev as the kernel has it.
func devMTU(t *testing.T, n *netlab.Node, dev string) int {
	t.Helper()
	out := n.MustRun("ip", "-o", "link", "show", "dev", dev)
	m := linkMTU.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no MTU in `ip link show dev %s`: %s", n.Name, dev, out)
	}
	mtu, _ := strconv.Atoi(m[1])
	return mtu
}

// blackholeTooBig makes n's firewall drop every ICMP "fragmentation
// needed" and ICMPv6 "packet too big" it receives, as the firewall in
// docs/ovpn.md's MTU note does: path MTU discovery then cannot work.
func blackholeTooBig(n *netlab.Node) {
	n.MustRun("nft", "add table inet mss; "+
		"add chain inet mss in { type filter hook input priority 0; }; "+
		"add rule inet mss in icmp type destination-unreachable icmp code frag-needed counter drop; "+
		"add rule inet mss in icmpv6 type packet-too-big counter drop")
}

// TestE2EOVPNMSSClamp: gwA's link clamps the MSS (mss_clamp = true), gwB's
// does not; both sites' LANs have a 1500-byte MTU and the tunnel less.
// Captured on the hosts' LAN interfaces, with IPv4 and IPv6: the SYN of
// a connection from hostA and the SYN-ACK of one to hostA, which leave
// through gwA's link, reach hostB announcing at most the tunnel's MTU
// minus 40 (IPv4) or 60 (IPv6); the SYN and SYN-ACK that leave through
// gwB's link reach hostA with the 1460 (1440) hostB announced. With
// hostB's firewall eating every ICMP too-big, so that path MTU discovery
// cannot help, hostA still downloads 4 MB from hostB with both families:
// hostB's segments fit the tunnel because of the clamped SYN alone.
func TestE2EOVPNMSSClamp(t *testing.T) {
	s := newOVPNSites(t)
	blackholeTooBig(s.hostB)
	confA := strings.Replace(siteConf("a", ""), `mode    = "tun"`, "mode    = \"tun\"\nmss_clamp = true", 1)
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", confA))
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "site", siteConf("b", "")))
	waitPeerUp(t, s.gwA.Node, "site", "gw.site-b", 30*time.Second)
	waitPing(t, s.hostA, "10.2.0.1", 30*time.Second)
	waitPing(t, s.hostA, "fd02::1", 10*time.Second)

	const size = 4 << 20
	serveHTTP(t, s.hostB, strings.Repeat("B", size))
	serveHTTP(t, s.hostA, "hello from site A")
	mtu := devMTU(t, s.gwA.Node, "ovpn0")
	if lan := devMTU(t, s.hostB, s.lanB.A.Name); lan != 1500 || mtu >= lan {
		t.Fatalf("hostB's LAN MTU %d, gwA's tunnel MTU %d: want 1500 and less", lan, mtu)
	}

	for _, fam := range []struct {
		a, b string // hostA's and hostB's addresses
		hdr  int    // the IP and TCP headers' length
	}{{"10.1.0.1", "10.2.0.1", 40}, {"fd01::1", "fd02::1", 60}} {
		capA, capB := s.lanA.A.CaptureIP(), s.lanB.A.CaptureIP()
		for _, c := range []struct {
			from *netlab.Node
			to   string
		}{{s.hostA, fam.b}, {s.hostB, fam.a}} {
			url := "http://" + netip.AddrPortFrom(netip.MustParseAddr(c.to), 8080).String() + "/"
			mustContain(t, c.from.MustRun("curl", "-sS", "-I", "--max-time", "5", url), "200 OK")
		}
		for _, c := range []*netlab.Capture{capA, capB} {
			if _, err := c.Stop(); err != nil {
				t.Fatal(err)
			}
		}
		a, b := netip.MustParseAddr(fam.a), netip.MustParseAddr(fam.b)
		synAB := receivedMSS(t, capB, netip.AddrPortFrom(a, 0), false)
		ackAB := receivedMSS(t, capB, netip.AddrPortFrom(a, 8080), true)
		synBA := receivedMSS(t, capA, netip.AddrPortFrom(b, 0), false)
		ackBA := receivedMSS(t, capA, netip.AddrPortFrom(b, 8080), true)
		t.Logf("%s: tunnel MTU %d; through gwA's clamping link: SYN mss %d, SYN-ACK mss %d; through gwB's: SYN mss %d, SYN-ACK mss %d",
			fam.b, mtu, synAB, ackAB, synBA, ackBA)
		if limit := mtu - fam.hdr; synAB > limit || synAB <= 0 || ackAB > limit || ackAB <= 0 {
			t.Errorf("%s: hostB got a SYN announcing MSS %d and a SYN-ACK %d through gwA's clamping link, want 1..%d (tunnel MTU %d - %d)",
				fam.b, synAB, ackAB, limit, mtu, fam.hdr)
		}
		if want := 1500 - fam.hdr; synBA != want || ackBA != want {
			t.Errorf("%s: hostA got a SYN announcing MSS %d and a SYN-ACK %d through gwB's link, which does not clamp: want hostB's own %d",
				fam.b, synBA, ackBA, want)
		}
	}

	for _, addr := range []string{"10.2.0.1", "fd02::1"} {
		url := "http://" + netip.AddrPortFrom(netip.MustParseAddr(addr), 8080).String() + "/"
		start := time.Now()
		out, err := s.hostA.Run("curl", "-sS", "--max-time", "8", "-o", "/dev/null", "-w", "%{size_download}", url)
		if err != nil || strings.TrimSpace(out) != strconv.Itoa(size) {
			t.Fatalf("hostA's download of %d bytes from %s with ICMP too-big blackholed: got %q (%v)\nhostB's firewall:\n%s",
				size, url, out, err, s.hostB.MustRun("nft", "list", "table", "inet", "mss"))
		}
		t.Logf("hostA downloaded %d bytes from %s in %v", size, addr, time.Since(start).Round(time.Millisecond))
	}
	checkBlackhole(t, s.hostB, "10.1.0.1", "fd01::1")
}

var nftDrops = regexp.MustCompile(`counter packets (\d+)`)

// checkBlackhole shows that blackholeTooBig's rules work, so that what
// passed through them was not helped by path MTU discovery: a ping from
// n to each address too big for the tunnel, with DF, draws a too-big
// answer from the gateway that each rule counts and drops.
func checkBlackhole(t *testing.T, n *netlab.Node, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		n.Run("ping", "-M", "do", "-s", "1400", "-c", "1", "-W", "1", a) //nolint:errcheck // it must fail; the counters tell
	}
	out := n.MustRun("nft", "list", "table", "inet", "mss")
	m := nftDrops.FindAllStringSubmatch(out, -1)
	if len(m) != 2 || m[0][1] == "0" || m[1][1] == "0" {
		t.Fatalf("%s's firewall did not drop the too-big answers to its big pings:\n%s", n.Name, out)
	}
}
