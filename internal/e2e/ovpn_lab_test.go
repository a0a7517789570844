package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// The ovpn tests' labs. Every gateway runs an irmd configured by irmd.conf
// with a udp4 member in layer "wan" and a unicast member in layer "corp"
// over it; ovpn registers its name in "corp" and reaches its peers there.
// Plain hosts behind the gateways run no Ouroboros software: they have a
// default route to their gateway and nothing else.

// ovpnLayer is the unicast layer the ovpn tests' names live in.
const ovpnLayer = "corp"

// ovpnGW is a gateway: a router namespace with irmd and (once up) ovpn.
type ovpnGW struct {
	*netlab.Node
	ipcp string       // its unicast IPCP's name
	wan  *netlab.End  // its underlay interface
	conf string       // its irmd.conf
	irmd *netlab.Proc // the irmd running now
	peer []*ovpnGW    // gateways it connects to in the corp layer
	ip   netip.Addr   // its underlay address
	cert string       // extra [irmd] and [name] lines (certificates)
	// confText, if set, is its whole irmd.conf (a guide's), instead of
	// the one corpIRMdConf writes.
	confText string
	// natted: behind a NAT, so the others cannot reach its address; it
	// dials them.
	natted bool
}

// corpIRMdConf is a gateway's irmd.conf: udp4 in "wan" with the other
// gateways as peers, and a unicast member of "corp" that bootstraps the
// layer (the first gateway) or enrols through the first and connects to
// every gateway before it.
func corpIRMdConf(g *ovpnGW, first *ovpnGW, peers []*ovpnGW, extra string) string {
	var b strings.Builder
	b.WriteString(extra)
	fmt.Fprintf(&b, "\n[udp4.w%s]\nbootstrap = \"wan\"\nip = %q\nreg = [%q]\n", g.ipcp, g.ip, g.ipcp)
	var ps []string
	for _, p := range peers {
		ps = append(ps, fmt.Sprintf("%s = %q", p.ipcp, p.ip))
	}
	if len(ps) > 0 {
		fmt.Fprintf(&b, "peers = { %s }\n", strings.Join(ps, ", "))
	}
	fmt.Fprintf(&b, "\n[unicast.%s]\nautobind = true\n", g.ipcp)
	if g == first {
		fmt.Fprintf(&b, "bootstrap = %q\n", ovpnLayer)
		return b.String()
	}
	fmt.Fprintf(&b, "enrol = %q\n", first.ipcp)
	var conn []string
	for _, p := range g.peer {
		conn = append(conn, fmt.Sprintf("%q", p.ipcp))
	}
	fmt.Fprintf(&b, "conn = [%s]\n", strings.Join(conn, ", "))
	return b.String()
}

// startCorp writes every gateway's irmd.conf (corpIRMdConf's, or
// confText), starts the irmds and waits
// until each unicast member has its adjacencies (data transfer and
// management) with the gateways it connects to and that connect to it.
func startCorp(t *testing.T, gws ...*ovpnGW) {
	t.Helper()
	for _, g := range gws {
		var others []*ovpnGW
		for _, o := range gws {
			if o != g && !o.natted {
				others = append(others, o)
			}
		}
		text := g.confText
		if text == "" {
			text = corpIRMdConf(g, gws[0], others, g.cert)
		}
		g.conf = writeConfig(t, text)
		g.irmd = g.StartIRMd("--config", g.conf)
	}
	for _, g := range gws {
		n := len(g.peer)
		for _, o := range gws {
			if slices.Contains(o.peer, g) {
				n++
			}
		}
		waitAdjacent(t, g, n)
	}
}

// waitAdjacent waits until g's unicast member has n adjacencies up.
func waitAdjacent(t *testing.T, g *ovpnGW, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, g.Name+"'s adjacencies in "+ovpnLayer, func() bool {
		out, err := g.Run("irm", "ipcp", "list", "type", "unicast")
		return err == nil && strings.Count(out, "(dt, mgmt)") >= n
	})
}

// restartIRMd stops g's irmd (SIGTERM) and starts it again from its file.
func (g *ovpnGW) restartIRMd(t *testing.T) {
	t.Helper()
	g.irmd.Signal(15)
	if err := g.irmd.Wait(10 * time.Second); err == netlab.ErrStillRunning {
		t.Fatalf("%s's irmd did not stop within 10 s", g.Name)
	}
	g.irmd = g.StartIRMd("--config", g.conf)
}

// ovpnSites is the site-to-site lab: hostA – gwA – (udp4) – gwB – hostB.
// Site A's LAN is 10.1.0.0/24 and fd01::/64, site B's 10.2.0.0/24 and
// fd02::/64, the underlay 198.51.100.0/24; hosts are .1 on their LAN, the
// gateways .2.
type ovpnSites struct {
	lab          *netlab.Lab
	hostA, hostB *netlab.Node
	gwA, gwB     *ovpnGW
	lanA, lanB   *netlab.Link
	wan          *netlab.Link
}

// newGW makes a router node that will be a gateway.
func newGW(lab *netlab.Lab, name, ipcp string) *ovpnGW {
	n := lab.Router(name)
	// The udp4 layer resolves names it is asked for through DNS too: with
	// a default route, a query to the host's name server would eat the
	// time of every allocation in the unicast layer; a local server that
	// is not there answers at once.
	n.Etc("resolv.conf", "nameserver 127.0.0.1\n")
	return &ovpnGW{Node: n, ipcp: ipcp}
}

// siteLAN joins a plain host to its gateway on prefixes (v4 and v6),
// host .1 and gateway .2, with the host's default routes via the gateway.
func siteLAN(lab *netlab.Lab, host *netlab.Node, gw *ovpnGW, prefixes ...string) *netlab.Link {
	l := lab.Link(host, gw.Node).Subnet(prefixes...)
	host.Route("default", l.B.IP4())
	if l.B.IP6().IsValid() {
		host.Route("default", l.B.IP6())
	}
	return l
}

// newOVPNSites builds the site-to-site lab with the corp layer up between
// the gateways.
func newOVPNSites(t *testing.T) *ovpnSites {
	t.Helper()
	s := buildOVPNSites(t)
	startCorp(t, s.gwA, s.gwB)
	return s
}

// buildOVPNSites builds the site-to-site lab's namespaces and links; no
// irmd runs yet.
func buildOVPNSites(t *testing.T) *ovpnSites {
	t.Helper()
	lab := netlab.New(t, bin)
	s := &ovpnSites{lab: lab, hostA: lab.Node("hostA"), hostB: lab.Node("hostB")}
	s.gwA, s.gwB = newGW(lab, "gwA", "ucA"), newGW(lab, "gwB", "ucB")
	s.lanA = siteLAN(lab, s.hostA, s.gwA, "10.1.0.0/24", "fd01::/64")
	s.lanB = siteLAN(lab, s.hostB, s.gwB, "10.2.0.0/24", "fd02::/64")
	s.wan = lab.Link(s.gwA.Node, s.gwB.Node).Subnet("198.51.100.0/24")
	s.gwA.wan, s.gwB.wan = s.wan.A, s.wan.B
	s.gwA.ip, s.gwB.ip = s.wan.A.IP4(), s.wan.B.IP4()
	s.gwB.peer = []*ovpnGW{s.gwA}
	return s
}

// siteConf is the ovpn configuration of site A ("a") or B ("b") in the
// site-to-site lab, as docs/ovpn.md's "Site to site" shows it; extra is
// added at the top level (before any table).
func siteConf(site, extra string) string {
	self, other, n, lan := "a", "b", "1", "2"
	if site == "b" {
		self, other, n, lan = "b", "a", "2", "1"
	}
	return extra + `
name  = "gw.site-` + self + `"
layer = "corp"
authenticate = false

[interface]
device  = "ovpn0"
mode    = "tun"
address = ["10.77.0.` + n + `/24", "fd77::` + n + `/64"]

[[peer]]
name   = "gw.site-` + other + `"
routes = ["10.` + lan + `.0.0/24", "fd0` + lan + `::/64"]
`
}

// writeOVPNConf writes an ovpn configuration as DIR/LINK.toml (the link's
// name is the file's base name) and returns its path.
func writeOVPNConf(t *testing.T, link, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), link+".toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ovpnUp brings a link up with `ovpn up`, which returns once the
// interface is up and leaves the link running in the background.
func ovpnUp(t *testing.T, n *netlab.Node, conf string) {
	t.Helper()
	out := n.MustRun("ovpn", "up", conf)
	t.Logf("%s: ovpn up %s: %s", n.Name, filepath.Base(conf), strings.TrimSpace(out))
	link := strings.TrimSuffix(filepath.Base(conf), ".toml")
	// The link goes down before the test's temporary directories are
	// removed (cleanups run last first): a link still running writes its
	// leases into its state_dir, and the removal found it not empty.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's ovpn log of %s:\n%s", n.Name, link, ovpnLog(n, link))
		}
		n.Run("ovpn", "down", link) // fails if the test took it down already
	})
}

// ovpnLog returns what the backgrounded link wrote to its log.
func ovpnLog(n *netlab.Node, link string) string {
	b, _ := os.ReadFile(filepath.Join(n.RunDir, "ovpn", link+".log"))
	return string(b)
}

// ovpnPeerStatus is what the tests read of a peer in `ovpn status --json`.
type ovpnPeerStatus struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	Proven    bool              `json:"proven"`
	Addrs     []netip.Prefix    `json:"addresses"`
	Routes    []netip.Prefix    `json:"routes"`
	TxPackets uint64            `json:"tx_packets"`
	RxPackets uint64            `json:"rx_packets"`
	Drops     map[string]uint64 `json:"drops"`
}

// ovpnLinkStatus is what the tests read of a link in `ovpn status --json`.
type ovpnLinkStatus struct {
	Link   string            `json:"link"`
	Device string            `json:"device"`
	Addrs  []netip.Prefix    `json:"addresses"`
	Drops  map[string]uint64 `json:"drops"`
	Peers  []ovpnPeerStatus  `json:"peers"`
}

// peer returns the named peer's status, or nil.
func (s ovpnLinkStatus) peer(name string) *ovpnPeerStatus {
	for i := range s.Peers {
		if s.Peers[i].Name == name {
			return &s.Peers[i]
		}
	}
	return nil
}

// up reports whether the named peer's flow is up.
func (s ovpnLinkStatus) up(name string) bool {
	p := s.peer(name)
	return p != nil && (p.State == "" || p.State == "up")
}

// ovpnStatus returns the link's status from `ovpn status LINK --json`,
// which prints one link as an object or a list of links.
func ovpnStatus(t testing.TB, n *netlab.Node, link string) ovpnLinkStatus {
	t.Helper()
	out := n.MustRun("ovpn", "status", link, "--json")
	var one ovpnLinkStatus
	if err := json.Unmarshal([]byte(out), &one); err == nil && (one.Device != "" || one.Peers != nil) {
		return one
	}
	var many []ovpnLinkStatus
	if err := json.Unmarshal([]byte(out), &many); err != nil || len(many) != 1 {
		t.Fatalf("%s: ovpn status %s --json: want one link: %v\n%s", n.Name, link, err, out)
	}
	return many[0]
}

// waitPeerUp waits until the link shows the named peer up.
func waitPeerUp(t *testing.T, n *netlab.Node, link, peer string, d time.Duration) ovpnLinkStatus {
	t.Helper()
	var st ovpnLinkStatus
	waitFor(t, d, n.Name+": peer "+peer+" up on "+link, func() bool {
		st = ovpnStatus(t, n, link)
		return st.up(peer)
	})
	return st
}

// pings reports whether one ping from n to addr (optionally from a
// source address) is answered within a second.
func pings(n *netlab.Node, addr string, from ...string) bool {
	args := []string{"-c", "1", "-W", "1"}
	if len(from) > 0 {
		args = append(args, "-I", from[0])
	}
	_, err := n.Run("ping", append(args, addr)...)
	return err == nil
}

// waitPing waits until n's pings to addr are answered and returns how long
// that took.
func waitPing(t *testing.T, n *netlab.Node, addr string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, d, n.Name+" pinging "+addr, func() bool { return pings(n, addr) })
	return time.Since(start)
}

// pingOK pings addr from n a few times and fails the test unless every
// reply comes.
func pingOK(t *testing.T, n *netlab.Node, addr string) {
	t.Helper()
	out := n.MustRun("ping", "-c", "3", "-i", "0.2", "-W", "2", addr)
	mustContain(t, out, "3 received")
}

// checkNoLeftovers checks that after `ovpn down` a gateway has no device,
// no route through it, no registration of its name and no flow of it or
// to its peers.
func checkNoLeftovers(t *testing.T, n *netlab.Node, dev, name string, peers ...string) {
	t.Helper()
	if out, err := n.Run("ip", "link", "show", "dev", dev); err == nil {
		t.Errorf("%s: %s is still there after ovpn down:\n%s", n.Name, dev, out)
	}
	for _, fam := range []string{"-4", "-6"} {
		if out := n.MustRun("ip", fam, "route", "show", "table", "all"); strings.Contains(out, "dev "+dev) {
			t.Errorf("%s: routes through %s after ovpn down:\n%s", n.Name, dev, out)
		}
	}
	if out := n.MustRun("irm", "name", "list"); strings.Contains(out, name) {
		t.Errorf("%s: %s is still registered after ovpn down:\n%s", n.Name, name, out)
	}
	flows := n.MustRun("irm", "flow", "list")
	for _, x := range append([]string{name}, peers...) {
		if strings.Contains(flows, x) {
			t.Errorf("%s: a flow of %s is left after ovpn down:\n%s", n.Name, x, flows)
		}
	}
	if out, err := n.Run("ovpn", "status", "--json"); err == nil && strings.Contains(out, name) {
		t.Errorf("%s: ovpn status still shows %s after ovpn down:\n%s", n.Name, name, out)
	}
}

// ovpnOffice is the laptop lab: an office gateway with a server on its
// LAN (10.2.0.0/24: srv .1, office .2), reached over 198.51.100.0/24
// (office .2) by laptops on a home LAN (192.168.7.0/24) behind a NAT box
// (.1 on the home LAN, 198.51.100.1 outside) that masquerades them. The
// laptops enrol in the office's corp layer through the NAT.
type ovpnOffice struct {
	lab     *netlab.Lab
	office  *ovpnGW
	srv     *netlab.Node
	nat     *netlab.Node
	laptops []*ovpnGW
}

// newOVPNOffice builds the laptop lab with one laptop per entry of
// laptopCerts (extra irmd.conf lines for each, "" for none) and the corp
// layer up; officeCert is the office irmd's extra lines.
func newOVPNOffice(t *testing.T, officeCert string, laptopCerts ...string) *ovpnOffice {
	t.Helper()
	o := buildOVPNOffice(t, len(laptopCerts))
	o.office.cert = officeCert
	for i, c := range laptopCerts {
		o.laptops[i].cert = c
	}
	startCorp(t, append([]*ovpnGW{o.office}, o.laptops...)...)
	return o
}

// buildOVPNOffice builds the laptop lab's namespaces and links with n
// laptops; no irmd runs yet.
func buildOVPNOffice(t *testing.T, n int) *ovpnOffice {
	t.Helper()
	lab := netlab.New(t, bin)
	o := &ovpnOffice{lab: lab, srv: lab.Node("srv"), nat: lab.Router("nat")}
	o.office = newGW(lab, "office", "ucO")
	siteLAN(lab, o.srv, o.office, "10.2.0.0/24")
	out := lab.Link(o.nat, o.office.Node).Subnet("198.51.100.0/24")
	o.office.wan, o.office.ip = out.B, out.B.IP4()
	o.nat.Masquerade(out.A)
	var nodes []*netlab.Node
	for i := range n {
		l := newGW(lab, fmt.Sprintf("laptop%d", i+1), fmt.Sprintf("ucL%d", i+1))
		l.natted, l.peer = true, []*ovpnGW{o.office}
		o.laptops = append(o.laptops, l)
		nodes = append(nodes, l.Node)
	}
	home := lab.Switch("home", append([]*netlab.Node{o.nat}, nodes...)...).Subnet("192.168.7.0/24")
	for i, l := range o.laptops {
		l.wan, l.ip = home.Ends[i+1], home.Ends[i+1].IP4()
		l.Route("default", home.Ends[0].IP4())
	}
	return o
}

// officeConf is the office's ovpn configuration: it accepts laptop.*
// and leases them addresses from 10.77.0.128/25, keeping the leases in
// stateDir. extra goes at the top level, peers after [accept].
func officeConf(stateDir, extra, peers string) string {
	return `name  = "gw.office"
layer = "corp"
state_dir = "` + stateDir + `"
` + extra + `
[interface]
device  = "ovpn0"
address = ["10.77.0.1/24"]

[accept]
names = ["laptop.*"]
pool  = "10.77.0.128/25"
` + peers
}

// laptopConf is a laptop's ovpn configuration: no address (it asks the
// office's pool for one), the office LAN reached through the office.
// extra goes at the top level, peerExtra into the office's [[peer]].
func laptopConf(name, extra, peerExtra string) string {
	return `name  = "` + name + `"
layer = "corp"
` + extra + `
[interface]
device = "ovpn0"

[[peer]]
name   = "gw.office"
routes = ["10.2.0.0/24"]
` + peerExtra
}

// grantedAddr waits until a client link holds an address from its peer's
// pool and returns it.
func grantedAddr(t *testing.T, n *netlab.Node, link string) netip.Prefix {
	t.Helper()
	var st ovpnLinkStatus
	waitFor(t, 30*time.Second, n.Name+"'s address from the pool", func() bool {
		st = ovpnStatus(t, n, link)
		return len(st.Addrs) > 0
	})
	if len(st.Addrs) != 1 {
		t.Fatalf("%s holds %v, want one address from the office's IPv4 pool", n.Name, st.Addrs)
	}
	return st.Addrs[0]
}
