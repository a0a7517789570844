package e2e

import (
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// startOVPNForeground starts `ovpn up --foreground CONF` in n, as a
// service manager would, and waits until the link shows peer up.
func startOVPNForeground(t *testing.T, n *netlab.Node, conf, link, peer string) *netlab.Proc {
	t.Helper()
	p := n.Start("ovpn", "up", "--foreground", conf)
	waitFor(t, 30*time.Second, n.Name+": ovpn up --foreground with "+peer+" up", func() bool {
		if p.Exited() {
			t.Fatalf("%s: ovpn up --foreground exited: %v\n%s", n.Name, p.Wait(0), p.Output())
		}
		out, err := n.Run("ovpn", "status", link, "--json")
		return err == nil && len(out) > 0 && ovpnStatus(t, n, link).up(peer)
	})
	return p
}

// TestE2EOVPNResilience: traffic between the sites resumes by itself
// after the underlay is cut for 5 s, after gwB's irmd restarts (ovpn
// survives it) and after gwB's ovpn is killed with SIGKILL and started
// again; each recovery must take at most 30 s and its time is logged.
func TestE2EOVPNResilience(t *testing.T) {
	s := newOVPNSites(t)
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", siteConf("a", "")))
	confB := writeOVPNConf(t, "site", siteConf("b", ""))
	b := startOVPNForeground(t, s.gwB.Node, confB, "site", "gw.site-a")
	waitPing(t, s.hostA, "10.2.0.1", 30*time.Second)
	resumed := func(what string) {
		t.Helper()
		d := waitPing(t, s.hostA, "10.2.0.1", 30*time.Second)
		t.Logf("%s: hostA reaches hostB again %v later", what, d.Round(time.Millisecond))
	}

	s.wan.Down()
	waitFor(t, 10*time.Second, "the cut to stop traffic", func() bool { return !pings(s.hostA, "10.2.0.1") })
	time.Sleep(5 * time.Second) // the outage the test is about, not a wait for a condition
	s.wan.Up()
	resumed("underlay cut for 5 s and restored")

	s.gwB.restartIRMd(t)
	resumed("gwB's irmd restarted")
	if b.Exited() {
		t.Fatalf("gwB's ovpn exited when its irmd restarted: %v\n%s", b.Wait(0), b.Output())
	}

	b.Signal(syscall.SIGKILL)
	if err := b.Wait(5 * time.Second); err == netlab.ErrStillRunning {
		t.Fatal("gwB's ovpn outlived SIGKILL for 5 s")
	}
	start := time.Now()
	startOVPNForeground(t, s.gwB.Node, confB, "site", "gw.site-a")
	resumed("gwB's ovpn killed with SIGKILL and started again")
	t.Logf("from the new ovpn's start to hostB reached: %v", time.Since(start).Round(time.Millisecond))
}
