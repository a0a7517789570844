package e2e

import (
	"bytes"
	"crypto/rand"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// twoHosts builds a — b over a veth with IPv4 and IPv6, an irmd in each,
// and a udp layer of the given type in each, bound to the node's address.
// a resolves the names of b's servers through its hosts file.
func twoHosts(t *testing.T, typ string, names ...string) (a, b *netlab.Node, bAddr netip.Addr) {
	t.Helper()
	lab := netlab.New(t, bin)
	a, b = lab.Node("a"), lab.Node("b")
	l := lab.Link(a, b).Subnet("10.1.0.0/24", "fd01::/64")
	aAddr, bAddr := l.A.IP4(), l.B.IP4()
	if typ == "udp6" {
		aAddr, bAddr = l.A.IP6(), l.B.IP6()
	}
	hosts := map[string]string{}
	for _, n := range names {
		hosts[n] = bAddr.String()
	}
	a.Hosts(hosts)
	a.StartIRMd()
	b.StartIRMd()
	a.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", typ, "ip", aAddr.String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", typ, "ip", bAddr.String())
	return a, b, bAddr
}

// serveOn registers name in b's layer and binds a server started there.
func serveOn(t *testing.T, b *netlab.Node, name string, srv *netlab.Proc) {
	t.Helper()
	b.MustRun("irm", "name", "register", name, "layer", "wan")
	b.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", name)
}

func pingAcross(t *testing.T, a, b *netlab.Node) {
	t.Helper()
	serveOn(t, b, "pinger", b.Start("oping", "-l"))
	out := a.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "10ms")
	mustContain(t, out, "20 packets transmitted, 20 received, 0% packet loss")
}

// catAcross sends size random bytes from a to b with ocat -q data over
// the layer "wan".
func catAcross(t *testing.T, a, b *netlab.Node, size int) {
	t.Helper()
	catAcrossLayer(t, a, b, size, "wan")
}

// catAcrossLayer sends size random bytes from a to b with ocat -q data,
// the server's name registered in layer.
func catAcrossLayer(t *testing.T, a, b *netlab.Node, size int, layer string) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	src := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	cmd := b.Command("ocat", "-l")
	cmd.Stdout = &got
	srv := b.StartCmd(cmd)
	b.MustRun("irm", "name", "register", "sink", "layer", layer)
	b.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "sink")
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cli := a.Command("ocat", "-n", "sink", "-q", "data")
	cli.Stdin = in
	start := time.Now()
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("ocat -n: %v\n%s", err, out)
	}
	if err := srv.Wait(30 * time.Second); err != nil {
		t.Fatalf("ocat -l: %v\n%s", err, srv.Output())
	}
	el := time.Since(start)
	t.Logf("%d MB in %v: %.0f Mbit/s", size>>20, el.Round(time.Millisecond), float64(size)*8/el.Seconds()/1e6)
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("received %d bytes of %d: not identical", got.Len(), size)
	}
}

func TestE2EUDPLayers(t *testing.T) {
	for _, typ := range []string{"udp4", "udp6"} {
		t.Run(typ, func(t *testing.T) {
			a, b, _ := twoHosts(t, typ, "pinger", "sink")
			pingAcross(t, a, b)
			catAcross(t, a, b, 50<<20)
			mustContain(t, a.MustRun("irm", "ipcp", "list"), "ua", typ, "wan", "bootstrapped")
		})
	}
}

// TestE2EUDPBehindNAT: a client behind a masquerading NAT reaches a server;
// replies go to the address and port the server saw.
func TestE2EUDPBehindNAT(t *testing.T) {
	lab := netlab.New(t, bin)
	c, nat, s := lab.Node("client"), lab.Router("nat"), lab.Node("server")
	inside := lab.Link(c, nat).Subnet("192.168.7.0/24")
	outside := lab.Link(nat, s).Subnet("198.51.100.0/24")
	c.Route("default", inside.B.IP4())
	nat.Masquerade(outside.A)
	c.Hosts(map[string]string{"pinger": outside.B.IP4().String(), "sink": outside.B.IP4().String()})
	c.StartIRMd()
	s.StartIRMd()
	c.MustRun("irm", "ipcp", "bootstrap", "name", "uc", "layer", "wan", "type", "udp4", "ip", "0.0.0.0")
	s.MustRun("irm", "ipcp", "bootstrap", "name", "us", "layer", "wan", "type", "udp4", "ip", outside.B.IP4().String())
	pingAcross(t, c, s)
	catAcross(t, c, s, 20<<20)
}

// TestE2EUDPHostileInput throws random and truncated datagrams at both
// IPCPs while a flow runs: the flow carries on, the drops are counted, and
// irmd stays up.
func TestE2EUDPHostileInput(t *testing.T) {
	a, b, bAddr := twoHosts(t, "udp4", "pinger")
	serveOn(t, b, "pinger", b.Start("oping", "-l"))
	ping := a.Start("oping", "-n", "pinger", "-c", "200", "-i", "10ms")
	err := a.Do(func() error {
		conn, err := net.Dial("udp4", netip.AddrPortFrom(bAddr, 3435).String())
		if err != nil {
			return err
		}
		defer conn.Close()
		junk := make([]byte, 1500)
		for i := 0; i < 5000; i++ {
			rand.Read(junk)
			n := i % len(junk)
			if i%3 == 0 {
				junk[0], junk[1], junk[2], junk[3] = 0, 0, 0, 0 // a management message with garbage
			}
			conn.Write(junk[:n])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ping.Wait(30 * time.Second); err != nil {
		t.Fatalf("oping during the attack: %v\n%s", err, ping.Output())
	}
	mustContain(t, ping.Output(), "200 received, 0% packet loss")
	list := b.MustRun("irm", "ipcp", "list")
	if !strings.Contains(list, "malformed") && !strings.Contains(list, "unknown-eid") {
		t.Fatalf("no drops counted:\n%s", list)
	}
	t.Logf("after the attack:\n%s", list)
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "3", "-i", "10ms"), "0% packet loss") // both irmds alive
}

// TestE2EUDPLinkDown takes the veth down under a running flow: its user
// learns within a few seconds that the flow is down; once the link is back
// a new flow works.
func TestE2EUDPLinkDown(t *testing.T) {
	lab := netlab.New(t, bin)
	a, b := lab.Node("a"), lab.Node("b")
	l := lab.Link(a, b).Subnet("10.1.0.0/24")
	a.Hosts(map[string]string{"pinger": l.B.IP4().String()})
	a.StartIRMd()
	b.StartIRMd()
	a.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", "udp4", "ip", l.A.IP4().String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", "udp4", "ip", l.B.IP4().String())
	serveOn(t, b, "pinger", b.Start("oping", "-l"))
	ping := a.Start("oping", "-n", "pinger", "-c", "100000", "-i", "10ms")
	waitFor(t, 5*time.Second, "replies", func() bool { return strings.Contains(ping.Output(), "seq=5 ") })
	start := time.Now()
	l.A.Down()
	if err := ping.Wait(5 * time.Second); err == nil || err == hostlabStillRunning() {
		t.Fatalf("oping with its link down: %v, want a failure within 5 s\n%s", err, ping.Output())
	}
	t.Logf("flow reported down after %v: %s", time.Since(start).Round(time.Millisecond), lastLine(ping.Output()))
	mustContain(t, ping.Output(), "flow down")
	l.A.Up()
	var out string
	waitFor(t, 10*time.Second, "a new flow after the link came back", func() bool {
		out, _ = a.Run("oping", "-n", "pinger", "-c", "3", "-i", "10ms")
		return strings.Contains(out, "0% packet loss")
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestE2EUDPSlowPing keeps a flow open across several link polls: the
// IPCP's interface watch must not take it down.
func TestE2EUDPSlowPing(t *testing.T) {
	a, b, _ := twoHosts(t, "udp4", "pinger")
	serveOn(t, b, "pinger", b.Start("oping", "-l"))
	out := a.MustRun("oping", "-n", "pinger", "-c", "8", "-i", "100ms")
	mustContain(t, out, "8 packets transmitted, 8 received, 0% packet loss")
}

// TestE2EUDPFromConfig sets up a udp4 layer from irmd.conf, with the
// server's name as a static peer: no hosts file, no DNS.
func TestE2EUDPFromConfig(t *testing.T) {
	lab := netlab.New(t, bin)
	a, b := lab.Node("a"), lab.Node("b")
	l := lab.Link(a, b).Subnet("10.1.0.0/24")
	confA := writeConfig(t, `
[udp4.ua]
bootstrap = "wan"
ip = "`+l.A.IP4().String()+`"
keepalive = 5

[udp4.ua.peers]
pinger = "`+l.B.IP4().String()+`"
`)
	confB := writeConfig(t, `
[name.pinger]
prog = ["`+filepath.Join(bin, "oping")+`"]
args = ["-l"]

[udp4.ub]
bootstrap = "wan"
ip = "`+l.B.IP4().String()+`"
reg = ["pinger"]
`)
	a.StartIRMd("--config", confA)
	b.StartIRMd("--config", confB)
	// The server is started on demand by b's irmd (auto-start from [name.pinger]).
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "5", "-i", "10ms"), "5 packets transmitted, 5 received, 0% packet loss")
}
