package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/ipcp/unicast"
)

// The unicast layer between namespaces. Every node has its own irmd; each
// link between two nodes is a veth with a udp4 layer of its own, named after
// its ends ("ab"), so a node has one udp4 IPCP per link; the unicast layer
// "corp" runs over all of them. Its IPCPs are called "uc" and the node's
// name in capitals (ucA), and each node's hosts file maps its neighbours'
// names (ucA, and A for servers in the udp4 layer) to their addresses on
// the shared link.
//
// irmd picks the lower layer of a flow by asking its IPCPs in order (by
// type, then name) whether they reach the name; a udp4 IPCP claims only
// names its host routes to from its bound address. Every node still starts
// flows (enrolment, connections) over one link only, with the udp4 IPCP of
// that link named to come first (udp0ab, the others udp1bc), so that the
// lab does not depend on that check.

// ucLayer is the name of the unicast layer the tests build.
const ucLayer = "corp"

// hop is one adjacency of a unicast lab: from enrolls through to unless it
// is a member already, then connects to it.
type hop struct{ from, to string }

// ucLab is a unicast layer over udp4 links between namespaces.
type ucLab struct {
	t     testing.TB
	lab   *netlab.Lab
	nodes map[string]*netlab.Node
	ends  map[string]map[string]*netlab.End // node → udp4 layer → its end of the link
	links map[string]*netlab.Link           // udp4 layer → link
	init  map[string]string                 // node → the udp4 layer it starts flows over
	irmd  map[string]*netlab.Proc           // node → its irmd
}

// newUCLab builds the nodes and links of hops, udp4 layers on the links,
// and the unicast layer: the first hop's "to" bootstraps it with opts,
// then every hop is made in order. Link i is numbered 10.i+1.0.0/24.
func newUCLab(t testing.TB, hops []hop, opts ...string) *ucLab {
	t.Helper()
	return newUCLabConf(t, hops, "", opts...)
}

// newUCLabConf is newUCLab with every irmd started with conf as its
// irmd.conf ("": an empty one).
func newUCLabConf(t testing.TB, hops []hop, conf string, opts ...string) *ucLab {
	t.Helper()
	u := &ucLab{t: t, lab: netlab.New(t, bin), nodes: map[string]*netlab.Node{},
		ends: map[string]map[string]*netlab.End{}, links: map[string]*netlab.Link{}, init: map[string]string{},
		irmd: map[string]*netlab.Proc{}}
	for _, h := range hops {
		for _, n := range []string{h.to, h.from} {
			if u.nodes[n] == nil {
				u.nodes[n] = u.lab.Node(n)
				u.ends[n] = map[string]*netlab.End{}
			}
		}
	}
	hosts := map[string]map[string]string{}
	for i, h := range hops {
		layer := linkLayer(h.from, h.to)
		if u.links[layer] != nil {
			t.Fatalf("two hops between %s and %s", h.from, h.to)
		}
		if u.init[h.from] != "" {
			t.Fatalf("%s starts flows over %s and %s: irmd may pick the wrong udp4 layer", h.from, u.init[h.from], layer)
		}
		u.init[h.from] = layer
		l := u.lab.Link(u.nodes[h.from], u.nodes[h.to]).Subnet(fmt.Sprintf("10.%d.0.0/24", i+1))
		u.links[layer] = l
		u.ends[h.from][layer], u.ends[h.to][layer] = l.A, l.B
		// Each end knows the other's IPCP, and the other itself for
		// servers in the link's udp4 layer.
		for _, e := range []struct {
			me, peer string
			at       *netlab.End
		}{{h.from, h.to, l.B}, {h.to, h.from, l.A}} {
			if hosts[e.me] == nil {
				hosts[e.me] = map[string]string{}
			}
			hosts[e.me][ucName(e.peer)] = e.at.IP4().String()
			hosts[e.me][strings.ToUpper(e.peer)] = e.at.IP4().String()
		}
	}
	for n, node := range u.nodes {
		quietResolver(node)
		node.Hosts(hosts[n]) // before irmd starts: it reads the hosts file once
		if conf == "" {
			u.irmd[n] = node.StartIRMd()
			continue
		}
		file := filepath.Join(node.RunDir, "irmd.conf")
		if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		u.irmd[n] = node.StartIRMd("--config", file)
	}
	for n, node := range u.nodes {
		for layer, e := range u.ends[n] {
			node.MustRun("irm", "ipcp", "bootstrap", "name", u.udpName(n, layer), "layer", layer,
				"type", "udp4", "ip", e.IP4().String())
		}
	}
	root := hops[0].to
	u.nodes[root].MustRun("irm", append([]string{"ipcp", "bootstrap", "name", ucName(root), "layer", ucLayer,
		"type", "unicast", "autobind"}, opts...)...)
	member := map[string]bool{root: true}
	for _, h := range hops {
		u.hop(h, !member[h.from])
		member[h.from] = true
	}
	return u
}

// hop makes one adjacency: the name of to's IPCP registered in their
// link's udp4 layer, from enrolled through it if it must, and connected.
func (u *ucLab) hop(h hop, enroll bool) {
	u.t.Helper()
	from, to := u.nodes[h.from], u.nodes[h.to]
	to.MustRun("irm", "name", "register", ucName(h.to), "layer", linkLayer(h.from, h.to))
	if enroll {
		from.MustRun("irm", "ipcp", "enroll", "name", ucName(h.from), "layer", ucLayer, "dst", ucName(h.to), "autobind")
	}
	from.MustRun("irm", "ipcp", "connect", "name", ucName(h.from), "dst", ucName(h.to))
}

// udpName names node n's udp4 IPCP in layer so that the one n starts
// flows over comes first.
func (u *ucLab) udpName(n, layer string) string {
	if u.init[n] == layer {
		return "udp0" + layer
	}
	return "udp1" + layer
}

// link returns the link between nodes a and b.
func (u *ucLab) link(a, b string) *netlab.Link {
	u.t.Helper()
	l := u.links[linkLayer(a, b)]
	if l == nil {
		u.t.Fatalf("no link between %s and %s", a, b)
	}
	return l
}

// linkLayer names the udp4 layer between nodes a and b: their names in
// order.
func linkLayer(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + b
}

// ucName is the name of node n's unicast IPCP: ucA for node a.
func ucName(n string) string { return "uc" + strings.ToUpper(n) }

// quietResolver points the node's resolver at a port where nothing
// listens, so that a name missing from its hosts file fails at once
// instead of waiting for the host's DNS servers.
func quietResolver(n *netlab.Node) {
	n.Etc("resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
}

// serveUC registers name in the unicast layer on node n and binds a
// server started there.
func serveUC(t testing.TB, n *netlab.Node, name string, srv *netlab.Proc) {
	t.Helper()
	n.MustRun("irm", "name", "register", name, "layer", ucLayer)
	n.MustRun("irm", "bind", "process", itoa(srv.PID()), "name", name)
}

// pingUntil runs oping from n to name until a run of count pings loses
// none, within d, and returns how long that took. A new layer needs a
// moment: the routes and the directory entry reach the pinger after the
// commands that made them return.
func pingUntil(t testing.TB, n *netlab.Node, name string, count int, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	want := fmt.Sprintf("%d packets transmitted, %d received, 0%% packet loss", count, count)
	var out string
	for {
		out, _ = n.Run("oping", "-n", name, "-c", itoa(count), "-i", "10ms", "-w", "1s")
		if strings.Contains(out, want) {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("oping from %s to %s: no %d of %d replies within %v; last try:\n%s", n, name, count, count, d, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cells splits irm's tables: columns are two or more spaces apart.
var cells = regexp.MustCompile(`\s{2,}`)

// ipcpRow returns the row of IPCP name in `irm ipcp list` on n, by column
// header.
func ipcpRow(t testing.TB, n *netlab.Node, name string) map[string]string {
	t.Helper()
	out := n.MustRun("irm", "ipcp", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := cells.Split(strings.TrimSpace(lines[0]), -1)
	for _, l := range lines[1:] {
		row := cells.Split(strings.TrimSpace(l), -1)
		if len(row) != len(header) || row[0] != name {
			continue
		}
		m := map[string]string{}
		for i, h := range header {
			m[h] = row[i]
		}
		return m
	}
	t.Fatalf("no IPCP %s in irm ipcp list on %s:\n%s", name, n, out)
	return nil
}

// hexAddr is the form irm shows a unicast address in.
var hexAddr = regexp.MustCompile(`^0x[0-9a-f]+$`)

// TestE2EUnicastTutorial runs the reference tutorial's commands verbatim,
// each in its namespace (issue 5): two hosts, a udp4 layer "ab" between
// them, and the unicast layer "corp" over it.
func TestE2EUnicastTutorial(t *testing.T) {
	const tutorial = `
A$ irm ipcp bootstrap name udpA layer ab type udp4 ip 10.1.0.1
A$ irm ipcp bootstrap name ucA layer corp type unicast autobind
A$ irm name register ucA layer ab
B$ irm ipcp bootstrap name udpB layer ab type udp4 ip 10.1.0.2
B$ irm ipcp enroll name ucB layer corp dst ucA autobind
B$ irm ipcp connect name ucB dst ucA
B$ irm name register srv layer corp ; oping -l & ; irm bind process $! name srv
A$ oping -n srv -c 10
`
	lab := netlab.New(t, bin)
	a, b := lab.Node("a"), lab.Node("b")
	lab.Link(a, b).Subnet("10.1.0.0/24")
	a.Hosts(map[string]string{"ucB": "10.1.0.2", "udpB": "10.1.0.2"})
	b.Hosts(map[string]string{"ucA": "10.1.0.1", "udpA": "10.1.0.1"})
	quietResolver(a)
	quietResolver(b)
	a.StartIRMd()
	b.StartIRMd()
	hosts := map[string]*netlab.Node{"A": a, "B": b}
	var last string
	for _, line := range strings.Split(strings.TrimSpace(tutorial), "\n") {
		host, cmd, ok := strings.Cut(line, "$ ")
		if !ok || hosts[host] == nil {
			t.Fatalf("bad tutorial line %q", line)
		}
		last = shell(t, hosts[host], cmd)
	}
	mustContain(t, last, "10 packets transmitted, 10 received, 0% packet loss")

	rowA, rowB := ipcpRow(t, a, "ucA"), ipcpRow(t, b, "ucB")
	t.Logf("on a: %v\non b: %v", rowA, rowB)
	for _, r := range []map[string]string{rowA, rowB} {
		if r["TYPE"] != "unicast" || r["LAYER"] != ucLayer || !hexAddr.MatchString(r["ADDRESS"]) {
			t.Errorf("%s: type %q, layer %q, address %q: want unicast in %s with an address", r["NAME"], r["TYPE"], r["LAYER"], r["ADDRESS"], ucLayer)
		}
	}
	if rowA["ADDRESS"] == rowB["ADDRESS"] {
		t.Errorf("ucA and ucB have the same address %s", rowA["ADDRESS"])
	}
	if !strings.Contains(rowA["NEIGHBOURS"], "ucB") || !strings.Contains(rowB["NEIGHBOURS"], "ucA") {
		t.Errorf("neighbours: ucA has %q, ucB has %q; want each other", rowA["NEIGHBOURS"], rowB["NEIGHBOURS"])
	}
}

// shell runs a tutorial command in bash on node n, with the project's
// binaries first in PATH, and returns its output. A command that leaves a
// server in the background (cmd &) is adapted as readme_test does with
// its trap: bash is kept running (wait), so that the server stays under
// the lab's control, and shell returns once the server is bound to a name.
func shell(t *testing.T, n *netlab.Node, cmd string) string {
	t.Helper()
	if !strings.Contains(cmd, "&") {
		c := n.Command("bash", "-e", "-c", cmd)
		c.Env = append(c.Env, "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("on %s: %s: %v\n%s", n, cmd, err, out)
		}
		return string(out)
	}
	script := strings.ReplaceAll(cmd, "& ;", "&") + "; wait"
	c := n.Command("bash", "-e", "-c", script)
	c.Env = append(c.Env, "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin")
	p := n.StartCmd(c)
	name := regexp.MustCompile(`name (\S+)\s*$`).FindStringSubmatch(cmd)
	if name == nil {
		t.Fatalf("background command %q binds no name", cmd)
	}
	waitFor(t, 10*time.Second, name[1]+" bound to a process", func() bool {
		if p.Exited() {
			t.Fatalf("on %s: %s: %v\n%s", n, cmd, p.Wait(0), p.Output())
		}
		out, _ := n.Run("irm", "name", "list")
		for _, l := range strings.Split(out, "\n") {
			f := cells.Split(strings.TrimSpace(l), -1)
			if len(f) >= 5 && f[0] == name[1] && f[4] != "-" {
				return true
			}
		}
		return false
	})
	return p.Output()
}

// TestE2EUnicastChain: A - B - C - D, each pair on its own veth and udp4
// layer, one unicast layer over all: pings and 50 MB through two relays.
func TestE2EUnicastChain(t *testing.T) {
	u := newUCLab(t, []hop{{"b", "a"}, {"c", "b"}, {"d", "c"}})
	a, d := u.nodes["a"], u.nodes["d"]
	serveUC(t, d, "pinger", d.Start("oping", "-l"))
	t.Logf("A to D answered after %v", pingUntil(t, a, "pinger", 1, 15*time.Second).Round(time.Millisecond))
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "10ms"),
		"20 packets transmitted, 20 received, 0% packet loss")
	catAcrossLayer(t, a, d, 50<<20, ucLayer)
	for _, n := range []string{"b", "c"} {
		row := ipcpRow(t, u.nodes[n], ucName(n))
		t.Logf("relay %s: address %s, neighbours %s, dropped %s", row["NAME"], row["ADDRESS"], row["NEIGHBOURS"], row["DROPPED"])
	}
}

// TestE2EUnicastMixedUnderlays: A - B over udp4, B - C over eth-dix; B
// bootstraps the layer, and A and C enroll through it, each over its only
// lower layer.
func TestE2EUnicastMixedUnderlays(t *testing.T) {
	lab := netlab.New(t, bin)
	a, b, c := lab.Node("a"), lab.Node("b"), lab.Node("c")
	ab := lab.Link(a, b).Subnet("10.1.0.0/24")
	bc := lab.Link(b, c) // Ethernet only: no addresses
	a.Hosts(map[string]string{"ucB": ab.B.IP4().String()})
	for _, n := range []*netlab.Node{a, b, c} {
		quietResolver(n)
		n.StartIRMd()
	}
	a.MustRun("irm", "ipcp", "bootstrap", "name", "udpA", "layer", "ab", "type", "udp4", "ip", ab.A.IP4().String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "udpB", "layer", "ab", "type", "udp4", "ip", ab.B.IP4().String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ethB", "layer", "bc", "type", "eth-dix", "dev", bc.A.Name)
	c.MustRun("irm", "ipcp", "bootstrap", "name", "ethC", "layer", "bc", "type", "eth-dix", "dev", bc.B.Name)
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ucB", "layer", ucLayer, "type", "unicast", "autobind")
	b.MustRun("irm", "name", "register", "ucB", "layer", "ab")
	b.MustRun("irm", "name", "register", "ucB", "layer", "bc")
	for _, n := range []*netlab.Node{a, c} {
		me := ucName(n.Name)
		n.MustRun("irm", "ipcp", "enroll", "name", me, "layer", ucLayer, "dst", "ucB", "autobind")
		n.MustRun("irm", "ipcp", "connect", "name", me, "dst", "ucB")
	}
	mustContain(t, ipcpRow(t, b, "ucB")["NEIGHBOURS"], "ucA", "ucC")
	serveUC(t, c, "pinger", c.Start("oping", "-l"))
	pingUntil(t, a, "pinger", 1, 15*time.Second)
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "10ms"),
		"20 packets transmitted, 20 received, 0% packet loss")
	catAcrossLayer(t, a, c, 5<<20, ucLayer)
}

// TestE2EUnicastOverUnicast: a unicast layer "upper" whose members, on A
// and C, are neighbours over a unicast layer "lower" that B relays (A - B
// - C over udp4 links).
func TestE2EUnicastOverUnicast(t *testing.T) {
	u := newUCLab(t, []hop{{"b", "a"}, {"c", "b"}})
	a, c := u.nodes["a"], u.nodes["c"]
	a.MustRun("irm", "ipcp", "bootstrap", "name", "upA", "layer", "upper", "type", "unicast", "autobind")
	a.MustRun("irm", "name", "register", "upA", "layer", ucLayer)
	c.MustRun("irm", "ipcp", "enroll", "name", "upC", "layer", "upper", "dst", "upA", "autobind")
	c.MustRun("irm", "ipcp", "connect", "name", "upC", "dst", "upA")
	mustContain(t, ipcpRow(t, a, "upA")["NEIGHBOURS"], "upC")

	c.MustRun("irm", "name", "register", "pinger", "layer", "upper")
	c.MustRun("irm", "bind", "process", itoa(c.Start("oping", "-l").PID()), "name", "pinger")
	pingUntil(t, a, "pinger", 1, 15*time.Second)
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "10ms"),
		"20 packets transmitted, 20 received, 0% packet loss")
	// Full-size SDUs of the upper layer (raw: no FRCT header in them; a
	// whole SDU of the layer sealed), so that the lower one carries that,
	// the upper's header and the seal of the upper's member flow.
	maxSDU := strconv.Itoa(unicast.MaxSDU - crypt.Overhead)
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "10ms", "-q", "raw", "-s", maxSDU),
		"20 packets transmitted, 20 received, 0% packet loss")
	// upC's adjacency is a flow of the lower unicast layer, relayed by B.
	flows := a.MustRun("irm", "flow", "list")
	if !regexp.MustCompile(`(?m)\bupA\s+\S+\s+corp\s+ucA\s+ipcp upA\b`).MatchString(flows) {
		t.Errorf("no flow of upA over corp (upC's adjacency) on a:\n%s", flows)
	}
}

// dropped reads a drop counter from an IPCP's DROPPED cell, e.g. "ttl"
// from "5 (no-route 2, ttl 3)".
func dropped(cell, cause string) int {
	m := regexp.MustCompile(`\b` + regexp.QuoteMeta(cause) + ` (\d+)`).FindStringSubmatch(cell)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// TestE2EUnicastTTLAndUnknownName: with ttl 2, A reaches C (two hops) but
// not D (three): the packets die at C, which counts them. An allocation
// to a name registered nowhere fails fast, naming it.
func TestE2EUnicastTTLAndUnknownName(t *testing.T) {
	u := newUCLab(t, []hop{{"b", "a"}, {"c", "b"}, {"d", "c"}}, "ttl", "2")
	a, c, d := u.nodes["a"], u.nodes["c"], u.nodes["d"]
	serveUC(t, c, "near", c.Start("oping", "-l"))
	serveUC(t, d, "far", d.Start("oping", "-l"))
	pingUntil(t, a, "near", 3, 15*time.Second) // two hops: within the TTL

	before := dropped(ipcpRow(t, c, "ucC")["DROPPED"], "ttl")
	start := time.Now()
	out, err := a.Run("oping", "-n", "far", "-c", "3", "-i", "10ms", "-w", "500ms")
	t.Logf("oping to D (three hops, ttl 2) after %v: %v\n%s", time.Since(start).Round(time.Millisecond), err, out)
	if err == nil && !strings.Contains(out, "100% packet loss") {
		t.Fatalf("oping over three hops with ttl 2 got through")
	}
	row := ipcpRow(t, c, "ucC")
	if got := dropped(row["DROPPED"], "ttl"); got <= before {
		t.Errorf("C dropped %q; want its ttl count above %d", row["DROPPED"], before)
	}
	t.Logf("C: dropped %s", row["DROPPED"])

	start = time.Now()
	out, err = a.Run("oping", "-n", "nosuchname", "-c", "1")
	took := time.Since(start)
	t.Logf("oping to an unregistered name: %v after %v:\n%s", err, took.Round(time.Millisecond), out)
	if err == nil {
		t.Fatal("oping to an unregistered name succeeded")
	}
	mustContain(t, out, "nosuchname")
	if took > 3*time.Second {
		t.Errorf("failing took %v, want under 3 s", took)
	}
}

// TestE2EUnicastConfig sets three hosts up from irmd.conf alone, in the
// wrong order: C, which enrolls through B, starts first, then B, which
// enrolls through A, and A, which bootstraps the layer, last, once C has
// failed at least once (B answers C's request but has no layer yet). The
// irmds must keep trying until the layer forms, and A then reaches the
// server that C registered and its irmd starts on demand.
func TestE2EUnicastConfig(t *testing.T) {
	lab := netlab.New(t, bin)
	a, b, c := lab.Node("a"), lab.Node("b"), lab.Node("c")
	ab := lab.Link(b, a).Subnet("10.1.0.0/24")
	bc := lab.Link(c, b).Subnet("10.2.0.0/24")
	b.Hosts(map[string]string{"ucA": ab.B.IP4().String()})
	c.Hosts(map[string]string{"ucB": bc.B.IP4().String()})
	for _, n := range []*netlab.Node{a, b, c} {
		quietResolver(n)
	}
	confA := writeConfig(t, `
[udp4.udp0ab]
bootstrap = "ab"
ip = "`+ab.B.IP4().String()+`"
reg = ["ucA"]

[unicast.ucA]
bootstrap = "corp"
autobind = true
`)
	// B starts flows to A only: its udp4 IPCP towards A comes first.
	confB := writeConfig(t, `
[udp4.udp0ab]
bootstrap = "ab"
ip = "`+ab.A.IP4().String()+`"

[udp4.udp1bc]
bootstrap = "bc"
ip = "`+bc.B.IP4().String()+`"
reg = ["ucB"]

[unicast.ucB]
enrol = "ucA"
autobind = true
conn = ["ucA"]
`)
	confC := writeConfig(t, `
[name.pinger]
prog = ["`+bin+`/oping"]
args = ["-l"]

[udp4.udp0bc]
bootstrap = "bc"
ip = "`+bc.A.IP4().String()+`"

[unicast.ucC]
enrol = "ucB"
autobind = true
conn = ["ucB"]
reg = ["pinger"]
`)
	for n, conf := range map[*netlab.Node]string{a: confA, b: confB, c: confC} {
		n.MustRun("irmd", "--config", conf, "--check")
	}
	start := time.Now()
	irmdC := c.StartIRMd("--config", confC)
	irmdB := b.StartIRMd("--config", confB)
	waitFor(t, 15*time.Second, "C's first enrolment to fail", func() bool {
		return strings.Contains(irmdC.Output(), "enrolment failed")
	})
	t.Logf("C's first enrolment failed after %v", time.Since(start).Round(time.Millisecond))
	a.StartIRMd("--config", confA)
	pingUntil(t, a, "pinger", 3, 20*time.Second)
	took := time.Since(start)
	t.Logf("A reached C's pinger %v after C's irmd started", took.Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the layer took %v to form, want within 15 s", took)
	}
	mustContain(t, ipcpRow(t, b, "ucB")["NEIGHBOURS"], "ucA", "ucC")
	for _, p := range []*netlab.Proc{irmdB, irmdC} {
		out := p.Output()
		t.Logf("%s's irmd: %d failed enrolments, %d failed connections", p.Node, strings.Count(out, "enrolment failed"),
			strings.Count(out, "connection failed"))
		if t.Failed() {
			t.Logf("%s's irmd:\n%s", p.Node, out)
		}
	}
}
