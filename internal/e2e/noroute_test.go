package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestE2EUnicastNoRouteFailsFast: A - B - C, a server on C. Once the link
// B - C is down and the layer knows it, an allocation from A to the server
// fails within a couple of seconds with "no route to the member at ADDR",
// where it used to wait out its 30 s and blame the server (issue 11).
func TestE2EUnicastNoRouteFailsFast(t *testing.T) {
	u := newUCLab(t, []hop{{"b", "a"}, {"c", "b"}})
	a, b, c := u.nodes["a"], u.nodes["b"], u.nodes["c"]
	serveUC(t, c, "pinger", c.Start("oping", "-l"))
	pingUntil(t, a, "pinger", 1, 15*time.Second)
	addrC := ipcpRow(t, c, "ucC")["ADDRESS"]

	u.link("b", "c").Loss(100)
	waitFor(t, 10*time.Second, "B to find C dead", func() bool {
		return !strings.Contains(ipcpRow(t, b, "ucB")["NEIGHBOURS"], "ucC")
	})
	// A learns from B's routing update that C is cut off; until then its
	// pings may still go out and be answered "no route" by B, or not at
	// all while B's routes settle. Each try must end in the cause, fast.
	want := "no route to the member at " + addrC + ` for "pinger"`
	deadline := time.Now().Add(15 * time.Second)
	for {
		start := time.Now()
		out, err := a.Run("oping", "-n", "pinger", "-c", "1")
		took := time.Since(start)
		if err != nil && strings.Contains(out, want) {
			t.Logf("failed after %v:\n%s", took.Round(time.Millisecond), out)
			if took > 2*time.Second {
				t.Fatalf("the allocation took %v to fail: want about a second at most", took)
			}
			if !strings.Contains(out, "the layer has no path to the host where pinger is registered") {
				t.Fatalf("no hint about the layer's path:\n%s", out)
			}
			break
		}
		if err == nil {
			t.Fatalf("a ping reached C across a link that loses everything:\n%s", out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 15 s; last try took %v:\n%s", want, took.Round(time.Millisecond), out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// With the routes settled everywhere, the next try fails as fast.
	start := time.Now()
	if out, err := a.Run("oping", "-n", "pinger", "-c", "1"); err == nil || !strings.Contains(out, want) || time.Since(start) > 2*time.Second {
		t.Fatalf("oping after the routes settled: %v after %v:\n%s", err, time.Since(start).Round(time.Millisecond), out)
	}
}

// TestE2EOpingWaitBoundsAllocation: oping -w bounds the allocation as it
// does each reply, end to end: towards a name whose bound process never
// accepts, the allocation ends after WAIT, not after the tools' 30 s.
func TestE2EOpingWaitBoundsAllocation(t *testing.T) {
	u := newUCLab(t, []hop{{"b", "a"}})
	a, b := u.nodes["a"], u.nodes["b"]
	serveUC(t, b, "pinger", b.Start("oping", "-l"))
	pingUntil(t, a, "pinger", 1, 15*time.Second)
	serveUC(t, b, "mute", b.Start("sleep", "600")) // bound, never accepts
	start := time.Now()
	out, err := a.Run("oping", "-n", "mute", "-c", "1", "-w", "1s")
	took := time.Since(start)
	t.Logf("oping -w 1s to a server that never accepts: %v after %v:\n%s", err, took.Round(time.Millisecond), out)
	if err == nil || !strings.Contains(out, "no answer within 1s") {
		t.Fatalf("want a timeout that names the 1 s wait")
	}
	if took > 3*time.Second {
		t.Fatalf("oping -w 1s took %v to give up", took)
	}
}
