package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// BenchmarkE2EOvpn measures an ovpn site-to-site link next to the bare
// path it runs over: two namespaces joined by one veth, each with an irmd
// configured by irmd.conf (a udp4 member of layer "wan", a unicast member
// of layer "corp" over it) and ovpn linking them in corp. In the same run
// it measures iperf3 TCP with 1 and 4 streams and ping round trips through
// the tunnel and on the bare veth, alternated (bare, ovpn, bare, ovpn, ...)
// so that load from the rest of the machine falls on both alike, and
// reports the medians and their ratios (ovpn / bare). It writes the
// results as JSON to $OVPN_BENCH_JSON (make bench: bench/ovpn.json), or to
// a file in the temporary directory, and logs the path.
func BenchmarkE2EOvpn(b *testing.B) {
	for _, tool := range []string{"iperf3", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s is not installed (apt-get install -y iperf3 iputils-ping)", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "ovpn")); err != nil {
		b.Fatalf("no ovpn in %s (make build): %v", bin, err)
	}
	l := newOvpnBenchLab(b)
	l.up(b)
	var r ovpnBenchResult
	for b.Loop() {
		r = l.measure(b, ovpnBenchRounds)
	}
	b.ReportMetric(r.TCP1.Ovpn, "tcp1-Mbit/s")
	b.ReportMetric(r.TCP1.Ratio, "tcp1-ratio")
	b.ReportMetric(r.TCP4.Ovpn, "tcp4-Mbit/s")
	b.ReportMetric(r.TCP4.Ratio, "tcp4-ratio")
	b.ReportMetric(r.Ping.Ovpn, "ping-ms")
	b.ReportMetric(r.Ping.Ratio, "ping-ratio")
	for _, m := range []struct {
		name string
		s    ovpnBenchSeries
	}{{"iperf3 TCP, 1 stream (Mbit/s)", r.TCP1}, {"iperf3 TCP, 4 streams (Mbit/s)", r.TCP4}, {"ping RTT (ms)", r.Ping}} {
		b.Logf("%-31s ovpn %9.3f  bare %9.3f  ratio %.3f  (rounds: ovpn %v, bare %v)",
			m.name, m.s.Ovpn, m.s.Bare, m.s.Ratio, m.s.OvpnRounds, m.s.BareRounds)
	}
	b.Logf("MTU: ovpn0 %d, veth %d", r.OvpnMTU, r.VethMTU)
	path := os.Getenv("OVPN_BENCH_JSON")
	if path == "" {
		path = filepath.Join(os.TempDir(), "ovpn-bench.json")
	}
	if err := r.write(path); err != nil {
		b.Fatal(err)
	}
	b.Logf("results in %s", path)
}

// ovpnBenchRounds is how many times each measurement runs on each path.
const ovpnBenchRounds = 3

// ovpnBenchIperfSecs is each iperf3 run's length, after one second left
// out (slow start).
const ovpnBenchIperfSecs = 5

// ovpnBenchLab is the benchmark's lab: nodes a and b on one veth
// (10.1.0.0/24), tunnel addresses 10.77.0.1 (a) and 10.77.0.2 (b).
type ovpnBenchLab struct {
	a, b  *netlab.Node
	veth  *netlab.Link
	confs [2]string // ovpn configurations of a and b
}

const (
	ovpnBenchDev  = "ovpn0"
	ovpnBenchLink = "bench" // the configuration files' base name
)

// newOvpnBenchLab builds the nodes, starts their irmds from irmd.conf (b
// enrols in corp through a and connects to it), and waits until the corp
// layer carries an oping from a to b.
func newOvpnBenchLab(b *testing.B) *ovpnBenchLab {
	b.Helper()
	lab := netlab.New(b, bin)
	l := &ovpnBenchLab{a: lab.Node("a"), b: lab.Node("b")}
	l.veth = lab.Link(l.a, l.b).Subnet("10.1.0.0/24")
	ends := []*netlab.End{l.veth.A, l.veth.B}
	for i, n := range []*netlab.Node{l.a, l.b} {
		self, peer := ends[i], ends[1-i]
		conf := fmt.Sprintf(`
[udp4.wan%[1]s]
bootstrap = "wan"
ip = %[2]q
reg = ["uc%[1]s"]
peers = { uc%[3]s = %[4]q }

[unicast.uc%[1]s]
autobind = true
`, n.Name, self.IP4(), map[string]string{"a": "b", "b": "a"}[n.Name], peer.IP4())
		if i == 0 {
			conf += "bootstrap = \"corp\"\n"
		} else {
			conf += "enrol = \"uca\"\nconn = [\"uca\"]\n"
		}
		n.StartIRMd("--config", writeConfig(b, conf))
		l.confs[i] = ovpnBenchConf(b, i)
	}
	waitFor(b, 30*time.Second, "b's adjacency with a in corp", func() bool {
		return strings.Contains(ipcpRow(b, l.b, "ucb")["NEIGHBOURS"], "uca (dt, mgmt)")
	})
	l.b.MustRun("irm", "name", "register", "bench.echo", "layer", "corp")
	srv := l.b.Start("oping", "-l")
	l.b.MustRun("irm", "bind", "process", itoa(srv.PID()), "name", "bench.echo")
	took := pingUntil(b, l.a, "bench.echo", 1, 30*time.Second)
	b.Logf("layer corp up: a reached b's oping in %v", took.Round(time.Millisecond))
	return l
}

// ovpnBenchConf writes node i's ovpn configuration (0: a, 1: b): both ends
// dial each other (one flow results), names taken as claimed (no
// certificates in this lab).
func ovpnBenchConf(b *testing.B, i int) string {
	b.Helper()
	self, peer := []string{"a", "b"}[i], []string{"b", "a"}[i]
	conf := fmt.Sprintf(`name = "bench.%s"
layer = "corp"
authenticate = false

[interface]
device = %q
mode = "tun"
address = ["10.77.0.%d/24"]

[[peer]]
name = "bench.%s"
`, self, ovpnBenchDev, i+1, peer)
	path := filepath.Join(b.TempDir(), ovpnBenchLink+".toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// up brings ovpn up on both nodes (taken down again when the benchmark
// ends, before the lab goes) and waits until pings cross the tunnel.
func (l *ovpnBenchLab) up(b *testing.B) {
	b.Helper()
	for i, n := range []*netlab.Node{l.a, l.b} {
		out, err := n.Run("ovpn", "up", l.confs[i])
		if err != nil {
			b.Fatalf("%s: ovpn up: %v\n%s", n.Name, err, out)
		}
		b.Cleanup(func() {
			if out, err := n.Run("ovpn", "down", ovpnBenchLink); err != nil {
				b.Logf("%s: ovpn down %s: %v\n%s", n.Name, ovpnBenchLink, err, out)
			}
		})
	}
	start := time.Now()
	waitFor(b, 30*time.Second, "a ping through the tunnel", func() bool {
		_, err := l.a.Run("ping", "-c", "1", "-W", "1", "10.77.0.2")
		return err == nil
	})
	b.Logf("tunnel up: first ping through it after %v", time.Since(start).Round(time.Millisecond))
}

// ovpnBenchSeries is one measurement on both paths: the per-round values,
// their medians and the ratio of the medians (ovpn / bare).
type ovpnBenchSeries struct {
	OvpnRounds []float64 `json:"ovpn_rounds"`
	BareRounds []float64 `json:"bare_rounds"`
	Ovpn       float64   `json:"ovpn"`
	Bare       float64   `json:"bare"`
	Ratio      float64   `json:"ratio"`
}

// ovpnBenchResult is what the benchmark writes as JSON.
type ovpnBenchResult struct {
	Time      time.Time       `json:"time"`
	Rounds    int             `json:"rounds"`
	IperfSecs int             `json:"iperf_seconds"`
	OvpnMTU   int             `json:"ovpn_mtu"`
	VethMTU   int             `json:"veth_mtu"`
	TCP1      ovpnBenchSeries `json:"tcp_1_stream_mbit"`
	TCP4      ovpnBenchSeries `json:"tcp_4_streams_mbit"`
	Ping      ovpnBenchSeries `json:"ping_rtt_ms"` // each round: the median of its pings
}

// measure runs every measurement rounds times on each path, alternating.
func (l *ovpnBenchLab) measure(b *testing.B, rounds int) ovpnBenchResult {
	b.Helper()
	r := ovpnBenchResult{Time: time.Now().UTC(), Rounds: rounds, IperfSecs: ovpnBenchIperfSecs}
	r.OvpnMTU = benchLinkMTU(b, l.a, ovpnBenchDev)
	r.VethMTU = benchLinkMTU(b, l.a, l.veth.A.Name)
	bare, tun := l.veth.B.IP4().String(), "10.77.0.2"
	for range rounds {
		for _, dst := range []string{bare, tun} {
			r.TCP1.add(dst == tun, benchIperfMbit(b, l.a, l.b, dst, 1))
		}
		for _, dst := range []string{bare, tun} {
			r.TCP4.add(dst == tun, benchIperfMbit(b, l.a, l.b, dst, 4))
		}
		for _, dst := range []string{bare, tun} {
			r.Ping.add(dst == tun, benchPingMedianMS(b, l.a, dst))
		}
	}
	for _, s := range []*ovpnBenchSeries{&r.TCP1, &r.TCP4, &r.Ping} {
		s.Ovpn, s.Bare = benchMedian(s.OvpnRounds), benchMedian(s.BareRounds)
		if s.Bare > 0 {
			s.Ratio = s.Ovpn / s.Bare
		}
	}
	return r
}

// add appends one round's value to the series of its path.
func (s *ovpnBenchSeries) add(ovpn bool, v float64) {
	if ovpn {
		s.OvpnRounds = append(s.OvpnRounds, v)
	} else {
		s.BareRounds = append(s.BareRounds, v)
	}
}

// write writes the results as indented JSON, making the directory.
func (r ovpnBenchResult) write(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("ovpn bench results: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// benchIperfMbit runs iperf3 TCP with the given number of parallel streams
// from n to dst, against a one-off server it starts on srv, and returns the
// receiver's Mbit/s. It tries again while the server is not listening yet
// (iperf3 -J then exits 0 with the error in its JSON); any other failure,
// or a run that takes 30 s longer than it should, fails the benchmark.
func benchIperfMbit(b *testing.B, n, srv *netlab.Node, dst string, streams int) float64 {
	b.Helper()
	server := srv.Start("iperf3", "-s", "-1")
	defer server.Wait(10 * time.Second)
	args := []string{"-c", dst, "-t", strconv.Itoa(ovpnBenchIperfSecs), "-O", "1", "-P", strconv.Itoa(streams), "-J"}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), (ovpnBenchIperfSecs+31)*time.Second)
		out, err := n.CommandContext(ctx, "iperf3", args...).Output()
		cancel()
		var r iperfReport
		jerr := json.Unmarshal(out, &r)
		if err == nil && jerr == nil && r.Error == "" && r.End.SumReceived.BitsPerSecond > 0 {
			return r.End.SumReceived.BitsPerSecond / 1e6
		}
		if attempt < 50 && strings.Contains(r.Error, "unable to connect") {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		b.Fatalf("%s: iperf3 %s: no result (%v, %v):\n%s", n.Name, strings.Join(args, " "), err, jerr, out)
	}
}

// iperfReport is what the benchmarks read of iperf3 -J's output.
type iperfReport struct {
	End struct {
		SumReceived struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// benchPingTime is one reply's round trip in ping's output.
var benchPingTime = regexp.MustCompile(`time=([0-9.]+) ms`)

// benchPingMedianMS pings dst from n 50 times, 10 ms apart, and returns the
// median round trip in milliseconds; it fails if more than a few are lost.
func benchPingMedianMS(b *testing.B, n *netlab.Node, dst string) float64 {
	b.Helper()
	const count = 50
	out, _ := n.Run("ping", "-c", strconv.Itoa(count), "-i", "0.01", "-W", "1", dst)
	var rtts []float64
	for _, m := range benchPingTime.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		rtts = append(rtts, v)
	}
	if len(rtts) < count*9/10 {
		b.Fatalf("%s: ping %s: %d of %d replies:\n%s", n.Name, dst, len(rtts), count, out)
	}
	return benchMedian(rtts)
}

// benchMedian returns the median of vs (0 for none).
func benchMedian(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchLinkMTU returns an interface's MTU in node n.
func benchLinkMTU(b *testing.B, n *netlab.Node, dev string) int {
	b.Helper()
	var links []struct {
		MTU int `json:"mtu"`
	}
	out := n.MustRun("ip", "-j", "link", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		b.Fatalf("%s: ip -j link show dev %s: %v\n%s", n.Name, dev, err, out)
	}
	return links[0].MTU
}
