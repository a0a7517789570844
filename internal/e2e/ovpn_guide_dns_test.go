package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// guideCommand is a command of a guide's sh block and what its comment
// says it prints.
type guideCommand struct {
	args []string
	want string
}

// guideCommands returns the sh blocks of sec whose first line is a
// "# WHO" comment: WHO, and the block's commands with their comments.
func guideCommands(t *testing.T, sec string) map[string][]guideCommand {
	t.Helper()
	out := map[string][]guideCommand{}
	for _, b := range blocks(sec) {
		if b.lang != "sh" || !strings.HasPrefix(b.text, "# ") {
			continue
		}
		lines := strings.Split(strings.TrimSpace(b.text), "\n")
		who := strings.TrimPrefix(lines[0], "# ")
		for _, l := range lines[1:] {
			cmd, want, _ := strings.Cut(l, "#")
			out[who] = append(out[who], guideCommand{args: strings.Fields(cmd), want: strings.TrimSpace(want)})
		}
	}
	return out
}

// guideBlock returns the text of the first code block of sec whose first
// line starts with first (a "# ..." header).
func guideBlock(t *testing.T, sec, first string) string {
	t.Helper()
	for _, b := range blocks(sec) {
		if strings.HasPrefix(b.text, first) {
			return b.text
		}
	}
	t.Fatalf("the guide has no block starting with %q", first)
	return ""
}

// guideLine returns the line of block that starts with prefix, after
// leading spaces.
func guideLine(t *testing.T, block, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(block, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	t.Fatalf("the guide's block has no line %q...:\n%s", prefix, block)
	return ""
}

// outputLine returns the line of out that starts with prefix after
// leading spaces, "" if none.
func outputLine(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}

// shapeOf is a regexp matching line with every run of digits free: the
// shape of a counter or "12s ago" line.
func shapeOf(line string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.MustCompile(`[0-9]+`).ReplaceAllString(regexp.QuoteMeta(line), `[0-9]+`) + "$")
}

// addToDNS returns conf with the lines of the [dns] table block (its
// "[dns]" line left out) added to conf's [dns] table, as a user merges
// a guide's "add this" block into the file.
func addToDNS(t *testing.T, conf, block string) string {
	t.Helper()
	_, lines, ok := strings.Cut(block, "[dns]\n")
	if !ok || !strings.Contains(conf, "\n[dns]\n") {
		t.Fatalf("no [dns] table to add to:\n%s\n---\n%s", conf, block)
	}
	return strings.Replace(conf, "\n[dns]\n", "\n[dns]\n"+lines, 1)
}

// oneSpaced is s with its fields joined by single spaces.
func oneSpaced(s string) string { return strings.Join(strings.Fields(s), " ") }

// runGuideCommand runs c on n until its output, fields joined by single
// spaces, is what its comment says (within d), and fails if it never is.
func runGuideCommand(t *testing.T, n *netlab.Node, c guideCommand, d time.Duration) {
	t.Helper()
	var out string
	ok := false
	deadline := time.Now().Add(d)
	for !ok && time.Now().Before(deadline) {
		out, _ = n.Run(c.args[0], c.args[1:]...)
		ok = oneSpaced(out) == oneSpaced(c.want)
		if !ok {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !ok {
		t.Errorf("%s: %s prints %q; the guide says %q", n.Name, strings.Join(c.args, " "), strings.TrimSpace(out), c.want)
	}
}

// TestE2EOVPNGuideDNS follows docs/ovpn.md's "Naming hosts: the DNS
// bridge" on top of the "Site to site" walkthrough, with the guide's
// files and commands as they are: gwA's link gets the [dns] section the
// guide shows and answers the guide's dig commands as their comments
// say, and ovpn status shows the bridge as the guide's sample does; a
// dnsmasq on host A with the guide's forwarding lines is refused until
// site A's LAN is in allow as "The bridge for a whole LAN" says, then
// answers through the bridge; gwB publishes host B with the guide's
// [[publish]] block, and host A, whose resolver is the bridge, resolves
// web.site-b.ouro with getent and fetches host B's page with curl, as
// the guide's comments say; the on-demand status sample's lines match,
// with a refusing link (the sample's gw.closed) added on gwB.
func TestE2EOVPNGuideDNS(t *testing.T) {
	needDNSTools(t)
	md := readDoc(t, "ovpn.md")
	site, _, _ := strings.Cut(section(t, md, "## Site to site"), "\n### ")
	files := guideFiles(t, site)
	for _, key := range []string{"gwA /etc/ouroboros/irmd.conf", "gwB /etc/ouroboros/irmd.conf",
		"gwA /etc/ouroboros/ovpn/site.toml", "gwB /etc/ouroboros/ovpn/site.toml"} {
		if files[key] == "" {
			t.Fatalf("the site-to-site guide lacks %q: it shows %v", key, sortedKeys(files))
		}
	}
	dnsSec := section(t, md, "## Naming hosts: the DNS bridge")
	intro, _, _ := strings.Cut(dnsSec, "\n### ")
	lan := section(t, md, "### The bridge for a whole LAN")
	onDemand := section(t, md, "### Names on demand")
	// The certificates' part of publishing is for authenticate = true;
	// the site-to-site guide runs without.
	publish, _, _ := strings.Cut(section(t, md, "### Publishing legacy hosts"), "**Certificates for published names.**")

	dnsBlock := guideBlock(t, intro, "# gwA: added to /etc/ouroboros/ovpn/site.toml")
	publishBlock := guideBlock(t, publish, "# gwB: added to /etc/ouroboros/ovpn/site.toml")
	confA := writeOVPNConf(t, "site", files["gwA /etc/ouroboros/ovpn/site.toml"]+"\n"+dnsBlock)
	confB := writeOVPNConf(t, "site", files["gwB /etc/ouroboros/ovpn/site.toml"]+"\n"+publishBlock)

	s := buildOVPNSites(t)
	s.gwA.confText = files["gwA /etc/ouroboros/irmd.conf"]
	s.gwB.confText = files["gwB /etc/ouroboros/irmd.conf"]
	startCorp(t, s.gwA, s.gwB)
	serveHTTP(t, s.hostB, "the page of host B")
	// Beyond the guide: a link on gwB that refuses gwA, the on-demand
	// status sample's gw.closed.
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "closed", closedB))
	for _, g := range []*ovpnGW{s.gwA, s.gwB} {
		conf := confA
		if g == s.gwB {
			conf = confB
		}
		g.MustRun("ovpn", "check", conf)
		ovpnUp(t, g.Node, conf)
	}
	waitPeerUp(t, s.gwA.Node, "site", "gw.site-b", 30*time.Second)

	hosts := map[string]*netlab.Node{
		`on gwA (a host at site A must first be in allow: see "The bridge for a whole LAN")`: s.gwA.Node,
		"a plain host at site A whose resolver is gwA's bridge (site A's LAN in its allow)":  s.hostA,
	}
	cmds := guideCommands(t, intro)
	for who, cs := range guideCommands(t, publish) {
		cmds[who] = append(cmds[who], cs...)
	}
	for who := range cmds {
		if hosts[who] == nil {
			t.Fatalf("the guide runs commands on %q: the test knows no such host (it knows %v)", who, sortedKeys(hosts))
		}
	}
	var introCmds []guideCommand
	for who, cs := range guideCommands(t, intro) {
		for _, c := range cs {
			runGuideCommand(t, hosts[who], c, 5*time.Second)
			introCmds = append(introCmds, c)
		}
	}
	if len(introCmds) < 2 {
		t.Fatalf("the guide's first example has %d commands; want its A and PTR digs", len(introCmds))
	}
	bridgeTTLAndSOA(t, s.gwA.Node, intro)

	// The status sample: where the bridge listens, for which domain and
	// upstream (the lab's gwA names 127.0.0.1 in resolv.conf, where the
	// guide's commented example names 192.0.2.53), whom it allows, and
	// the counters' line.
	sample := guideBlock(t, intro, "link site: ")
	docUpstream := regexp.MustCompile(`upstream = \["([^"]+)"\]`).FindStringSubmatch(dnsBlock)
	if docUpstream == nil {
		t.Fatalf("the guide's [dns] block shows no upstream example:\n%s", dnsBlock)
	}
	status := s.gwA.MustRun("ovpn", "status", "site")
	t.Logf("gwA's ovpn status:\n%s", status)
	if first, _, _ := strings.Cut(sample, " ("); !strings.HasPrefix(status, first+" (") {
		t.Errorf("ovpn status begins %q; the guide's sample %q", strings.SplitN(status, "\n", 2)[0], first+" (...")
	}
	if got, want := outputLine(status, "interface "), shapeOf(guideLine(t, sample, "interface ")); !want.MatchString(got) {
		t.Errorf("ovpn status shows %q; the guide's sample has the shape %s", got, want)
	}
	bridgeLine := strings.Replace(guideLine(t, sample, "dns bridge on "), docUpstream[1], "127.0.0.1:53", 1)
	if got := outputLine(status, "dns bridge on "); got != bridgeLine {
		t.Errorf("ovpn status shows %q; the guide's sample %q", got, bridgeLine)
	}
	docAllow, _, _ := strings.Cut(guideLine(t, sample, "allow "), "; split DNS: ")
	if got := outputLine(status, "allow "); !strings.HasPrefix(got, docAllow+"; split DNS: ") {
		t.Errorf("ovpn status shows %q; the guide's sample %q", got, docAllow+"; split DNS: ...")
	}
	if got, want := outputLine(status, "queries "), shapeOf(guideLine(t, sample, "queries ")); !want.MatchString(got) {
		t.Errorf("ovpn status shows %q; the guide's sample has the shape %s", got, want)
	}

	// The bridge for a whole LAN: a dnsmasq on host A with the guide's
	// lines forwards the domain to the bridge, which refuses it until
	// site A's LAN is in allow.
	var dnsmasqConf strings.Builder
	for _, l := range strings.Split(guideBlock(t, lan, "# dnsmasq "), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			dnsmasqConf.WriteString(l + "\n")
		}
	}
	if !strings.Contains(dnsmasqConf.String(), "server=/ouro/"+bridgeAddr+"\n") {
		t.Fatalf("the guide's dnsmasq lines do not forward ouro to %s:\n%s", bridgeAddr, dnsmasqConf.String())
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "ouro.conf")
	if err := os.WriteFile(conf, []byte(dnsmasqConf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s.hostA.Start("dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file="+conf,
		"--pid-file="+filepath.Join(dir, "dnsmasq.pid"), "--user=root", "--group=root",
		"--listen-address=127.0.0.1", "--bind-interfaces", "--log-queries=extra", "--log-facility=-")
	viaLAN := func(c guideCommand) guideCommand {
		var args []string
		for _, a := range c.args {
			args = append(args, strings.Replace(a, "@"+bridgeAddr, "@127.0.0.1", 1))
		}
		return guideCommand{args: args, want: c.want}
	}
	var out string
	waitFor(t, 10*time.Second, "host A's dnsmasq passing on the bridge's refusal", func() bool {
		out, _ = s.hostA.Run("dig", "+time=2", "+tries=1", "@127.0.0.1", "gw.site-b.ouro", "A")
		return digStatus(out) == "REFUSED"
	})
	withLAN := addToDNS(t, files["gwA /etc/ouroboros/ovpn/site.toml"]+"\n"+dnsBlock,
		guideBlock(t, lan, "# the gateway's link"))
	if err := os.WriteFile(confA, []byte(withLAN), 0o600); err != nil {
		t.Fatal(err)
	}
	s.gwA.MustRun("ovpn", "reload", "site")
	for _, c := range introCmds {
		runGuideCommand(t, s.hostA, viaLAN(c), 5*time.Second)
	}

	// Publishing legacy hosts: host A asks the bridge itself.
	s.hostA.Etc("resolv.conf", "nameserver "+bridgeAddr+"\n")
	pubCmds := cmds["a plain host at site A whose resolver is gwA's bridge (site A's LAN in its allow)"]
	if len(pubCmds) != 2 || pubCmds[0].args[0] != "getent" || pubCmds[1].args[0] != "curl" {
		t.Fatalf("the guide's published host example: %+v; want getent and curl", pubCmds)
	}
	runGuideCommand(t, s.hostA, pubCmds[0], 20*time.Second)
	page := regexp.MustCompile(`^the page of host ([0-9.]+) at site B$`).FindStringSubmatch(pubCmds[1].want)
	if page == nil || page[1] != s.lanB.A.IP4().String() || !strings.Contains(strings.Join(pubCmds[1].args, " "), ":8080/") {
		t.Fatalf("the guide's curl: %+v; want host B's page (%s, port 8080)", pubCmds[1], s.lanB.A.IP4())
	}
	mustContain(t, s.hostA.MustRun(pubCmds[1].args[0], append([]string{"-sS", "--max-time", "5"}, pubCmds[1].args[1:]...)...), "the page of host B")
	// "adds 10.2.0.1/32 and fd02::1/128 ... to the kernel's routes
	// through the interface"
	mustContain(t, s.gwA.MustRun("ip", "-4", "route", "show", "dev", "ovpn0"), "10.2.0.1 ")
	mustContain(t, s.gwA.MustRun("ip", "-6", "route", "show", "dev", "ovpn0"), "fd02::1 ")

	// Names on demand: the status sample's bridge line is the one above,
	// its table lists the published host through its gateway, and a name
	// that refuses gwA is REFUSED and shown with the reason.
	if out := dig(t, s.hostA, "gw.closed.ouro", "A"); digStatus(out) != "REFUSED" {
		t.Errorf("gw.closed.ouro: status %q; want REFUSED\n%s", digStatus(out), out)
	}
	sample = guideBlock(t, onDemand, "$ ovpn status site")
	status = s.gwA.MustRun("ovpn", "status", "site")
	t.Logf("gwA's ovpn status:\n%s", status)
	if got, want := guideLine(t, sample, "dns bridge on "), guideLine(t, guideBlock(t, intro, "link site: "), "dns bridge on "); got != want {
		t.Errorf("the on-demand status sample's bridge line %q is not the first sample's %q", got, want)
	}
	_, table, _ := strings.Cut(sample, "    ...\n")
	rows := strings.Split(strings.TrimSpace(table), "\n")
	for i := range rows {
		rows[i] = strings.TrimSpace(rows[i])
	}
	if len(rows) < 3 || !strings.HasPrefix(rows[0], "ON DEMAND") || !strings.HasPrefix(rows[len(rows)-1], "refused gw.closed: ") {
		t.Fatalf("the on-demand status sample: want its table and gw.closed's refusal after \"...\":\n%s", sample)
	}
	for _, want := range rows {
		found := false
		for _, l := range strings.Split(status, "\n") {
			found = found || shapeOf(oneSpaced(want)).MatchString(oneSpaced(l))
		}
		if !found {
			t.Errorf("ovpn status shows no line like the guide's sample %q", want)
		}
	}
}

// bridgeTTLAndSOA checks, on n against the bridge, the guide's "Answers
// in the domain carry a N s TTL; NXDOMAIN and empty answers carry the
// domain's SOA".
func bridgeTTLAndSOA(t *testing.T, n *netlab.Node, intro string) {
	t.Helper()
	m := regexp.MustCompile(`Answers in the domain carry a ([0-9]+) s TTL`).FindStringSubmatch(oneSpaced(intro))
	if m == nil {
		t.Fatal("the guide no longer says which TTL answers in the domain carry")
	}
	if f := strings.Fields(dig(t, n, "+noall", "+answer", "gw.site-b.ouro", "A")); len(f) < 2 || f[1] != m[1] {
		t.Errorf("gw.site-b.ouro A: answer %q; the guide says its TTL is %s s", f, m[1])
	}
	for _, q := range [][]string{{"nonexistent.ouro", "A"}, {"gw.site-a.ouro", "MX"}} {
		if out := dig(t, n, append([]string{"+noall", "+authority"}, q...)...); !regexp.MustCompile(`^ouro\.\s+\d+\s+IN\s+SOA\s`).MatchString(out) {
			t.Errorf("%s %s: authority %q; the guide says negative answers carry the domain's SOA", q[0], q[1], out)
		}
	}
}
