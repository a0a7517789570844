package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// guideFiles returns the TOML files a guide section shows, keyed by the
// first line's "# HOST: PATH" comment as "HOST PATH".
func guideFiles(t *testing.T, sec string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, b := range blocks(sec) {
		if b.lang != "toml" {
			continue
		}
		first, _, _ := strings.Cut(b.text, "\n")
		host, path, ok := strings.Cut(strings.TrimPrefix(first, "# "), ": ")
		if !ok {
			t.Fatalf("a file without its host and path: %q", first)
		}
		path, _, _ = strings.Cut(path, " ")
		files[host+" "+path] = b.text
	}
	return files
}

// TestE2EOVPNGuideSiteToSite runs docs/ovpn.md's "Site to site" as
// written: the gateways' irmd.conf and site.toml from the guide, checked
// first as it says, then hostA pings hostB over IPv4 and IPv6 through
// the link, and `ovpn down site` leaves nothing behind.
func TestE2EOVPNGuideSiteToSite(t *testing.T) {
	sec := section(t, readDoc(t, "ovpn.md"), "## Site to site")
	sec, _, _ = strings.Cut(sec, "\n### ") // the walkthrough; its variants follow
	files := guideFiles(t, sec)
	s := buildOVPNSites(t)
	gws := map[string]*ovpnGW{"gwA": s.gwA, "gwB": s.gwB}
	for _, name := range []string{"gwA", "gwB"} {
		g := gws[name]
		g.confText = files[name+" /etc/ouroboros/irmd.conf"]
		if g.confText == "" || files[name+" /etc/ouroboros/ovpn/site.toml"] == "" {
			t.Fatalf("the guide lacks %s's irmd.conf or site.toml: it shows %v", name, sortedKeys(files))
		}
		mustContain(t, g.MustRun("irmd", "--config", writeConfig(t, g.confText), "--check"), ": ok")
	}
	startCorp(t, s.gwA, s.gwB)
	for _, name := range []string{"gwA", "gwB"} {
		g := gws[name]
		conf := writeOVPNConf(t, "site", files[name+" /etc/ouroboros/ovpn/site.toml"])
		g.MustRun("ovpn", "check", conf)
		ovpnUp(t, g.Node, conf)
	}
	for _, addr := range []string{"10.2.0.1", "fd02::1"} {
		waitPing(t, s.hostA, addr, 30*time.Second)
		pingOK(t, s.hostA, addr)
	}
	s.gwA.MustRun("ovpn", "down", "site")
	checkNoLeftovers(t, s.gwA.Node, "ovpn0", "gw.site-a", "gw.site-b")
}

// TestE2EOVPNGuideLaptop runs docs/ovpn.md's "Laptop client" as written,
// with the guide's system directories moved into the test's: the
// certificates made with the guide's irm cert commands, the office's and
// the laptop's irmd.conf and office.toml. The laptop gets an address from
// the pool, reaches srv on the office LAN, and both ends show each other
// proven.
func TestE2EOVPNGuideLaptop(t *testing.T) {
	sec := section(t, readDoc(t, "ovpn.md"), "## Laptop client")
	dir := t.TempDir()
	moved := strings.NewReplacer("/etc/ouroboros/", dir+"/etc/", "/var/lib/ouroboros/", dir+"/var/")
	for _, d := range []string{"etc/ca", "etc/certs", "var/ovpn"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	certs := 0
	for _, b := range blocks(sec) {
		for _, l := range strings.Split(b.text, "\n") {
			if !strings.HasPrefix(l, "irm cert ") {
				continue
			}
			args := strings.Fields(moved.Replace(l))[1:]
			if out, err := exec.Command(filepath.Join(bin, "irm"), args...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", l, err, out)
			}
			certs++
		}
	}
	if certs != 3 {
		t.Fatalf("the guide makes %d certificates with irm cert, want a CA and two", certs)
	}
	files := guideFiles(t, sec)
	file := func(key string) string {
		t.Helper()
		if files[key] == "" {
			t.Fatalf("the guide lacks %q: it shows %v", key, sortedKeys(files))
		}
		return moved.Replace(files[key])
	}
	o := buildOVPNOffice(t, 1)
	laptop := o.laptops[0]
	o.office.confText = file("office /etc/ouroboros/irmd.conf")
	laptop.confText = file("laptop /etc/ouroboros/irmd.conf")
	startCorp(t, o.office, laptop)
	ovpnUp(t, o.office.Node, writeOVPNConf(t, "office", file("office /etc/ouroboros/ovpn/office.toml")))
	ovpnUp(t, laptop.Node, writeOVPNConf(t, "office", file("laptop /etc/ouroboros/ovpn/office.toml")))
	a := grantedAddr(t, laptop.Node, "office")
	waitPing(t, laptop.Node, "10.2.0.1", 10*time.Second)
	if p := ovpnStatus(t, o.office.Node, "office").peer("laptop.alice"); p == nil || !p.Proven || !containsAddr(p.Addrs, a.Addr()) {
		t.Fatalf("the office shows laptop.alice as %+v, want it up, proven, with %v", p, a)
	}
	if p := ovpnStatus(t, laptop.Node, "office").peer("gw.office"); p == nil || !p.Proven {
		t.Fatalf("the laptop shows gw.office as %+v, want it up and proven", p)
	}
}
