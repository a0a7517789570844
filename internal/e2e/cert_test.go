package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"o7s.dev/ouroboros/internal/netlab"
)

// TestE2ECertificates sets up certificates with irm cert and irmd.conf
// only: b serves "pinger" with its certificate and requires one from
// clients; a host without a certificate is refused with the reason, one
// with a certificate from the CA gets its pings answered.
func TestE2ECertificates(t *testing.T) {
	dir := t.TempDir()
	irm := filepath.Join(bin, "irm")
	for _, args := range [][]string{
		{"cert", "ca", "name", "corp-ca", "dir", dir},
		{"cert", "issue", "name", "pinger", "ca", filepath.Join(dir, "corp-ca"), "dir", dir},
		{"cert", "issue", "name", "laptop", "ca", filepath.Join(dir, "corp-ca"), "dir", dir},
	} {
		if out, err := exec.Command(irm, args...).CombinedOutput(); err != nil {
			t.Fatalf("irm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	f := func(name string) string { return filepath.Join(dir, name) }

	lab := netlab.New(t, bin)
	a, b, c := lab.Node("a"), lab.Node("b"), lab.Node("c")
	sw := lab.Switch("sw", a, b, c).Subnet("10.1.0.0/24")
	bAddr := sw.Ends[1].IP4().String()
	for i, n := range []*netlab.Node{a, c} {
		n.Hosts(map[string]string{"pinger": bAddr})
		ip := sw.Ends[2*i].IP4().String()
		conf := "[irmd]\nca = [\"" + f("corp-ca.crt") + "\"]\n"
		if n == c {
			conf += "cert = \"" + f("laptop.crt") + "\"\nkey = \"" + f("laptop.key") + "\"\n"
		}
		conf += "\n[udp4.u]\nbootstrap = \"wan\"\nip = \"" + ip + "\"\n"
		n.StartIRMd("--config", writeConfig(t, conf))
	}
	b.StartIRMd("--config", writeConfig(t, `
[irmd]
ca = ["`+f("corp-ca.crt")+`"]

[name.pinger]
prog = ["`+bin+`/oping"]
args = ["-l"]
cert = "`+f("pinger.crt")+`"
key = "`+f("pinger.key")+`"
require_cert = true

[udp4.u]
bootstrap = "wan"
ip = "`+bAddr+`"
reg = ["pinger"]
`))

	out, err := a.Run("oping", "-n", "pinger", "-c", "1", "-w", "2s")
	if err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("a host without a certificate: err %v, output:\n%s", err, out)
	}
	t.Logf("without a certificate:\n%s", strings.TrimSpace(out))
	mustContain(t, c.MustRun("oping", "-n", "pinger", "-c", "3", "-i", "10ms"),
		"3 packets transmitted, 3 received, 0% packet loss")
}
