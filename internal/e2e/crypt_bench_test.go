package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// BenchmarkE2EEncryptedGoodput measures an encrypted, reliable ocat -q data
// transfer through a router dropping 1% and 5% of the packets each way,
// next to TCP (iperf3) on the same path in the same run, and reports the
// ratio. Both ends and the router share this machine's cores.
func BenchmarkE2EEncryptedGoodput(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Skip("iperf3 is not installed (apt-get install iperf3)")
	}
	for _, loss := range []int{1, 5} {
		b.Run(strconv.Itoa(loss)+"%", func(b *testing.B) {
			a, srv, dst := lossyPath(b, loss)
			const size = 20 << 20
			data := make([]byte, size)
			rand.Read(data)
			var ours, tcp float64
			for range b.N {
				ours += ocatGoodput(b, a, srv, data)
				tcp += iperfGoodput(b, a, srv, dst)
			}
			ours, tcp = ours/float64(b.N), tcp/float64(b.N)
			b.ReportMetric(ours, "ocat-Mbit/s")
			b.ReportMetric(tcp, "tcp-Mbit/s")
			b.ReportMetric(ours/tcp, "ratio")
		})
	}
}

// lossyPath is lossyPair for benchmarks: it returns b's address too.
func lossyPath(t testing.TB, percent int) (a, b *netlab.Node, dst string) {
	t.Helper()
	lab := netlab.New(t, bin)
	a, r, b := lab.Node("a"), lab.Router("r"), lab.Node("b")
	left := lab.Link(a, r).Subnet("10.1.0.0/24")
	right := lab.Link(r, b).Subnet("10.2.0.0/24")
	a.Route("default", left.B.IP4())
	b.Route("default", right.A.IP4())
	r.Loss(percent)
	// A real link drops packets of its MTU; on a veth, TCP hands the
	// kernel 64 KiB segments that the router would drop (or pass) whole.
	// One segment per packet makes the loss hit TCP as it hits us.
	for _, e := range []*netlab.End{left.A, left.B, right.A, right.B} {
		e.Node.MustRun("ip", "link", "set", "dev", e.Name, "gso_max_segs", "1")
	}
	dst = right.B.IP4().String()
	a.Hosts(map[string]string{"sink": dst})
	a.StartIRMd()
	b.StartIRMd()
	a.MustRun("irm", "ipcp", "bootstrap", "name", "ua", "layer", "wan", "type", "udp4", "ip", left.A.IP4().String())
	b.MustRun("irm", "ipcp", "bootstrap", "name", "ub", "layer", "wan", "type", "udp4", "ip", dst)
	b.MustRun("irm", "name", "register", "sink", "layer", "wan")
	return a, b, dst
}

// ocatGoodput sends data from a to b with ocat -q data and returns Mbit/s.
func ocatGoodput(t testing.TB, a, b *netlab.Node, data []byte) float64 {
	t.Helper()
	var got bytes.Buffer
	cmd := b.Command("ocat", "-l")
	cmd.Stdout = &got
	srv := b.StartCmd(cmd)
	b.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "sink")
	cli := a.Command("ocat", "-n", "sink", "-q", "data")
	cli.Stdin = bytes.NewReader(data)
	start := time.Now()
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("ocat -n: %v\n%s", err, out)
	}
	if err := srv.Wait(time.Minute); err != nil {
		t.Fatalf("ocat -l: %v", err)
	}
	el := time.Since(start)
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("ocat: received %d bytes of %d", got.Len(), len(data))
	}
	return float64(len(data)) * 8 / el.Seconds() / 1e6
}

// iperfGoodput runs iperf3 over TCP from a to b for 5 s and returns the
// receiver's Mbit/s.
func iperfGoodput(t testing.TB, a, b *netlab.Node, dst string) float64 {
	t.Helper()
	srv := b.Start("iperf3", "-s", "-1")
	defer srv.Wait(10 * time.Second)
	var out []byte
	var err error
	for range 50 { // until the server listens
		if out, err = a.Command("iperf3", "-c", dst, "-t", "5", "-J").Output(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("iperf3 -c: %v\n%s", err, out)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("iperf3 output: %v", err)
	}
	return r.End.SumReceived.BitsPerSecond / 1e6
}
