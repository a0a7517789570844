package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
	"o7s.dev/ouroboros/internal/netlab"
)

// admitLab is three hosts on one segment, each with a udp4 IPCP in layer
// wan: a, a legitimate client; b, the server, started with irmd.conf's
// [irmd] lines extra; c, the attacker. Names resolve to b.
func admitLab(t *testing.T, extra string) (a, b, c *netlab.Node, bAddr string) {
	lab := netlab.New(t, bin)
	a, b, c = lab.Node("a"), lab.Node("b"), lab.Node("c")
	sw := lab.Switch("sw", a, b, c).Subnet("10.1.0.0/24")
	bAddr = sw.Ends[1].IP4().String()
	for i, n := range []*netlab.Node{a, b, c} {
		n.Hosts(map[string]string{"pinger": bAddr, "echo": bAddr})
		conf := "[udp4.u]\nbootstrap = \"wan\"\nip = \"" + sw.Ends[i].IP4().String() + "\"\n"
		if n == b {
			conf = "[irmd]\n" + extra + "\n" + conf
		}
		n.StartIRMd("--config", writeConfig(t, conf))
	}
	return a, b, c, bAddr
}

// TestE2EOAPFloodOneSource: one host floods the server's UDP port with
// well-formed flow requests for a served name, every one with a fresh id
// and the current time under one reused key, at a rate one core sends,
// answers the shim's cookies as a real requester does (it does not spoof
// its address), and ends each flow it is granted with a valid DEALLOC.
//
// The shim holds the flood first: it challenges requests with cookies
// under load and admits a few a second per source (cookie-challenged,
// rate-limited). What gets through is still more than b's irmd, started
// with kex_rate_per_source = floodKEXRate, runs for one source: irmd
// refuses the rest with the error that names the setting (refused-rate),
// grants at most its rate, and a legitimate client's allocations from
// another host, within that rate, keep succeeding (>= 95%).
//
// irmd's share of the replay cache per source (refused-replay-full) is not
// asserted here: it is 4096 ids in a 35 s window, about 115 requests a
// second sustained, and the shim lets far fewer through from one source,
// so one honest source cannot fill it any more. TestReplayFloodOneSource
// and its neighbours in stack/crypt/oap test the share.
func TestE2EOAPFloodOneSource(t *testing.T) {
	const floodKEXRate, floodFor = 5, 10 * time.Second
	flood := hostlab.BuildAttacker(t, "oapflood")
	a, b, c, bAddr := admitLab(t, fmt.Sprintf("kex_rate_per_source = %d", floodKEXRate))
	serveOn(t, b, "pinger", b.Start("oping", "-l"))
	mustContain(t, a.MustRun("oping", "-n", "pinger", "-c", "1"), "1 packets transmitted, 1 received")

	attack := c.Start(flood, "-to", bAddr+":3435", "-name", "pinger", "-for", floodFor.String(), "-rate", "4000", "-dealloc")
	waitFor(t, 5*time.Second, "b's irmd to refuse the flood", func() bool { return refusedOf(t, b, "u", "rate") > 0 })
	// The client allocates at half irmd's rate per source: the limit is
	// set low for the test, and applies to the client's host too.
	pace := time.NewTicker(2 * time.Second / floodKEXRate)
	defer pace.Stop()
	var ok, tries int
	for deadline := time.Now().Add(floodFor - 2*time.Second); time.Now().Before(deadline) && !attack.Exited(); <-pace.C {
		tries++
		if out, err := a.Run("oping", "-n", "pinger", "-c", "1", "-w", "2s"); err == nil && strings.Contains(out, "1 received") {
			ok++
		} else {
			t.Logf("legitimate allocation %d failed: %v\n%s", tries, err, out)
		}
	}
	if err := attack.Wait(20 * time.Second); err != nil {
		t.Fatalf("oapflood: %v\n%s", err, attack.Output())
	}
	out := attack.Output()
	t.Logf("%d of %d legitimate allocations succeeded during the flood", ok, tries)
	t.Logf("oapflood from c:\n%s", out)
	t.Logf("b: %s", b.MustRun("irm", "ipcp", "list"))
	if tries < 5 {
		t.Fatalf("only %d legitimate allocations were tried during the flood", tries)
	}
	if ok*100 < tries*95 {
		t.Fatalf("%d of %d legitimate allocations succeeded during the flood, want >= 95%%", ok, tries)
	}
	if sent := firstInt(t, out, "sent "); sent < 5000 {
		t.Fatalf("the flood sent only %d requests:\n%s", sent, out)
	}
	// The attack ran as a requester that passes the shim: it answered
	// cookies, was granted some flows and ended them with valid DEALLOCs.
	if n := firstInt(t, out, "cookies: "); n == 0 {
		t.Fatalf("the flood was never challenged with a cookie:\n%s", out)
	}
	granted := firstInt(t, out, "replies: ")
	if granted == 0 || firstInt(t, out, "deallocs: ") != granted {
		t.Fatalf("the flood was granted %d flows and should have ended each:\n%s", granted, out)
	}
	// irmd's own limit: the refusal that names it, and no more grants than
	// its rate allows over the flood and the second of replies after it.
	mustContain(t, out, "asks for more than N key exchanges a second: try again later, or raise kex_rate_per_source")
	if most := floodKEXRate * (int(floodFor/time.Second) + 2); granted > most {
		t.Fatalf("b granted the flood %d flows, want at most %d at kex_rate_per_source = %d", granted, most, floodKEXRate)
	}
	for _, counter := range []string{"cookie-challenged", "rate-limited"} {
		if droppedOf(t, b, "u", counter) == 0 {
			t.Errorf("b's shim did not count %s", counter)
		}
	}
	if n := droppedOf(t, b, "u", "forged-teardown"); n != 0 {
		t.Errorf("b's shim counted %d forged DEALLOCs from the flood's valid ones", n)
	}
}

// TestE2EFlowCapPerSource: a host opens flows to a server's name and
// holds them unused. Past max_flows_per_source its allocations fail with
// the error that names the cap and the setting to raise, the refusals are
// counted in irm ipcp list, and another host's allocations still succeed.
func TestE2EFlowCapPerSource(t *testing.T) {
	hold := hostlab.BuildAttacker(t, "holdflows")
	a, b, c, _ := admitLab(t, "max_flows_per_source = 5")
	serveOn(t, b, "echo", b.Start("oecho", "-l"))

	attack := c.Start(hold, "-name", "echo", "-n", "8")
	waitFor(t, 15*time.Second, "holdflows to allocate", func() bool {
		return strings.Contains(attack.Output(), "holding")
	})
	out := attack.Output()
	t.Logf("holdflows on c:\n%s", out)
	mustContain(t, out, "allocated 5 of 8 flows", `"echo" accepts at most 5 flows from 10.1.0.3 via u`,
		"raise max_flows_per_source in /etc/ouroboros/irmd.conf")
	mustContain(t, a.MustRun("oecho", "-n", "echo", "-m", "still served"), "still served")
	mustContain(t, b.MustRun("irm", "ipcp", "list"), "refused-cap 3")
}

// firstInt returns the number that follows prefix in out.
func firstInt(t *testing.T, out, prefix string) int {
	t.Helper()
	if !strings.Contains(out, prefix) {
		t.Fatalf("no %q in:\n%s", prefix, out)
	}
	return numberAfter(out, prefix)
}

// numberAfter returns the number that follows prefix in s, 0 if none.
func numberAfter(s, prefix string) int {
	i := strings.Index(s, prefix)
	if i < 0 {
		return 0
	}
	n := 0
	for _, r := range s[i+len(prefix):] {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// refusedOf returns the flow requests that came through IPCP name on n
// and that irmd refused for cause, as irm ipcp list shows them.
func refusedOf(t testing.TB, n *netlab.Node, name, cause string) int {
	t.Helper()
	return droppedOf(t, n, name, "refused-"+cause)
}

// droppedOf returns IPCP name's drop counter on n, as irm ipcp list shows
// it.
func droppedOf(t testing.TB, n *netlab.Node, name, counter string) int {
	t.Helper()
	return numberAfter(ipcpRow(t, n, name)["DROPPED"], counter+" ")
}
