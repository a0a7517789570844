package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// ovpnCerts makes, with irm cert, a CA "corp-ca" and a name certificate
// for each name, in a fresh directory it returns.
func ovpnCerts(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	irm := filepath.Join(bin, "irm")
	cmds := [][]string{{"cert", "ca", "name", "corp-ca", "dir", dir}}
	for _, n := range names {
		cmds = append(cmds, []string{"cert", "issue", "name", n, "ca", filepath.Join(dir, "corp-ca"), "dir", dir})
	}
	for _, args := range cmds {
		if out, err := exec.Command(irm, args...).CombinedOutput(); err != nil {
			t.Fatalf("irm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir
}

// irmdCA is irmd.conf's [irmd] table trusting the CA in dir.
func irmdCA(dir string) string {
	return "[irmd]\nca = [\"" + filepath.Join(dir, "corp-ca.crt") + "\"]\n"
}

// nameCert is irmd.conf's table giving name the certificate file (in
// dir) of certName, which AllocFrom presents and accepts present.
func nameCert(dir, name, certName string) string {
	f := filepath.Join(dir, certName)
	return "\n[name.\"" + name + "\"]\ncert = \"" + f + ".crt\"\nkey = \"" + f + ".key\"\n"
}

// hostCert is irmd.conf's [irmd] cert and key: the certificate (in dir)
// of certName, which the host presents for names without one of their own.
func hostCert(dir, certName string) string {
	f := filepath.Join(dir, certName)
	return "cert = \"" + f + ".crt\"\nkey = \"" + f + ".key\"\n"
}

// waitLog waits until a link's log holds every one of subs.
func waitLog(t *testing.T, n *netlab.Node, link string, subs ...string) {
	t.Helper()
	waitFor(t, 30*time.Second, n.Name+"'s ovpn log to say "+strings.Join(subs, " ... "), func() bool {
		log := ovpnLog(n, link)
		for _, s := range subs {
			if !strings.Contains(log, s) {
				return false
			}
		}
		return true
	})
}

// TestE2EOVPNAuthCA: with certificates from a CA both hosts trust, the
// office (authenticate on, [accept] names laptop.*) accepts laptop.alice,
// whose certificate names it, and shows it proven. Next to her, in a lab
// each, laptop.bob, with no certificate, and laptop.carol, whose host
// presents alice's certificate (irmd.conf refuses a [name] table with
// another name's certificate, so this is how a stolen one would be
// shown), are refused with the reason in the office's log and their own.
// (A lab each: the office logs one refusal line per interval, so a second
// refused laptop's line could wait for the first's interval to pass.)
func TestE2EOVPNAuthCA(t *testing.T) {
	dir := ovpnCerts(t, "gw.office", "laptop.alice")
	ca := irmdCA(dir)
	for _, c := range []struct {
		name, irmd string
		why        []string // in the office's log
	}{
		{"laptop.bob", ca, []string{"laptop.bob presented no certificate"}},
		{"laptop.carol", ca + hostCert(dir, "laptop.alice"), []string{"claims laptop.carol, but its certificate names laptop.alice"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := newOVPNOffice(t, ca+nameCert(dir, "gw.office", "gw.office"),
				ca+nameCert(dir, "laptop.alice", "laptop.alice"), c.irmd)
			ovpnUp(t, o.office.Node, writeOVPNConf(t, "office", officeConf(t.TempDir(), "", "")))
			alice, other := o.laptops[0], o.laptops[1]
			ovpnUp(t, alice.Node, writeOVPNConf(t, "office", laptopConf("laptop.alice", "", "")))
			grantedAddr(t, alice.Node, "office")
			waitPing(t, alice.Node, "10.2.0.1", 10*time.Second)
			if p := ovpnStatus(t, o.office.Node, "office").peer("laptop.alice"); p == nil || !p.Proven {
				t.Fatalf("the office shows laptop.alice as %+v, want it up and proven", p)
			}
			if p := ovpnStatus(t, alice.Node, "office").peer("gw.office"); p == nil || !p.Proven {
				t.Fatalf("laptop.alice shows gw.office as %+v, want it up and proven", p)
			}

			ovpnUp(t, other.Node, writeOVPNConf(t, "office", laptopConf(c.name, "", "")))
			waitLog(t, o.office.Node, "office", c.why...)
			waitLog(t, other.Node, "office", append([]string{"refused by gw.office"}, c.why...)...)
			if st := ovpnStatus(t, o.office.Node, "office"); st.up(c.name) {
				t.Fatalf("the office admitted %s: %+v", c.name, st.peer(c.name))
			}
			if pings(other.Node, "10.2.0.1") {
				t.Fatalf("%s reaches the office LAN", c.name)
			}
			pingOK(t, alice.Node, "10.2.0.1")
		})
	}
}

// TestE2EOVPNAuthPinned: without any CA, each gateway pins the other's
// certificate fingerprint (as `irm cert show` prints it) in its [[peer]]
// entry: the link comes up with both ends shown proven and carries
// traffic.
func TestE2EOVPNAuthPinned(t *testing.T) {
	dir := ovpnCerts(t, "gw.site-a", "gw.site-b")
	s := buildOVPNSites(t)
	s.gwA.cert = nameCert(dir, "gw.site-a", "gw.site-a")
	s.gwB.cert = nameCert(dir, "gw.site-b", "gw.site-b")
	startCorp(t, s.gwA, s.gwB)
	for _, c := range []struct {
		gw          *ovpnGW
		site, other string
	}{{s.gwA, "a", "gw.site-b"}, {s.gwB, "b", "gw.site-a"}} {
		text := strings.Replace(siteConf(c.site, ""), "authenticate = false\n", "", 1) +
			"fingerprint = \"" + fingerprint(t, filepath.Join(dir, c.other+".crt")) + "\"\n"
		ovpnUp(t, c.gw.Node, writeOVPNConf(t, "site", text))
	}
	waitPing(t, s.hostA, "10.2.0.1", 30*time.Second)
	for _, c := range []struct {
		gw   *ovpnGW
		peer string
	}{{s.gwA, "gw.site-b"}, {s.gwB, "gw.site-a"}} {
		if p := ovpnStatus(t, c.gw.Node, "site").peer(c.peer); p == nil || !p.Proven {
			t.Fatalf("%s shows %s as %+v, want it up and proven by its pin", c.gw.Name, c.peer, p)
		}
	}
}

// TestE2EOVPNAuthPinnedLaptop: without any CA, the office pins laptop.alice
// in a [[peer]] entry (so both ends dial) and the laptop pins the office;
// the laptop gets its address from the pool whichever flow survives the
// tie-break, reaches the office LAN, and both show the other proven.
func TestE2EOVPNAuthPinnedLaptop(t *testing.T) {
	dir := ovpnCerts(t, "gw.office", "laptop.alice")
	o := newOVPNOffice(t, nameCert(dir, "gw.office", "gw.office"), nameCert(dir, "laptop.alice", "laptop.alice"))
	pinAlice := "\n[[peer]]\nname = \"laptop.alice\"\nfingerprint = \"" + fingerprint(t, filepath.Join(dir, "laptop.alice.crt")) + "\"\n"
	pinOffice := "fingerprint = \"" + fingerprint(t, filepath.Join(dir, "gw.office.crt")) + "\"\n"
	ovpnUp(t, o.office.Node, writeOVPNConf(t, "office", officeConf(t.TempDir(), "", pinAlice)))
	alice := o.laptops[0]
	ovpnUp(t, alice.Node, writeOVPNConf(t, "office", laptopConf("laptop.alice", "", pinOffice)))
	grantedAddr(t, alice.Node, "office")
	waitPing(t, alice.Node, "10.2.0.1", 10*time.Second)
	if p := ovpnStatus(t, o.office.Node, "office").peer("laptop.alice"); p == nil || !p.Proven {
		t.Fatalf("the office shows laptop.alice as %+v, want it up and proven by its pin", p)
	}
	if p := ovpnStatus(t, alice.Node, "office").peer("gw.office"); p == nil || !p.Proven {
		t.Fatalf("laptop.alice shows gw.office as %+v, want it up and proven by its pin", p)
	}
}
