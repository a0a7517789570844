package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2EUnicastMemberRestart: A - B - C in one unicast layer, a server on
// C. C's irmd is killed and started again; C enrols anew (and so gets a
// new address), connects and registers the server's name again. From A,
// allocations to the name succeed within 5 s of the name's return, and
// every one after that succeeds, and none sends a request towards C's
// former address (A would count it no-route): neither A's directory nor
// the holders hand it out once it left the routing graph (issue 12).
// ls_t_dead is 10 s, so that B cannot have noticed C's death by silence:
// it must see the new C's enrolment as the end of the old one.
func TestE2EUnicastMemberRestart(t *testing.T) {
	u := newUCLab(t, []hop{{"b", "a"}, {"c", "b"}}, "ls_t_dead", "10000")
	a, c := u.nodes["a"], u.nodes["c"]
	serveUC(t, c, "pinger", c.Start("oping", "-l"))
	pingUntil(t, a, "pinger", 1, 15*time.Second)
	before := ipcpRow(t, c, "ucC")["ADDRESS"]

	u.irmd["c"].Signal(syscall.SIGKILL)
	_ = u.irmd["c"].Wait(5 * time.Second)
	c.StartIRMd()
	l := u.links[linkLayer("b", "c")]
	c.MustRun("irm", "ipcp", "bootstrap", "name", u.udpName("c", "bc"), "layer", "bc", "type", "udp4", "ip", l.A.IP4().String())
	c.MustRun("irm", "ipcp", "enroll", "name", "ucC", "layer", ucLayer, "dst", "ucB", "autobind")
	c.MustRun("irm", "ipcp", "connect", "name", "ucC", "dst", "ucB")
	serveUC(t, c, "pinger", c.Start("oping", "-l"))
	back := time.Now()
	noRoute := func() int { return dropped(ipcpRow(t, a, "ucA")["DROPPED"], "no-route") }
	noRouteBefore := noRoute()
	after := ipcpRow(t, c, "ucC")["ADDRESS"]
	t.Logf("C was at %s, is now at %s", before, after)

	// Allocations, one after another, for 5 s after the name's return
	// and 20 more: the first success within 5 s, none failing after it.
	var first, slowest time.Duration
	fails, tries := 0, 0
	for tries < 20 || first == 0 {
		start := time.Now()
		out, err := a.Run("oping", "-n", "pinger", "-c", "1", "-w", "2s")
		took := time.Since(start)
		if first != 0 {
			slowest = max(slowest, took)
		}
		switch {
		case err == nil && first == 0:
			first = time.Since(back)
			t.Logf("first allocation to the restarted server succeeded %v after its return", first.Round(time.Millisecond))
		case err == nil:
			tries++
		case first != 0:
			tries++
			fails++
			t.Errorf("allocation %d after the first success failed after %v:\n%s", tries, took.Round(time.Millisecond), out)
		case time.Since(back) > 5*time.Second:
			t.Fatalf("no allocation to the restarted server within 5 s of its return; the last took %v:\n%s", took.Round(time.Millisecond), out)
		default:
			if !strings.Contains(out, "pinger") {
				t.Logf("try failed: %s", out)
			}
		}
	}
	t.Logf("%d of %d allocations failed after the first success; the slowest took %v", fails, tries, slowest.Round(time.Millisecond))
	// An allocation that picked the old address first sent its request
	// into the layer, which had no route for it: A counts it. None may.
	if n := noRoute() - noRouteBefore; n > 0 {
		t.Errorf("A dropped %d packets for want of a route while allocating: requests went to C's old address", n)
	}
}
