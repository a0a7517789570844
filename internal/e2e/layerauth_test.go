package e2e

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// irmCert runs irm cert commands in dir, as the walkthrough in docs/irm.md
// does (its relative paths are dir's).
func irmCert(t *testing.T, dir string, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		cmd := exec.Command(filepath.Join(bin, "irm"), strings.Fields(c)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("irm %s: %v\n%s", c, err, out)
		}
	}
}

// TestE2EAuthenticatedLayer follows docs/irm.md's walkthrough: a CA and an
// IPCP certificate per member made with irm cert; A bootstraps layer net
// with its certificate, B enrolls and connects with its own, and pings
// cross the layer. C, an outsider, can neither enroll (without a
// certificate, or with one from a CA of its own) nor connect an IPCP of its
// own to A's: each is refused with the reason, and A's irmd logs it. On
// the wire, member flows are sealed: the layer's header is not in clear.
func TestE2EAuthenticatedLayer(t *testing.T) {
	dir := t.TempDir()
	irmCert(t, dir,
		"cert ca name net.ca dir ca",
		"cert issue name net.a ca ca/net.ca kind ipcp dir certs",
		"cert issue name net.b ca ca/net.ca kind ipcp dir certs",
		"cert ca name rogue.ca dir rogue",
		"cert issue name net.c ca rogue/rogue.ca kind ipcp dir rogue")
	id := func(ca, crt string) []string {
		return []string{"ca", filepath.Join(dir, ca), "cert", filepath.Join(dir, crt+".crt"), "key", filepath.Join(dir, crt+".key")}
	}

	lab := netlab.New(t, bin)
	a, b, c := lab.Node("a"), lab.Node("b"), lab.Node("c")
	sw := lab.Switch("sw", a, b, c).Subnet("10.1.0.0/24")
	aAddr := sw.Ends[0].IP4().String()
	irmds := map[*netlab.Node]*netlab.Proc{}
	for i, n := range []*netlab.Node{a, b, c} {
		if n != a {
			n.Hosts(map[string]string{"net": aAddr, "net.a": aAddr})
		}
		irmds[n] = n.StartIRMd()
		n.MustRun("irm", "ipcp", "bootstrap", "name", "u", "layer", "wan", "type", "udp4", "ip", sw.Ends[i].IP4().String())
	}
	a.MustRun("irm", append([]string{"ipcp", "bootstrap", "name", "net.a", "layer", "net", "type", "unicast", "autobind"},
		id("ca/net.ca.crt", "certs/net.a")...)...)
	for _, n := range []string{"net", "net.a"} {
		a.MustRun("irm", "name", "register", n, "layer", "wan")
	}
	waitFor(t, 2*time.Second, "irmd's log line for the authenticated layer", func() bool {
		return strings.Contains(irmds[a].Output(), "layer admits only members with a certificate from its CA")
	})

	capture := sw.Ends[0].CaptureUDP()
	b.MustRun("irm", append([]string{"ipcp", "enroll", "name", "net.b", "layer", "net", "autobind"},
		id("ca/net.ca.crt", "certs/net.b")...)...)
	b.MustRun("irm", "ipcp", "connect", "name", "net.b", "dst", "net.a")
	a.MustRun("irm", "name", "register", "pinger", "layer", "net")
	a.MustRun("irm", "bind", "process", itoa(a.Start("oping", "-l").PID()), "name", "pinger")
	pingUntil(t, b, "pinger", 1, 15*time.Second)
	mustContain(t, b.MustRun("oping", "-n", "pinger", "-c", "20", "-i", "10ms"),
		"20 packets transmitted, 20 received, 0% packet loss")
	seen, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	checkMemberFlowsSealed(t, seen, ucAddr(t, a, "net.a"), ucAddr(t, b, "net.b"))

	// The outsider.
	for _, try := range []struct {
		what string
		args []string
		want string
	}{
		{"enroll without a certificate", nil, "admits only members with a certificate"},
		{"enroll with another CA's certificate", id("rogue/rogue.ca.crt", "rogue/net.c"), "unknown CA"},
	} {
		out, err := c.Run("irm", append([]string{"ipcp", "enroll", "name", "net.c", "layer", "net"}, try.args...)...)
		if err == nil || !strings.Contains(out, try.want) {
			t.Fatalf("%s: err %v, output:\n%s", try.what, err, out)
		}
		t.Logf("%s: %s", try.what, strings.TrimSpace(out))
	}
	c.MustRun("irm", "ipcp", "bootstrap", "name", "net.c", "layer", "net", "type", "unicast")
	out, err := c.Run("irm", "ipcp", "connect", "name", "net.c", "dst", "net.a")
	if err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("connect from an IPCP of another layer called net: err %v, output:\n%s", err, out)
	}
	t.Logf("connect from outside: %s", strings.TrimSpace(out))
	mustContain(t, irmds[a].Output(), "member flow refused") // logged once per cause per 10 s
	if n := refusedOf(t, a, "u", "crypto"); n < 3 {
		t.Errorf("a's irmd counted %d refused member flows, want 3 or more:\n%s", n, a.MustRun("irm", "ipcp", "list"))
	}
	if nb := ipcpRow(t, a, "net.a")["NEIGHBOURS"]; strings.Contains(nb, "net.c") || !strings.Contains(nb, "net.b") {
		t.Errorf("net.a's neighbours: %s", nb)
	}
	for n, want := range map[*netlab.Node]string{a: "CA net.ca", c: "open"} {
		name := map[*netlab.Node]string{a: "net.a", c: "net.c"}[n]
		if got := ipcpRow(t, n, name)["ADMITS"]; got != want {
			t.Errorf("%s admits %q, want %q", name, got, want)
		}
	}
}

// checkMemberFlowsSealed checks the udp4 data datagrams between the
// members with addresses x and y: each begins, after its endpoint id, with
// a sealed packet's header (epoch 0, and a counter), never with the layer's
// header, whose destination address would be one of the two.
func checkMemberFlowsSealed(t *testing.T, ds []netlab.Datagram, x, y uint32) {
	t.Helper()
	data := 0
	for _, d := range ds {
		p := d.Payload
		if len(p) < dtEnd || binary.BigEndian.Uint32(p) == 0 {
			continue // too short for data, or the udp4 layer's own messages
		}
		data++
		if dst := binary.BigEndian.Uint32(p[dtDst:]); dst == x || dst == y {
			t.Fatalf("a datagram carries the layer's header in clear (destination %#x): %x", dst, p)
		}
		if p[shimEID] != 0 {
			t.Fatalf("a datagram does not begin with a sealed packet's header (epoch %d): %x", p[shimEID], p)
		}
	}
	if data < 40 {
		t.Fatalf("%d data datagrams between the members, want 40 or more", data)
	}
	t.Logf("%d data datagrams between the members, all sealed", data)
}

// TestE2EAuthenticatedLayerConfig sets up an authenticated layer with
// irmd.conf alone, as docs/config.md shows: B enrols in A's layer and
// connects with its certificate, retrying until A is up, and A's pings
// reach B's server. C's certificate, from the same CA, is revoked in A's
// [irmd] revoked by the fingerprint irm cert show prints: C is refused.
func TestE2EAuthenticatedLayerConfig(t *testing.T) {
	dir := t.TempDir()
	irmCert(t, dir,
		"cert ca name office.ca dir ca",
		"cert issue name lan1 ca ca/office.ca kind ipcp dir certs",
		"cert issue name lan2 ca ca/office.ca kind ipcp dir certs",
		"cert issue name lan3 ca ca/office.ca kind ipcp dir certs")
	f := func(rel string) string { return filepath.Join(dir, rel) }
	// lan3's key leaked: A revokes its certificate by fingerprint.
	fp3 := fingerprint(t, f("certs/lan3.crt"))
	lab := netlab.New(t, bin)
	a, b, c := lab.Node("a"), lab.Node("b"), lab.Node("c")
	sw := lab.Switch("sw", a, b, c).Subnet("10.1.0.0/24")
	aAddr := sw.Ends[0].IP4().String()
	for _, n := range []*netlab.Node{b, c} {
		n.Hosts(map[string]string{"lan1": aAddr})
	}
	confA := writeConfig(t, `
[irmd]
revoked = ["`+fp3+`"]

[udp4.u]
bootstrap = "wan"
ip = "`+aAddr+`"
reg = ["lan1"]

[unicast.lan1]
bootstrap = "office"
autobind = true
ca = "`+f("ca/office.ca.crt")+`"
cert = "`+f("certs/lan1.crt")+`"
key = "`+f("certs/lan1.key")+`"
`)
	confB := writeConfig(t, `
[name.pinger]
prog = ["`+bin+`/oping"]
args = ["-l"]

[udp4.u]
bootstrap = "wan"
ip = "`+sw.Ends[1].IP4().String()+`"

[unicast.lan2]
enrol = "lan1"
autobind = true
conn = ["lan1"]
reg = ["pinger"]
ca = "`+f("ca/office.ca.crt")+`"
cert = "`+f("certs/lan2.crt")+`"
key = "`+f("certs/lan2.key")+`"
`)
	for n, conf := range map[*netlab.Node]string{a: confA, b: confB} {
		n.MustRun("irmd", "--config", conf, "--check")
	}
	irmdB := b.StartIRMd("--config", confB)
	irmdA := a.StartIRMd("--config", confA)
	pingUntil(t, a, "pinger", 3, 20*time.Second)
	mustContain(t, ipcpRow(t, a, "lan1")["NEIGHBOURS"], "lan2")
	mustContain(t, irmdA.Output(), "layer admits only members with a certificate from its CA")

	c.StartIRMd()
	c.MustRun("irm", "ipcp", "bootstrap", "name", "u", "layer", "wan", "type", "udp4", "ip", sw.Ends[2].IP4().String())
	out, err := c.Run("irm", "ipcp", "enroll", "name", "lan3", "layer", "office", "dst", "lan1",
		"ca", f("ca/office.ca.crt"), "cert", f("certs/lan3.crt"), "key", f("certs/lan3.key"))
	if err == nil || !strings.Contains(out, "is revoked") {
		t.Fatalf("enrolling with a revoked certificate: err %v, output:\n%s", err, out)
	}
	t.Logf("revoked: %s", strings.TrimSpace(out))

	// Then lan2's: A's file gets its fingerprint too, and a SIGHUP ends
	// lan2's adjacency at once; its reconnections are refused.
	conf, err := os.ReadFile(confA)
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(conf), `"`+fp3+`"`, `"`+fp3+`", "`+fingerprint(t, f("certs/lan2.crt"))+`"`, 1)
	if err := os.WriteFile(confA, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	before := refusedOf(t, a, "u", "crypto")
	irmdA.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "lan2's adjacency to end", func() bool {
		return !strings.Contains(ipcpRow(t, a, "lan1")["NEIGHBOURS"], "lan2")
	})
	mustContain(t, irmdA.Output(), "configuration reloaded", "member flow ended: the peer's certificate is revoked")
	// lan2 keeps trying to connect again (its irmd backs off from 100 ms):
	// A refuses it (counted; logged once per cause per 10 s), and it
	// stays out.
	waitFor(t, 10*time.Second, "a's irmd to refuse lan2's reconnection", func() bool {
		return refusedOf(t, a, "u", "crypto") > before
	})
	if nb := ipcpRow(t, a, "lan1")["NEIGHBOURS"]; strings.Contains(nb, "lan2") {
		t.Errorf("lan2 is a neighbour again after its revocation: %s", nb)
	}
	for _, f := range strings.Split(a.MustRun("irm", "flow", "list"), "\n") {
		if strings.Contains(f, "ipcp lan1") && !strings.Contains(f, "yes") {
			t.Errorf("a member flow is not sealed: %s", f)
		}
	}
	if t.Failed() {
		t.Logf("b's irmd:\n%s", irmdB.Output())
	}
}

// fingerprint returns a certificate's SHA-256 fingerprint as irm cert show
// prints it.
func fingerprint(t *testing.T, file string) string {
	t.Helper()
	show, err := exec.Command(filepath.Join(bin, "irm"), "cert", "show", "file", file).CombinedOutput()
	if err != nil {
		t.Fatalf("irm cert show: %v\n%s", err, show)
	}
	fp := regexp.MustCompile(`fingerprint: SHA-256 (\S+)`).FindSubmatch(show)
	if fp == nil {
		t.Fatalf("no fingerprint in:\n%s", show)
	}
	return string(fp[1])
}
