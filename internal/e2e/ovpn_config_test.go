package e2e

import (
	"strings"
	"testing"

	"o7s.dev/ouroboros/internal/netlab"
)

// TestE2EOVPNBadConfigs: every key of a valid site configuration made
// wrong in turn: `ovpn check` and `ovpn up` both exit non-zero with a
// message naming the file and the key, and `up` leaves no interface and
// no name registration behind. The valid file itself passes check.
func TestE2EOVPNBadConfigs(t *testing.T) {
	lab := netlab.New(t, bin)
	gw := newGW(lab, "gw", "uc")
	gw.ip = lab.Link(gw.Node, lab.Node("peer")).Subnet("198.51.100.0/24").A.IP4()
	startCorp(t, gw)

	good := siteConf("a", "")
	mustContain(t, gw.MustRun("ovpn", "check", writeOVPNConf(t, "site", good)), "gw.site-a", "ovpn0")
	cases := []struct{ old, new, key string }{
		{`name  = "gw.site-a"`, `name  = ""`, "name"},
		{`name  = "gw.site-a"`, ``, "name"},
		{`layer = "corp"`, `layer = ""`, "layer"},
		{`authenticate = false`, `authenticate = "maybe"`, "authenticate"},
		{`authenticate = false`, `authenticate = false` + "\ncolour = \"blue\"", "colour"},
		{`device  = "ovpn0"`, `device  = "an-interface-name-far-too-long"`, "device"},
		{`mode    = "tun"`, `mode    = "tunn"`, "mode"},
		{`"10.77.0.1/24"`, `"10.77.0.1/33"`, "address"},
		{`"fd77::1/64"`, `"fd77::1"`, "address"},
		{`mode    = "tun"`, "mode    = \"tun\"\nmtu     = 100", "mtu"},
		{`name   = "gw.site-b"`, `name   = ""`, "name"},
		{`"10.2.0.0/24"`, `"10.2.0.0/33"`, "routes"},
		{`routes = [`, "fingerprint = \"not-a-fingerprint\"\nroutes = [", "fingerprint"},
		{`routes = [`, "port = 7\nroutes = [", "port"},
	}
	accept := "\n[accept]\nnames = [\"laptop.*\"]\npool = \"10.77.0.128/25\"\n"
	tail := []struct{ old, new, key string }{
		{`names = ["laptop.*"]`, `names = ["laptop.["]`, "names"},
		{`pool = "10.77.0.128/25"`, `pool = "10.77.0.128/33"`, "pool"},
	}
	for _, c := range tail {
		cases = append(cases, struct{ old, new, key string }{"", strings.Replace(accept, c.old, c.new, 1), c.key})
	}
	for _, c := range cases {
		text := good + c.new
		if c.old != "" {
			if !strings.Contains(good, c.old) {
				t.Fatalf("the case %q does not match the configuration", c.old)
			}
			text = strings.Replace(good, c.old, c.new, 1)
		}
		conf := writeOVPNConf(t, "site", text)
		for _, cmd := range []string{"check", "up"} {
			out, err := gw.Run("ovpn", cmd, conf)
			if err == nil {
				t.Errorf("ovpn %s accepted %s wrong (%q):\n%s", cmd, c.key, c.new, out)
				continue
			}
			if !strings.Contains(out, conf) || !strings.Contains(out, c.key) {
				t.Errorf("ovpn %s with %s wrong (%q): the message names not both the file and the key:\n%s", cmd, c.key, c.new, out)
			}
		}
		if out, err := gw.Run("ip", "link", "show", "dev", "ovpn0"); err == nil {
			t.Fatalf("a failed ovpn up left ovpn0 behind (%s wrong):\n%s", c.key, out)
		}
		if out := gw.MustRun("irm", "name", "list"); strings.Contains(out, "gw.site-a") {
			t.Fatalf("a failed ovpn up left gw.site-a registered (%s wrong):\n%s", c.key, out)
		}
	}
}
