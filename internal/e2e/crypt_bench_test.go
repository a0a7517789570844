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
			a, srv, dst := lossyPair(b, loss)
			srv.MustRun("irm", "name", "register", "sink", "layer", "wan")
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
	var r iperfReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("iperf3 output: %v", err)
	}
	return r.End.SumReceived.BitsPerSecond / 1e6
}
