package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// Intended adjacencies between namespaces (issue 11): B and C, one udp4
// layer "bc" between them, the unicast layer "corp" bootstrapped by B's
// irmd.conf, so that B's irmd can be stopped and started again and come
// back the same.

// bcLab is the two nodes, B's configuration and its irmd.
type bcLab struct {
	b, c  *netlab.Node
	confB string
	irmdB *netlab.Proc
}

// newBCLab starts B's irmd from its configuration (and C's from confC,
// with C's udp4 IPCP as %s) unless told not to.
func newBCLab(t *testing.T, startB bool, confC string) *bcLab {
	t.Helper()
	lab := netlab.New(t, bin)
	l := &bcLab{b: lab.Node("b"), c: lab.Node("c")}
	bc := lab.Link(l.c, l.b).Subnet("10.2.0.0/24")
	l.c.Hosts(map[string]string{"ucB": bc.B.IP4().String()})
	l.b.Hosts(map[string]string{"ucC": bc.A.IP4().String()})
	quietResolver(l.b)
	quietResolver(l.c)
	l.confB = writeConfig(t, `
[udp4.udp0bc]
bootstrap = "bc"
ip = "`+bc.B.IP4().String()+`"
reg = ["ucB"]

[unicast.ucB]
bootstrap = "corp"
autobind = true
`)
	c := writeConfig(t, `
[udp4.udp0bc]
bootstrap = "bc"
ip = "`+bc.A.IP4().String()+`"
reg = ["ucC"]
`+confC)
	if startB {
		l.irmdB = l.b.StartIRMd("--config", l.confB)
	}
	l.c.StartIRMd("--config", c)
	return l
}

// enrolC is C's unicast IPCP, enrolling through ucB (and connecting to
// no one) at start.
const enrolC = `
[unicast.ucC]
enrol = "ucB"
autobind = true
`

// stopB stops B's irmd.
func (l *bcLab) stopB(t *testing.T) {
	t.Helper()
	l.irmdB.Signal(syscall.SIGTERM)
	if err := l.irmdB.Wait(5 * time.Second); err != nil {
		t.Fatalf("B's irmd on SIGTERM: %v", err)
	}
}

// neighbours returns the NEIGHBOURS cell of n's unicast IPCP.
func neighbours(t *testing.T, n *netlab.Node, ipcp string) string {
	t.Helper()
	return ipcpRow(t, n, ipcp)["NEIGHBOURS"]
}

// waitEnrolled waits until C's IPCP is enrolled.
func waitEnrolled(t *testing.T, n *netlab.Node, ipcp string, d time.Duration) {
	t.Helper()
	waitFor(t, d, ipcp+" to enrol", func() bool { return ipcpRow(t, n, ipcp)["STATE"] == "enrolled" })
}

// TestE2EConnectWithNeighbourDown: with B's irmd down, C's connect fails
// fast with the reason and keeps nothing; with persist it is kept, shown
// retrying, and comes up when B's irmd starts again; disconnect removes
// it, up or not.
func TestE2EConnectWithNeighbourDown(t *testing.T) {
	l := newBCLab(t, true, enrolC)
	waitEnrolled(t, l.c, "ucC", 15*time.Second)
	l.stopB(t)

	mustFailFast(t, l.c, "unreachable", "irm", "ipcp", "connect", "name", "ucC", "dst", "ucB")
	mustContain(t, l.c.MustRun("irm", "ipcp", "show", "name", "ucC"), "intent      none")
	if out, err := l.c.Run("irm", "ipcp", "disconnect", "name", "ucC", "dst", "ucB"); err == nil {
		t.Fatalf("disconnect with neither intent nor adjacency succeeded:\n%s", out)
	}

	out := l.c.MustRun("irm", "ipcp", "connect", "name", "ucC", "dst", "ucB", "persist")
	mustContain(t, out, "not up yet: ", "unreachable", "retrying in the background (persist)")
	show := l.c.MustRun("irm", "ipcp", "show", "name", "ucC")
	mustContain(t, show, "ucB dt: retrying", "ucB mgmt: retrying", "failed attempt")
	if !strings.Contains(show, "next in") && !strings.Contains(show, "trying again now") {
		t.Errorf("irm ipcp show says neither when the next attempt is nor that it is under way:\n%s", show)
	}
	mustContain(t, neighbours(t, l.c, "ucC"), "ucB (dt: retrying, mgmt: retrying)")

	l.irmdB = l.b.StartIRMd("--config", l.confB)
	waitFor(t, 20*time.Second, "the kept intent to come up", func() bool {
		return neighbours(t, l.c, "ucC") == "ucB (dt, mgmt)"
	})
	mustContain(t, l.c.MustRun("irm", "ipcp", "connect", "name", "ucC", "dst", "ucB"), "already connected")
	waitFor(t, 5*time.Second, "B to see C", func() bool { return neighbours(t, l.b, "ucB") == "ucC (dt, mgmt)" })

	l.c.MustRun("irm", "ipcp", "disconnect", "name", "ucC", "dst", "ucB")
	waitFor(t, 5*time.Second, "the adjacency to go", func() bool { return neighbours(t, l.c, "ucC") == "" })
	mustContain(t, l.c.MustRun("irm", "ipcp", "show", "name", "ucC"), "intent      none")
}

// TestE2EConfConnSurvivesNeighbourRestart: C's enrolment towards B's
// host, whose irmd is not up, fails within seconds and is shown retrying;
// the conn of C's irmd.conf is kept when B's irmd stops, shown retrying,
// not reported up by a second connect, and comes back up when B's irmd
// starts again.
func TestE2EConfConnSurvivesNeighbourRestart(t *testing.T) {
	start := time.Now()
	l := newBCLab(t, false, `
[unicast.ucC]
enrol = "ucB"
autobind = true
conn = ["ucB"]
`)
	waitFor(t, 10*time.Second, "C's first enrolment to fail", func() bool {
		return strings.Contains(l.c.MustRun("irm", "ipcp", "show", "name", "ucC"), "enrolment   through ucB: retrying")
	})
	t.Logf("C's first enrolment failed and is retried, %v after its irmd started", time.Since(start).Round(time.Millisecond))
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("the first enrolment took %v to fail, want a few seconds at most", took)
	}
	l.irmdB = l.b.StartIRMd("--config", l.confB)
	waitFor(t, 25*time.Second, "C to enrol and connect", func() bool { return neighbours(t, l.c, "ucC") == "ucB (dt, mgmt)" })

	l.stopB(t)
	waitFor(t, 5*time.Second, "C to see B go", func() bool { return neighbours(t, l.c, "ucC") != "ucB (dt, mgmt)" })
	out, err := l.c.Run("irm", "ipcp", "connect", "name", "ucC", "dst", "ucB")
	if err == nil {
		t.Fatalf("connect reported an adjacency that is down as up:\n%s", out)
	}
	mustContain(t, l.c.MustRun("irm", "ipcp", "show", "name", "ucC"), "intent      ucB dt: ", "intent      ucB mgmt: ")

	l.irmdB = l.b.StartIRMd("--config", l.confB)
	waitFor(t, 20*time.Second, "the conf's intent to come back up", func() bool {
		return neighbours(t, l.c, "ucC") == "ucB (dt, mgmt)"
	})
	waitFor(t, 5*time.Second, "B to see C", func() bool { return neighbours(t, l.b, "ucB") == "ucC (dt, mgmt)" })
}

// TestE2ERestartWhileConnecting restarts B's irmd again and again while
// C's conf intent and B's own connect towards C are being made: in the
// end the two have exactly one adjacency per component, whoever set it up.
func TestE2ERestartWhileConnecting(t *testing.T) {
	l := newBCLab(t, true, `
[unicast.ucC]
enrol = "ucB"
autobind = true
conn = ["ucB"]
`)
	waitFor(t, 15*time.Second, "C to connect", func() bool { return neighbours(t, l.c, "ucC") == "ucB (dt, mgmt)" })
	for i := range 4 {
		l.stopB(t)
		l.irmdB = l.b.StartIRMd("--config", l.confB)
		waitFor(t, 5*time.Second, "B to bootstrap", func() bool { return ipcpRow(t, l.b, "ucB")["STATE"] == "bootstrapped" })
		// B connects towards C as well, as C reconnects: both sides
		// set the adjacency up at about the same time, and B's connect
		// succeeds whichever flow the two keep.
		mustContain(t, l.b.MustRun("irm", "ipcp", "connect", "name", "ucB", "dst", "ucC"), "connected")
		time.Sleep(time.Duration(100+150*i) * time.Millisecond)
	}
	one := func() bool {
		return neighbours(t, l.c, "ucC") == "ucB (dt, mgmt)" && neighbours(t, l.b, "ucB") == "ucC (dt, mgmt)"
	}
	waitFor(t, 20*time.Second, "one adjacency per component on each side", one)
	// And it stays that way: no second pair appears, nothing flaps.
	for range 10 {
		time.Sleep(200 * time.Millisecond)
		if !one() {
			t.Fatalf("C: %q, B: %q", neighbours(t, l.c, "ucC"), neighbours(t, l.b, "ucB"))
		}
	}
	mustContain(t, l.b.MustRun("irm", "ipcp", "connect", "name", "ucB", "dst", "ucC"), "already connected")
}

// TestE2EEnrollWithMemberDown: `irm ipcp enroll` towards a member whose
// irmd is down fails within a few seconds with the reason (not after
// irmd's 20 s), and leaves no IPCP behind.
func TestE2EEnrollWithMemberDown(t *testing.T) {
	l := newBCLab(t, false, "")
	mustFailFast(t, l.c, "ucB", "irm", "ipcp", "enroll", "name", "ucC", "layer", "corp", "dst", "ucB", "autobind")
	if list := l.c.MustRun("irm", "ipcp", "list"); strings.Contains(list, "\nucC ") {
		t.Errorf("the failed enrolment left its IPCP:\n%s", list)
	}
}

// TestE2ESimultaneousConnect: both members connect to each other at the
// same moment, again and again; both connects succeed (the member that
// loses the tie-break takes the other's flow), and each side ends with one
// adjacency per component.
func TestE2ESimultaneousConnect(t *testing.T) {
	l := newBCLab(t, true, enrolC)
	waitEnrolled(t, l.c, "ucC", 15*time.Second)
	for round := range 6 {
		type result struct {
			out string
			err error
		}
		res := make(chan result, 2)
		for _, cmd := range [][]string{{"c", "ucC", "ucB"}, {"b", "ucB", "ucC"}} {
			n := l.c
			if cmd[0] == "b" {
				n = l.b
			}
			go func() {
				out, err := n.Run("irm", "ipcp", "connect", "name", cmd[1], "dst", cmd[2])
				res <- result{out, err}
			}()
		}
		for range 2 {
			if r := <-res; r.err != nil {
				t.Fatalf("round %d: %v\n%s", round, r.err, r.out)
			}
		}
		waitFor(t, 5*time.Second, "one adjacency per component on each side", func() bool {
			return neighbours(t, l.c, "ucC") == "ucB (dt, mgmt)" && neighbours(t, l.b, "ucB") == "ucC (dt, mgmt)"
		})
		l.c.MustRun("irm", "ipcp", "disconnect", "name", "ucC", "dst", "ucB")
		l.b.MustRun("irm", "ipcp", "disconnect", "name", "ucB", "dst", "ucC")
		waitFor(t, 5*time.Second, "the adjacencies to go", func() bool {
			return neighbours(t, l.c, "ucC") == "" && neighbours(t, l.b, "ucB") == ""
		})
	}
}

// mustFailFast runs a command on n that must fail within 8 s (irmd's
// bound on a first attempt is 4 s), saying want.
func mustFailFast(t *testing.T, n *netlab.Node, want, name string, args ...string) {
	t.Helper()
	start := time.Now()
	out, err := n.Run(name, args...)
	took := time.Since(start)
	t.Logf("%v after %v: %s", err, took.Round(time.Millisecond), out)
	if err == nil {
		t.Fatalf("%s %v succeeded with its peer's irmd down:\n%s", name, args, out)
	}
	mustContain(t, out, want)
	if took > 8*time.Second {
		t.Errorf("%s %v took %v to fail, want under 8 s", name, args, took)
	}
}
