package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/benchres"
	"o7s.dev/ouroboros/internal/netlab"
)

// BenchmarkE2EOvpn is the side-by-side harness of the performance work:
// two namespaces joined by one veth and, on that same pair, (a) an ovpn
// site-to-site link (tun, over a unicast layer "corp" over a udp4 layer,
// irmds from irmd.conf), (b) wireguard-go and (c) the bare veth. Every
// measurement runs on a, b and c in turn, round after round (a b c a b c
// ...), so that load from the rest of the machine falls on all three
// alike; it reports the medians and their ratios (ovpn/wireguard-go,
// ovpn/bare, wireguard-go/bare):
//   - iperf3 TCP throughput, one stream and four (-t $BENCH_SECS, 10);
//   - UDP packets/s received at 64 bytes of payload (iperf3 -u -b 0 -l 64);
//   - ping RTT through each path (50 pings, 10 ms apart: their median);
//   - oping RTT over the unicast layer below ovpn, next to ping on the
//     bare veth, measured right after it;
//   - CPU seconds per gigabyte moved in the TCP runs (see benchCPU);
//   - flow allocation time across the unicast layer, in ms and in round
//     trips of the oping RTT of the same round (ovpn only).
//
// It needs iperf3, ping, wg (wireguard-tools) and wireguard-go (found as
// $WIREGUARD_GO, `wireguard` in $PATH or in $(go env GOPATH)/bin; make
// bench installs both). $BENCH_ROUNDS (3) and $BENCH_SECS set the size of
// a run: BENCH_ROUNDS=1 BENCH_SECS=2 for a quick look. It writes the
// results as JSON (internal/benchres) to $BENCH_RESULTS (make bench:
// bench/results.json), or to a file in the temporary directory, and logs
// the path; go run ./internal/benchcmp OLD NEW compares two of them.
func BenchmarkE2EOvpn(b *testing.B) {
	for _, tool := range []string{"iperf3", "ping", "wg"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s is not installed (apt-get install -y iperf3 iputils-ping; apt-get install -y --no-install-recommends wireguard-tools)", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "ovpn")); err != nil {
		b.Fatalf("no ovpn in %s (make build): %v", bin, err)
	}
	wg := wireguardGo(b)
	rounds, secs := benchEnvInt(b, "BENCH_ROUNDS", 3), benchEnvInt(b, "BENCH_SECS", 10)
	l := newOvpnBenchLab(b)
	ovpn := l.upOvpn(b)
	wgPath := l.upWireguard(b, wg)
	bare := benchPath{name: benchres.Bare, dst: l.veth.B.IP4().String(), dev: l.veth.A.Name}
	paths := []benchPath{ovpn, wgPath, bare}
	l.iperf = l.b.Start("iperf3", "-s")
	var r *benchres.Results
	for b.Loop() {
		r = l.measure(b, paths, rounds, secs)
	}
	for _, m := range r.Metrics {
		if v, ok := m.Ratios[benchres.Ovpn+"/"+benchres.Wireguard]; ok {
			b.ReportMetric(v, m.Name+"-ovpn/wg")
		}
	}
	// To stdout: testing cuts a benchmark's log to ten lines.
	fmt.Printf("BenchmarkE2EOvpn: %s, load %s at the start, %s at the end; %d rounds, iperf3 -t %d; MTU %v\n",
		r.Commit, r.LoadStart, r.LoadEnd, rounds, secs, r.MTU)
	r.Table(os.Stdout)
	path := os.Getenv("BENCH_RESULTS")
	if path == "" {
		path = filepath.Join(os.TempDir(), "bench-results.json")
	}
	if err := r.Write(path); err != nil {
		b.Fatal(err)
	}
	b.Logf("results in %s", path)
}

// benchEnvInt reads a positive integer setting of the harness from the
// environment, def when unset.
func benchEnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		b.Fatalf("$%s = %q: want a positive integer", name, s)
	}
	return v
}

// benchPath is one of the paths the harness compares: b's address on it,
// a's interface into it and the daemons that carry its packets, whose CPU
// time counts along with iperf3's.
type benchPath struct {
	name    string
	dst     string
	dev     string
	daemons []*netlab.Proc
}

// ovpnBenchLab is the benchmark's lab: nodes a and b on one veth
// (10.1.0.0/24), ovpn's tunnel addresses 10.77.0.1 (a) and 10.77.0.2 (b),
// wireguard-go's 10.78.0.1 and 10.78.0.2.
type ovpnBenchLab struct {
	lab   *netlab.Lab
	a, b  *netlab.Node
	veth  *netlab.Link
	irmds [2]*netlab.Proc
	confs [2]string    // ovpn configurations of a and b
	iperf *netlab.Proc // iperf3's server on b
}

const (
	ovpnBenchDev  = "ovpn0"
	ovpnBenchLink = "bench" // the configuration files' base name
	ovpnBenchEcho = "bench.echo"
)

// newOvpnBenchLab builds the nodes, starts their irmds from irmd.conf (b
// enrols in corp through a and connects to it), and waits until the corp
// layer carries an oping from a to an oping server on b, bound to
// bench.echo.
func newOvpnBenchLab(b *testing.B) *ovpnBenchLab {
	b.Helper()
	lab := netlab.New(b, bin)
	l := &ovpnBenchLab{lab: lab, a: lab.Node("a"), b: lab.Node("b")}
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
		l.irmds[i] = n.StartIRMd("--config", writeConfig(b, conf))
		l.confs[i] = ovpnBenchConf(b, i)
	}
	waitFor(b, 30*time.Second, "b's adjacency with a in corp", func() bool {
		return strings.Contains(ipcpRow(b, l.b, "ucb")["NEIGHBOURS"], "uca (dt, mgmt)")
	})
	l.b.MustRun("irm", "name", "register", ovpnBenchEcho, "layer", "corp")
	srv := l.b.Start("oping", "-l")
	l.b.MustRun("irm", "bind", "process", itoa(srv.PID()), "name", ovpnBenchEcho)
	took := pingUntil(b, l.a, ovpnBenchEcho, 1, 30*time.Second)
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

// upOvpn runs ovpn in the foreground on both nodes (stopped with the lab),
// waits until pings cross the tunnel and returns the path: its daemons
// are both ovpn processes and both irmds.
func (l *ovpnBenchLab) upOvpn(b *testing.B) benchPath {
	b.Helper()
	p := benchPath{name: benchres.Ovpn, dst: "10.77.0.2", dev: ovpnBenchDev}
	for i, n := range []*netlab.Node{l.a, l.b} {
		p.daemons = append(p.daemons, n.Start("ovpn", "up", l.confs[i], "--foreground"), l.irmds[i])
	}
	start := time.Now()
	waitFor(b, 30*time.Second, "a ping through the ovpn tunnel", func() bool {
		for _, d := range p.daemons {
			if d.Exited() {
				b.Fatalf("%s: ovpn or irmd exited: %v\n%s", d.Node.Name, d.Wait(0), d.Output())
			}
		}
		_, err := l.a.Run("ping", "-c", "1", "-W", "1", p.dst)
		return err == nil
	})
	b.Logf("ovpn up: first ping through it after %v", time.Since(start).Round(time.Millisecond))
	return p
}

// measure runs every measurement rounds times on each path, the paths in
// turn within each measurement, and returns the results with their
// medians and ratios.
func (l *ovpnBenchLab) measure(b *testing.B, paths []benchPath, rounds, secs int) *benchres.Results {
	b.Helper()
	r := &benchres.Results{Time: time.Now().UTC(), Commit: benchCommit(), LoadStart: benchLoad(),
		Rounds: rounds, IperfSecs: secs, CPUMethod: benchCPUMethod, MTU: map[string]int{}}
	for _, p := range paths {
		r.MTU[p.name] = benchLinkMTU(b, l.a, p.dev)
	}
	var (
		tcp1    = r.Metric("tcp_1_stream", "Mbit/s", true)
		tcp4    = r.Metric("tcp_4_streams", "Mbit/s", true)
		udp     = r.Metric("udp_64B_received", "kpkt/s", true)
		ping    = r.Metric("ping_rtt", "ms", false)
		oping   = r.Metric("oping_rtt_unicast", "ms", false)
		cpu1    = r.Metric("cpu_per_GB_tcp_1", "s/GB", false)
		cpu4    = r.Metric("cpu_per_GB_tcp_4", "s/GB", false)
		allocMS = r.Metric("flow_alloc", "ms", false)
		allocRT = r.Metric("flow_alloc_rtts", "RTTs", false)
	)
	alloc := flowAllocator(b, l.a)
	for range rounds {
		for _, p := range paths {
			t := l.iperfTCP(b, p, 1, secs)
			tcp1.Add(p.name, t.mbit)
			cpu1.Add(p.name, t.cpuPerGB())
		}
		for _, p := range paths {
			t := l.iperfTCP(b, p, 4, secs)
			tcp4.Add(p.name, t.mbit)
			cpu4.Add(p.name, t.cpuPerGB())
		}
		for _, p := range paths {
			udp.Add(p.name, l.iperfUDP64(b, p, secs)/1e3)
		}
		for _, p := range paths {
			ping.Add(p.name, benchRTTMedianMS(b, l.a, "ping", "-c", "50", "-i", "0.01", "-W", "1", p.dst))
		}
		rtt := benchRTTMedianMS(b, l.a, "oping", "-n", ovpnBenchEcho, "-c", "50", "-i", "10ms")
		oping.Add(benchres.Ovpn, rtt)
		oping.Add(benchres.Bare, benchRTTMedianMS(b, l.a, "ping", "-c", "50", "-i", "0.01", "-W", "1", l.veth.B.IP4().String()))
		var total time.Duration
		const allocs = 10
		for range allocs {
			total += alloc(ovpnBenchEcho)
		}
		ms := float64(total) / allocs / float64(time.Millisecond)
		allocMS.Add(benchres.Ovpn, ms)
		allocRT.Add(benchres.Ovpn, ms/rtt)
	}
	r.LoadEnd = benchLoad()
	r.Finish()
	return r
}

// benchCommit describes the tree measured (git describe), "" outside git.
func benchCommit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// benchLoad is the machine's load average (/proc/loadavg's first three
// fields), what the numbers were measured under.
func benchLoad() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
