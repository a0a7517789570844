package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

// BenchmarkE2EUnicastRelay measures a relay's forwarding rate: operf (raw
// QoS) from A to C through B over a unicast layer on udp4 links, at 64 and
// 1400 bytes, and in the same run operf from A to B over the udp4 layer
// between them alone, a single direct hop; it reports the relayed packet
// rate as a ratio of the direct one. It does so with the layer's default
// congestion avoidance and without, and with member flows left unsealed
// (encryption off for the members' names), to show what sealing them
// costs a relay.
func BenchmarkE2EUnicastRelay(b *testing.B) {
	for _, cong := range []string{"mb-ecn", "none"} {
		b.Run(cong, func(b *testing.B) { benchRelay(b, cong, "") })
	}
	var plain strings.Builder
	for _, n := range []string{"ucA", "ucB", "ucC", ucLayer} {
		fmt.Fprintf(&plain, "[name.%s]\nencryption = \"off\"\n\n", n)
	}
	b.Run("mb-ecn-unsealed", func(b *testing.B) { benchRelay(b, "mb-ecn", plain.String()) })
}

// benchRelay is BenchmarkE2EUnicastRelay for a layer with congestion
// avoidance cong, its irmds started with conf: mb-ecn paces the sender by
// the relay's ECN marks, none shows what the relay forwards when the
// sender is not held back.
func benchRelay(b *testing.B, cong, conf string) {
	const d = 3 * time.Second
	u := newUCLabConf(b, []hop{{"b", "a"}, {"c", "b"}}, conf, "congestion", cong)
	na, nb, nc := u.nodes["a"], u.nodes["b"], u.nodes["c"]
	// The direct hop: a server on B by B's name in the udp4 layer ab.
	direct := nb.Start("operf", "-l")
	nb.MustRun("irm", "name", "register", "B", "layer", "ab")
	nb.MustRun("irm", "bind", "process", itoa(direct.PID()), "name", "B")
	relay := nc.Start("operf", "-l")
	serveUC(b, nc, "perf", relay)
	serveUC(b, nc, "pinger", nc.Start("oping", "-l"))
	pingUntil(b, na, "pinger", 1, 15*time.Second)
	for _, size := range []int{64, 1400} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			for b.Loop() {
				pps, mbit := operfRaw(b, na, relay, "perf", size, d)
				directPPS, directMbit := operfRaw(b, na, direct, "B", size, d)
				b.ReportMetric(pps, "pkt/s")
				b.ReportMetric(mbit, "Mbit/s")
				b.ReportMetric(directPPS, "direct-pkt/s")
				b.ReportMetric(directMbit, "direct-Mbit/s")
				b.ReportMetric(pps/directPPS, "ratio")
			}
		})
	}
	b.Logf("relay B dropped: %s", ipcpRow(b, nb, "ucB")["DROPPED"])
}

// operfRaw runs operf -q raw from n to the server srv, bound to name, for
// d and returns what the server received: packets/s and Mbit/s. operf ends
// a test with one end marker, which a relay with a full queue drops like
// any raw SDU; the client then gets no report, but the server still says
// what it received when the flow ends, and that over d is the rate.
func operfRaw(b *testing.B, n *netlab.Node, srv *netlab.Proc, name string, size int, d time.Duration) (pps, mbit float64) {
	b.Helper()
	before := len(operfReceived.FindAllString(srv.Output(), -1))
	out, err := n.Run("operf", "-n", name, "-d", fmt.Sprint(d.Seconds()), "-s", strconv.Itoa(size), "-q", "raw")
	if err == nil {
		m := operfReceived.FindStringSubmatch(out)
		if m == nil {
			b.Fatalf("no result in:\n%s", out)
		}
		pps, _ = strconv.ParseFloat(m[3], 64)
		mbit, _ = strconv.ParseFloat(m[2], 64)
		return pps, mbit
	}
	if !strings.Contains(out, "no report from the server") {
		b.Fatalf("%v\n%s", err, out)
	}
	var said [][]string
	waitFor(b, 5*time.Second, "the server to say what it received", func() bool {
		said = operfReceived.FindAllStringSubmatch(srv.Output(), -1)
		return len(said) > before
	})
	packets, _ := strconv.ParseFloat(said[before][1], 64)
	b.Logf("operf to %s: the end marker was lost; the server received %.0f packets", name, packets)
	pps = packets / d.Seconds()
	return pps, pps * float64(size) * 8 / 1e6
}

// BenchmarkE2EUnicastAlloc times flow allocations from A to a server on C
// over a unicast layer, A - B - C on udp4 links, with the flow API: the
// first to a name A has not looked up yet (so with the directory lookup)
// on its own, then allocation and deallocation in a loop. It reports the
// time per allocation in milliseconds and in round trips of the same path,
// as oping measures them. In the same run it allocates on C to the same
// server through C's local layer: everything an allocation does but cross
// the network (both ends' key exchange, the server's accept). What the
// path adds over that, in round trips, is net-rtts: one, the flow request
// and its reply.
func BenchmarkE2EUnicastAlloc(b *testing.B) {
	u := newUCLab(b, []hop{{"b", "a"}, {"c", "b"}})
	na, nc := u.nodes["a"], u.nodes["c"]
	serveUC(b, nc, "echo", nc.Start("oping", "-l"))
	nc.MustRun("irm", "ipcp", "bootstrap", "name", "lo", "layer", "local", "type", "local")
	nc.MustRun("irm", "name", "register", "echo", "layer", "local")
	allocA, allocC := flowAllocator(b, na), flowAllocator(b, nc)
	pingUntil(b, na, "echo", 1, 15*time.Second)
	// A name A has never looked up: its first allocation includes the
	// directory lookup.
	serveUC(b, nc, "echo2", nc.Start("oping", "-l"))
	first := allocA("echo2")
	out := na.MustRun("oping", "-n", "echo", "-c", "50", "-i", "10ms", "-q", "raw")
	m := rttLine.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no rtt line in:\n%s", out)
	}
	rtt, _ := strconv.ParseFloat(m[2], 64)
	var total, local time.Duration
	for b.Loop() {
		total += allocA("echo")
		local += allocC("echo")
	}
	ms := float64(total) / float64(b.N) / float64(time.Millisecond)
	localMS := float64(local) / float64(b.N) / float64(time.Millisecond)
	b.ReportMetric(ms, "ms/alloc")
	b.ReportMetric(float64(first)/float64(time.Millisecond), "first-ms")
	b.ReportMetric(rtt, "rtt-ms")
	b.ReportMetric(ms/rtt, "rtts/alloc")
	b.ReportMetric(localMS, "local-ms")
	b.ReportMetric((ms-localMS)/rtt, "net-rtts")
}

// flowAllocator attaches to n's irmd with the flow API (detached when the
// benchmark ends) and returns a function that allocates a raw flow to
// name, closes it again and returns how long the allocation took.
func flowAllocator(b *testing.B, n *netlab.Node) func(name string) time.Duration {
	b.Helper()
	p, err := flow.Attach(context.Background(), flow.Config{RunDir: n.RunDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return func(name string) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		f, err := p.Alloc(ctx, name, qos.Raw)
		took := time.Since(start)
		if err != nil {
			b.Fatalf("%s: alloc %s: %v", n.Name, name, err)
		}
		f.Close()
		return took
	}
}
