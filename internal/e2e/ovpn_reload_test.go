package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// flowIDs returns the ids of the flows of irm flow list whose row names
// name.
func flowIDs(list, name string) []string {
	var ids []string
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[2] == name {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// TestE2EOVPNReload: a route added to gwA's [[peer]] takes effect with
// `ovpn reload` (kernel route installed, peer's routes in status) on the
// same flow, which traffic keeps using; a broken file fails the reload,
// naming the file and the key, and changes nothing.
func TestE2EOVPNReload(t *testing.T) {
	s := newOVPNSites(t)
	confA := writeOVPNConf(t, "site", siteConf("a", ""))
	ovpnUp(t, s.gwA.Node, confA)
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "site", siteConf("b", "")))
	waitPing(t, s.hostA, "10.2.0.1", 30*time.Second)
	var before []string
	waitFor(t, 30*time.Second, "one flow between the gateways", func() bool {
		list := s.gwA.MustRun("irm", "flow", "list")
		before = append(flowIDs(list, "gw.site-a"), flowIDs(list, "gw.site-b")...)
		return len(before) == 1
	})

	text := strings.Replace(siteConf("a", ""), `"fd02::/64"]`, `"fd02::/64", "10.3.0.0/24"]`, 1)
	if err := os.WriteFile(confA, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.gwA.MustRun("ovpn", "reload", "site")
	mustContain(t, s.gwA.MustRun("ip", "-4", "route", "show", "dev", "ovpn0"), "10.3.0.0/24")
	if p := ovpnStatus(t, s.gwA.Node, "site").peer("gw.site-b"); p == nil || !strings.Contains(fmt.Sprint(p.Routes), "10.3.0.0/24") {
		t.Fatalf("gw.site-b's routes after the reload: %+v", p)
	}
	list := s.gwA.MustRun("irm", "flow", "list")
	if after := append(flowIDs(list, "gw.site-a"), flowIDs(list, "gw.site-b")...); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("the reload replaced the flow: before %v, after %v:\n%s", before, after, list)
	}
	pingOK(t, s.hostA, "10.2.0.1")

	bad := strings.Replace(text, `mode    = "tun"`, `mode    = "tunn"`, 1)
	if err := os.WriteFile(confA, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := s.gwA.Run("ovpn", "reload", "site")
	if err == nil || !regexp.MustCompile(`site\.toml.*mode|mode.*site\.toml`).MatchString(out) {
		t.Fatalf("ovpn reload of a broken file: %v, want an error naming the file and mode:\n%s", err, out)
	}
	mustContain(t, s.gwA.MustRun("ip", "-4", "route", "show", "dev", "ovpn0"), "10.3.0.0/24")
	pingOK(t, s.hostA, "10.2.0.1")
}
