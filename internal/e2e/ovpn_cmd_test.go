package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// cmdLinkConf is the link of TestE2EOVPNCommand: gw.a in a local layer,
// with peers that nobody answers for (they stay "connecting").
func cmdLinkConf(layer, peers string) string {
	return `name = "gw.a"
layer = "` + layer + `"

[interface]
device = "ovpn1"
address = ["10.77.0.1/24", "fd77::1/64"]
` + peers
}

const (
	cmdPeerB = "\n[[peer]]\nname = \"gw.b\"\nroutes = [\"10.2.0.0/24\"]\n"
	cmdPeerC = "\n[[peer]]\nname = \"gw.c\"\nroutes = [\"10.3.0.0/24\", \"fd03::/64\"]\n"
)

// TestE2EOVPNCommand: the ovpn command's own behaviour on one host, with
// a real irmd and a real tun: up in the background with its summary, a
// second up refused, status as a table, reload (by command and by SIGHUP)
// adding and removing a peer with its kernel routes and refusing a change
// that needs a restart, down leaving no interface, route or name, and
// commands on a link that is down failing with a message.
func TestE2EOVPNCommand(t *testing.T) {
	lab := netlab.New(t, bin)
	n := lab.Node("gw")
	n.StartIRMd()
	n.MustRun("irm", "ipcp", "bootstrap", "name", "local.ipcp", "layer", "corp", "type", "local")
	conf := filepath.Join(t.TempDir(), "cmdlink.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cmdLinkConf("corp", cmdPeerB))

	// Without CAP_NET_ADMIN, whether the file is readable or not, up says
	// that (t.TempDir is not open to others: the file goes in a directory
	// that is).
	pub, err := os.MkdirTemp("", "ovpncmd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	os.Chmod(pub, 0o755)
	for _, mode := range []os.FileMode{0o644, 0o600} {
		f := filepath.Join(pub, "cmdlink.toml")
		if err := os.WriteFile(f, []byte(cmdLinkConf("corp", cmdPeerB)), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(f, mode)
		out, err := n.Run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
			filepath.Join(bin, "ovpn"), "up", f)
		if err == nil || !strings.Contains(out, "ovpn needs CAP_NET_ADMIN") {
			t.Fatalf("up as nobody (file mode %v): %v\n%s", mode, err, out)
		}
	}

	mustContain(t, n.MustRun("ovpn", "up", conf),
		"link cmdlink up: ovpn1 (tun) 10.77.0.1/24,fd77::1/64, gw.a in layer corp, 1 peer(s) to dial")
	mustContain(t, n.MustRun("ip", "addr", "show", "dev", "ovpn1"), "10.77.0.1/24", "fd77::1/64", "UP")
	mustContain(t, n.MustRun("ip", "route", "show", "dev", "ovpn1"), "10.2.0.0/24")
	mustContain(t, n.MustRun("irm", "name", "list"), "gw.a")
	out, err := n.Run("ovpn", "up", conf)
	if err == nil || !strings.Contains(out, "link cmdlink is up already") {
		t.Fatalf("a second up: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "gw.b shown connecting with its error", func() bool {
		st := n.MustRun("ovpn", "status")
		return strings.Contains(st, "gw.b:") && strings.Contains(st, "next attempt in")
	})
	mustContain(t, n.MustRun("ovpn", "status"), "link cmdlink: gw.a in layer corp (peers' names proven by certificate)",
		"interface ovpn1 (tun)", "10.77.0.1/24", "gw.b", "connecting", "10.2.0.0/24")

	// reload by command: gw.c added, with its kernel routes.
	write(cmdLinkConf("corp", cmdPeerB+cmdPeerC))
	mustContain(t, n.MustRun("ovpn", "reload", "cmdlink"), "link cmdlink reloaded")
	mustContain(t, n.MustRun("ovpn", "status", "cmdlink"), "gw.c")
	mustContain(t, n.MustRun("ip", "route", "show", "dev", "ovpn1"), "10.2.0.0/24", "10.3.0.0/24")
	mustContain(t, n.MustRun("ip", "-6", "route", "show", "dev", "ovpn1"), "fd03::/64")

	// A change that needs a restart is refused and changes nothing.
	write(cmdLinkConf("other", cmdPeerB))
	out, err = n.Run("ovpn", "reload", "cmdlink")
	if err == nil || !strings.Contains(out, "layer: cannot change live") {
		t.Fatalf("reload of another layer: %v\n%s", err, out)
	}
	mustContain(t, n.MustRun("ip", "route", "show", "dev", "ovpn1"), "10.3.0.0/24")

	// SIGHUP: gw.c removed, its routes with it.
	write(cmdLinkConf("corp", cmdPeerB))
	var st []struct {
		PID   int `json:"pid"`
		Peers []struct {
			Name string `json:"name"`
		} `json:"peers"`
	}
	if err := json.Unmarshal([]byte(n.MustRun("ovpn", "status", "--json")), &st); err != nil || len(st) != 1 || st[0].PID == 0 {
		t.Fatalf("status --json: %v %+v", err, st)
	}
	n.MustRun("kill", "-HUP", strconv.Itoa(st[0].PID))
	waitFor(t, 10*time.Second, "gw.c and its routes gone after SIGHUP", func() bool {
		r := n.MustRun("ip", "route", "show", "dev", "ovpn1")
		return !strings.Contains(n.MustRun("ovpn", "status"), "gw.c") && !strings.Contains(r, "10.3.0.0/24") && strings.Contains(r, "10.2.0.0/24")
	})

	mustContain(t, n.MustRun("ovpn", "down", "cmdlink"), "link cmdlink down")
	if out, err := n.Run("ip", "link", "show", "dev", "ovpn1"); err == nil {
		t.Fatalf("ovpn1 is still there after down:\n%s", out)
	}
	if out := n.MustRun("irm", "name", "list"); strings.Contains(out, "gw.a") {
		t.Fatalf("gw.a is left in irmd after down:\n%s", out)
	}
	mustContain(t, n.MustRun("ovpn", "status"), "no links up")
	for _, args := range [][]string{{"down", "cmdlink"}, {"reload", "cmdlink"}, {"status", "cmdlink"}} {
		out, err := n.Run("ovpn", args...)
		if err == nil || !strings.Contains(out, "link cmdlink is not up") {
			t.Errorf("ovpn %v on a link that is down: %v\n%s", args, err, out)
		}
	}
}
