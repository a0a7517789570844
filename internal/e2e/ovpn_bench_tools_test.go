package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/benchres"
	"o7s.dev/ouroboros/internal/netlab"
)

// benchCPUMethod is how the harness measures CPU per gigabyte, the same
// way on every path; it goes into the results.
const benchCPUMethod = "user+system CPU time the kernel charged to every process carrying the run: " +
	"iperf3's client (its rusage when it exits) and server, and the path's daemons (both irmds and ovpns; " +
	"both wireguard-go; none for the bare veth), their /proc/PID/stat utime+stime before and after; " +
	"divided by the gigabytes (1e9 bytes) the iperf3 server received. Softirq work the kernel defers " +
	"to ksoftirqd is not counted on any path"

// benchTCP is one iperf3 TCP run: the receiver's rate and byte count and
// the CPU seconds of everything that carried it (benchCPUMethod).
type benchTCP struct {
	mbit  float64
	bytes float64
	cpu   float64
}

// cpuPerGB is the run's CPU seconds per gigabyte moved.
func (t benchTCP) cpuPerGB() float64 {
	if t.bytes == 0 {
		return 0
	}
	return t.cpu / (t.bytes / 1e9)
}

// iperfTCP runs iperf3 TCP with the given number of parallel streams from
// a to path p for secs, against the lab's iperf3 server on b.
func (l *ovpnBenchLab) iperfTCP(b *testing.B, p benchPath, streams, secs int) benchTCP {
	b.Helper()
	procs := append([]*netlab.Proc{l.iperf}, p.daemons...)
	before := procsCPU(b, procs)
	r, client := l.iperfRun(b, p.dst, "-t", strconv.Itoa(secs), "-P", strconv.Itoa(streams))
	cpu := procsCPU(b, procs) - before + client
	s := r.End.SumReceived
	return benchTCP{mbit: s.BitsPerSecond / 1e6, bytes: s.Bytes, cpu: cpu}
}

// iperfUDP64 runs iperf3 UDP at 64 bytes of payload, unpaced, from a to
// path p for secs and returns the packets per second the server received.
func (l *ovpnBenchLab) iperfUDP64(b *testing.B, p benchPath, secs int) float64 {
	b.Helper()
	const size = 64
	r, _ := l.iperfRun(b, p.dst, "-u", "-b", "0", "-l", strconv.Itoa(size), "-t", strconv.Itoa(secs))
	s := r.End.SumReceived
	if s.Seconds <= 0 {
		b.Fatalf("iperf3 UDP to %s: no receiver's report", p.dst)
	}
	return s.Bytes / size / s.Seconds
}

// iperfRun runs iperf3's client on a to dst with args, against the lab's
// server, and returns its report and the client's own CPU seconds. It
// tries again while the server is not listening yet or still busy with
// the previous run (iperf3 -J then exits with the error in its JSON); any
// other failure, or a run that takes 30 s longer than it should, fails
// the benchmark.
func (l *ovpnBenchLab) iperfRun(b *testing.B, dst string, args ...string) (iperfReport, float64) {
	b.Helper()
	args = append([]string{"-c", dst, "-J"}, args...)
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := l.a.CommandContext(ctx, "iperf3", args...)
		out, err := cmd.Output()
		cancel()
		var r iperfReport
		jerr := json.Unmarshal(out, &r)
		if err == nil && jerr == nil && r.Error == "" && r.End.SumReceived.Bytes > 0 {
			return r, rusageCPU(cmd.ProcessState.SysUsage())
		}
		if attempt < 50 && (strings.Contains(r.Error, "unable to connect") || strings.Contains(r.Error, "busy")) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		b.Fatalf("a: iperf3 %s: no result (%v, %v):\n%s\nserver:\n%s", strings.Join(args, " "), err, jerr, out, l.iperf.Output())
	}
}

// iperfReport is what the benchmarks read of iperf3 -J's output.
type iperfReport struct {
	End struct {
		SumReceived struct {
			BitsPerSecond float64 `json:"bits_per_second"`
			Bytes         float64 `json:"bytes"`
			Seconds       float64 `json:"seconds"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// rusageCPU is a waited-for process's user+system CPU seconds.
func rusageCPU(u any) float64 {
	ru, ok := u.(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// userHZ is the unit of /proc/PID/stat's times, USER_HZ: 100 on every
// Linux ABI.
const userHZ = 100

// procsCPU is the sum of the processes' user+system CPU seconds so far
// (/proc/PID/stat, all threads).
func procsCPU(b *testing.B, procs []*netlab.Proc) float64 {
	b.Helper()
	var sum float64
	for _, p := range procs {
		v, err := procCPU(p.PID())
		if err != nil {
			b.Fatalf("%s: %v (did it exit?)\n%s", p.Node.Name, err, p.Output())
		}
		sum += v
	}
	return sum
}

// procCPU reads a process's utime+stime in seconds from /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command, which is in parentheses and may hold
	// spaces: state is the first, utime the 12th, stime the 13th.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command, want 13 or more", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return float64(ut+st) / userHZ, nil
}

// benchRTT is one reply's round trip in ping's and oping's output.
var benchRTT = regexp.MustCompile(`time=([0-9.]+) ms`)

// benchRTTMedianMS runs a pinger (ping or oping with args sending 50) on n
// and returns the median round trip in milliseconds; it fails if more
// than a few replies are lost.
func benchRTTMedianMS(b *testing.B, n *netlab.Node, tool string, args ...string) float64 {
	b.Helper()
	const count = 50
	out, _ := n.Run(tool, args...)
	var rtts []float64
	for _, m := range benchRTT.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		rtts = append(rtts, v)
	}
	if len(rtts) < count*9/10 {
		b.Fatalf("%s: %s %s: %d of %d replies:\n%s", n.Name, tool, strings.Join(args, " "), len(rtts), count, out)
	}
	return benchres.Median(rtts)
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
