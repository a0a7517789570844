package e2e

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

var rttLine = regexp.MustCompile(`rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms`)

// BenchmarkE2EOpingFlood runs the real tools: oping -f against oping -l
// through a real irmd, and reports oping's own average RTT.
func BenchmarkE2EOpingFlood(b *testing.B) {
	h := hostlab.New(b, bin)
	h.StartIRMd()
	h.MustRun("irm", "ipcp", "bootstrap", "name", "lo", "layer", "local", "type", "local")
	h.MustRun("irm", "name", "register", "pinger", "layer", "local")
	srv := h.Start("oping", "-l")
	h.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "pinger")
	count := 20000
	start := time.Now()
	out := h.MustRun("oping", "-n", "pinger", "-c", strconv.Itoa(count), "-f", "-Q")
	elapsed := time.Since(start)
	m := rttLine.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no rtt line in:\n%s", out)
	}
	avg, _ := strconv.ParseFloat(m[2], 64)
	b.ReportMetric(avg*1000, "µs/rtt")
	b.ReportMetric(float64(count)/elapsed.Seconds(), "pings/s")
}

// BenchmarkE2EAllocation times whole oping runs of one ping each: process
// start, attach, allocation, one round trip, deallocation.
func BenchmarkE2EAllocation(b *testing.B) {
	h := hostlab.New(b, bin)
	h.StartIRMd()
	h.MustRun("irm", "ipcp", "bootstrap", "name", "lo", "layer", "local", "type", "local")
	h.MustRun("irm", "name", "register", "pinger", "layer", "local")
	srv := h.Start("oping", "-l")
	h.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "pinger")
	for b.Loop() {
		h.MustRun("oping", "-n", "pinger", "-c", "1", "-Q")
	}
}
