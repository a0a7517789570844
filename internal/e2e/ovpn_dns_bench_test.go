package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/internal/benchres"
	"o7s.dev/ouroboros/internal/netlab"
)

// BenchmarkE2EDNS measures the DNS bridge in ovpn, in the benchmark lab of
// BenchmarkE2EOvpn (nodes a and b over one veth, layer corp): a's link
// "bench" has bench.b as a [[peer]] and runs the bridge; b runs a second
// link, "od" (bench.od, device ovpn1), that accepts bench.a but that a
// does not dial: a name a's bridge reaches only on demand. dnsmasq on b is
// the bridge's upstream. A client in a (a UDP socket to the bridge)
// measures, in one run:
//   - the latency of a connected name (bench.b.ouro, a peer that is up);
//   - the latency of an on-demand name (bench.od.ouro: the flow is
//     allocated, the hellos exchanged, and the answer given), once per
//     round, each after the bridge closed the flow as idle ([dns] idle =
//     "1s");
//   - queries a second for the connected name, from several sockets;
//   - the forwarder: a name outside the domain that the bridge has cached,
//     and new names each time (uncached: a round trip to dnsmasq).
//
// It writes the results as JSON to $DNS_BENCH_JSON (make bench:
// bench/dns.json), or to a file in the temporary directory.
func BenchmarkE2EDNS(b *testing.B) {
	needDNSTools(b)
	if _, err := os.Stat(filepath.Join(bin, "ovpn")); err != nil {
		b.Fatalf("no ovpn in %s (make build): %v", bin, err)
	}
	l := newOvpnBenchLab(b)
	up := l.veth.B.IP4()
	startUpstream(b, l.b, up, "--local-ttl=300")
	dnsBenchUp(b, l, up)
	var r dnsBenchResult
	for b.Loop() {
		r = dnsBenchMeasure(b, l)
	}
	b.ReportMetric(r.Connected.Median, "connected-us")
	b.ReportMetric(r.OnDemand.Median, "ondemand-us")
	b.ReportMetric(r.ConnectedQPS, "connected-q/s")
	b.ReportMetric(r.Cached.Median, "cached-us")
	b.ReportMetric(r.Uncached.Median, "uncached-us")
	for _, m := range []struct {
		name string
		s    dnsBenchLatency
	}{{"connected name", r.Connected}, {"on-demand name (allocation included)", r.OnDemand},
		{"upstream, cached", r.Cached}, {"upstream, uncached", r.Uncached}} {
		b.Logf("%-38s median %8.0f µs  p90 %8.0f µs  (%d queries)", m.name, m.s.Median, m.s.P90, m.s.Count)
	}
	b.Logf("connected name: %.0f queries/s from %d sockets", r.ConnectedQPS, dnsBenchSockets)
	path := os.Getenv("DNS_BENCH_JSON")
	if path == "" {
		path = filepath.Join(os.TempDir(), "dns-bench.json")
	}
	if err := benchres.WriteJSON(path, r); err != nil {
		b.Fatal(err)
	}
	b.Logf("results in %s", path)
}

// Sizes of the measurements.
const (
	dnsBenchQueries  = 300 // sequential queries per latency series
	dnsBenchOnDemand = 5   // on-demand resolutions, each after an idle close
	dnsBenchSockets  = 4   // clients sending at once for queries/s
	dnsBenchQPSTime  = 2 * time.Second
)

// dnsBenchUp brings up a's link with the bridge (upstream: dnsmasq at up)
// and b's two links, and waits until a's bridge answers bench.b.ouro.
func dnsBenchUp(b *testing.B, l *ovpnBenchLab, up netip.Addr) {
	b.Helper()
	confA := fmt.Sprintf(`name = "bench.a"
layer = "corp"
authenticate = false

[interface]
device = %q
address = ["10.77.0.1/24"]

[[peer]]
name = "bench.b"

[dns]
upstream = ["%s:53"]
rate = 100000
idle = "1s"
`, ovpnBenchDev, up)
	confB := `name = "bench.b"
layer = "corp"
authenticate = false

[interface]
device = "` + ovpnBenchDev + `"
address = ["10.77.0.2/24"]

[[peer]]
name = "bench.a"
`
	confOD := `name = "bench.od"
layer = "corp"
authenticate = false

[interface]
device = "ovpn1"
address = ["10.77.0.3/24"]

[accept]
names = ["bench.a"]
`
	dir := b.TempDir()
	for _, c := range []struct {
		n          *netlab.Node
		link, text string
	}{{l.a, ovpnBenchLink, confA}, {l.b, ovpnBenchLink, confB}, {l.b, "od", confOD}} {
		// The link is named by the file's base name: a directory each.
		sub := filepath.Join(dir, c.n.Name+"-"+c.link)
		if err := os.MkdirAll(sub, 0o700); err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(sub, c.link+".toml")
		if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
			b.Fatal(err)
		}
		if out, err := c.n.Run("ovpn", "up", path); err != nil {
			b.Fatalf("%s: ovpn up %s: %v\n%s", c.n.Name, c.link, err, out)
		}
		n, link := c.n, c.link
		b.Cleanup(func() {
			if b.Failed() {
				b.Logf("%s's ovpn log of %s:\n%s", n.Name, link, ovpnLog(n, link))
			}
			n.Run("ovpn", "down", link)
		})
	}
	waitFor(b, 30*time.Second, "a's bridge answering bench.b.ouro", func() bool {
		out, _ := l.a.Run("dig", "+time=1", "+tries=1", "+short", "@10.77.0.1", "bench.b.ouro", "A")
		return strings.TrimSpace(out) == "10.77.0.2"
	})
}

// dnsBenchLatency is one latency series, in microseconds.
type dnsBenchLatency struct {
	Count  int     `json:"count"`
	Median float64 `json:"median_us"`
	P90    float64 `json:"p90_us"`
	Max    float64 `json:"max_us"`
}

// dnsBenchResult is what the benchmark writes as JSON.
type dnsBenchResult struct {
	Time         time.Time       `json:"time"`
	Connected    dnsBenchLatency `json:"connected_name"`
	OnDemand     dnsBenchLatency `json:"on_demand_name"`
	ConnectedQPS float64         `json:"connected_queries_per_second"`
	QPSSockets   int             `json:"qps_sockets"`
	Cached       dnsBenchLatency `json:"upstream_cached"`
	Uncached     dnsBenchLatency `json:"upstream_uncached"`
}

// dnsBenchMeasure runs every measurement once.
func dnsBenchMeasure(b *testing.B, l *ovpnBenchLab) dnsBenchResult {
	b.Helper()
	conns := dnsBenchConns(b, l.a, dnsBenchSockets)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	c := conns[0]
	r := dnsBenchResult{Time: time.Now().UTC(), QPSSockets: len(conns)}
	r.Connected = dnsBenchSeries(b, c, dnsBenchQueries, func(int) string { return "bench.b.ouro." })
	dnsBenchQuery(b, c, "cached.up.example.", 2*time.Second) // the first goes upstream
	r.Cached = dnsBenchSeries(b, c, dnsBenchQueries, func(int) string { return "cached.up.example." })
	run := time.Now().UnixNano()
	r.Uncached = dnsBenchSeries(b, c, dnsBenchQueries, func(i int) string { return fmt.Sprintf("n%d-%d.up.example.", run, i) })
	r.ConnectedQPS = dnsBenchQPS(b, conns)
	var od []float64
	for range dnsBenchOnDemand {
		waitFor(b, 30*time.Second, "the on-demand flow to bench.od closed as idle", func() bool {
			return !ovpnStatus(b, l.a, ovpnBenchLink).up("bench.od")
		})
		took, ans := dnsBenchQuery(b, c, "bench.od.ouro.", 5*time.Second)
		if !dnsBenchAnswers(ans, "10.77.0.3") {
			b.Fatalf("bench.od.ouro: %v; want 10.77.0.3", ans)
		}
		od = append(od, float64(took.Microseconds()))
	}
	r.OnDemand = dnsBenchStats(od)
	return r
}

// dnsBenchConns opens n UDP sockets in node a to its bridge.
func dnsBenchConns(b *testing.B, a *netlab.Node, n int) []*dns.Conn {
	b.Helper()
	var conns []*dns.Conn
	err := a.Do(func() error {
		for range n {
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.77.0.1:53")))
			if err != nil {
				return err
			}
			conns = append(conns, &dns.Conn{Conn: c})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return conns
}

// dnsBenchQuery asks c for name's A record and returns how long the
// answer took and the answer; the benchmark fails without one in wait.
func dnsBenchQuery(b *testing.B, c *dns.Conn, name string, wait time.Duration) (time.Duration, *dns.Msg) {
	b.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	start := time.Now()
	c.SetDeadline(start.Add(wait))
	if err := c.WriteMsg(q); err != nil {
		b.Fatalf("query %s: %v", name, err)
	}
	for {
		ans, err := c.ReadMsg()
		if err != nil {
			b.Fatalf("query %s: no answer: %v", name, err)
		}
		if ans.Id == q.Id { // a late answer to an earlier query is skipped
			if ans.Rcode != dns.RcodeSuccess || len(ans.Answer) == 0 {
				b.Fatalf("query %s: %s", name, ans)
			}
			return time.Since(start), ans
		}
	}
}

// dnsBenchAnswers says whether ans holds an A record for addr.
func dnsBenchAnswers(ans *dns.Msg, addr string) bool {
	for _, rr := range ans.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.String() == addr {
			return true
		}
	}
	return false
}

// dnsBenchSeries runs n sequential queries (the i-th for name(i)) and
// returns their latency.
func dnsBenchSeries(b *testing.B, c *dns.Conn, n int, name func(int) string) dnsBenchLatency {
	b.Helper()
	us := make([]float64, n)
	for i := range n {
		took, _ := dnsBenchQuery(b, c, name(i), 2*time.Second)
		us[i] = float64(took.Microseconds())
	}
	return dnsBenchStats(us)
}

// dnsBenchStats summarises latencies in microseconds.
func dnsBenchStats(us []float64) dnsBenchLatency {
	s := dnsBenchLatency{Count: len(us), Median: benchres.Median(us)}
	if len(us) > 0 {
		sorted := slices.Sorted(slices.Values(us))
		s.P90, s.Max = sorted[len(sorted)*9/10], sorted[len(sorted)-1]
	}
	return s
}

// dnsBenchQPS sends queries for the connected name from every socket, one
// outstanding on each, for dnsBenchQPSTime and returns answers a second.
func dnsBenchQPS(b *testing.B, conns []*dns.Conn) float64 {
	b.Helper()
	var wg sync.WaitGroup
	counts := make([]int, len(conns))
	errs := make([]error, len(conns))
	start := time.Now()
	end := start.Add(dnsBenchQPSTime)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := new(dns.Msg)
			q.SetQuestion("bench.b.ouro.", dns.TypeA)
			for time.Now().Before(end) {
				q.Id = dns.Id()
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if err := c.WriteMsg(q); err != nil {
					errs[i] = err
					return
				}
				if _, err := c.ReadMsg(); err != nil {
					errs[i] = err
					return
				}
				counts[i]++
			}
		}()
	}
	wg.Wait()
	total := 0
	for i := range conns {
		if errs[i] != nil {
			b.Fatalf("queries/s, socket %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	return float64(total) / time.Since(start).Seconds()
}
