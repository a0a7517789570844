package ca

import (
	"testing"
	"time"
)

const mbit = 1e6 / 8 // bytes/s

// checkSettled checks what every scenario must show once the flows have
// settled: the link is used, the limits hover near the capacity instead
// of running away (which tail drop would hide in the throughput), the
// loss stays small and no flow's rate collapses.
func checkSettled(t *testing.T, r simResult, capacity float64) {
	t.Helper()
	var rates float64
	for i, f := range r.flows {
		rates += f.meanRate()
		if share := capacity / float64(len(r.flows)); f.minRate < share/10 {
			t.Errorf("flow %d: rate fell to %.1f Mbit/s", i, f.minRate/mbit)
		}
		if f.updates == 0 {
			t.Errorf("flow %d: no congestion feedback: was the bottleneck ever loaded?", i)
		}
	}
	if r.total < 0.85*capacity {
		t.Errorf("throughput %.1f Mbit/s of %.0f", r.total/mbit, capacity/mbit)
	}
	if rates > 1.5*capacity {
		t.Errorf("limits add up to %.1f Mbit/s on average: not reacting to congestion", rates/mbit)
	}
	// Without the decrease the loss is most of the traffic; with it, the
	// additive increase (64 KiB per 16.8 ms slot, 1.9 Gbit/s per second)
	// overshoots a 256-packet queue by a little every cycle.
	if loss := float64(r.lost) / float64(r.sent); loss > 0.15 {
		t.Errorf("%.1f%% of the packets lost at the bottleneck", 100*loss)
	}
}

func TestSenderConvergesOneFlow(t *testing.T) {
	r := runSim(simConfig{capacity: 100 * mbit, access: 1000 * mbit, limit: 256, rtt: 10 * time.Millisecond,
		starts: []time.Duration{0}, dur: 10 * time.Second, window: 5 * time.Second})
	f := r.flows[0]
	t.Logf("throughput %.1f Mbit/s of 100; limit mean %.1f, lowest %.1f Mbit/s; max depth %d; lost %d of %d",
		r.total/mbit, f.meanRate()/mbit, f.minRate/mbit, r.maxDepth, r.lost, r.sent)
	checkSettled(t, r, 100*mbit)
}

func TestSenderTwoFlowsShare(t *testing.T) {
	r := runSim(simConfig{capacity: 100 * mbit, access: 1000 * mbit, limit: 256, rtt: 10 * time.Millisecond,
		starts: []time.Duration{0, 2 * time.Second}, dur: 12 * time.Second, window: 6 * time.Second})
	a, b := r.throughput[0], r.throughput[1]
	t.Logf("flows %.1f and %.1f Mbit/s (total %.1f of 100); limits mean %.1f and %.1f, lowest %.1f and %.1f; max depth %d; lost %d of %d",
		a/mbit, b/mbit, r.total/mbit, r.flows[0].meanRate()/mbit, r.flows[1].meanRate()/mbit,
		r.flows[0].minRate/mbit, r.flows[1].minRate/mbit, r.maxDepth, r.lost, r.sent)
	checkSettled(t, r, 100*mbit)
	if max(a, b) > 2*min(a, b) {
		t.Errorf("unfair share: %.1f vs %.1f Mbit/s", a/mbit, b/mbit)
	}
}

// TestSenderConvergesFastLink: a gigabit bottleneck with a 1 ms round
// trip, where slots shrink to well under a millisecond.
func TestSenderConvergesFastLink(t *testing.T) {
	r := runSim(simConfig{capacity: 1000 * mbit, access: 10000 * mbit, limit: 256, rtt: time.Millisecond,
		starts: []time.Duration{0, 500 * time.Millisecond}, dur: 3 * time.Second, window: 2 * time.Second})
	t.Logf("flows %.0f and %.0f Mbit/s (total %.0f of 1000); max depth %d; lost %d of %d",
		r.throughput[0]/mbit, r.throughput[1]/mbit, r.total/mbit, r.maxDepth, r.lost, r.sent)
	checkSettled(t, r, 1000*mbit)
	if a, b := r.throughput[0], r.throughput[1]; max(a, b) > 2*min(a, b) {
		t.Errorf("unfair share: %.0f vs %.0f Mbit/s", a/mbit, b/mbit)
	}
}
