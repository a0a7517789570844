package benchres

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// run makes results with one throughput and one latency metric.
func run(tput, wg, rtt float64) *Results {
	r := &Results{Rounds: 3}
	m := r.Metric("tcp", "Mbit/s", true)
	for _, v := range []float64{tput - 1, tput, tput + 5} {
		m.Add(Ovpn, v)
		m.Add(Wireguard, wg)
		m.Add(Bare, 1000)
	}
	r.Metric("rtt", "ms", false).Add(Ovpn, rtt)
	r.Finish()
	return r
}

func TestFinishRatios(t *testing.T) {
	r := run(200, 400, 1)
	m := r.Metric("tcp", "", true)
	if len(r.Metrics) != 2 {
		t.Fatalf("Metric added a second tcp: %d metrics", len(r.Metrics))
	}
	if m.Paths[Ovpn].Median != 200 {
		t.Errorf("ovpn median %v, want 200", m.Paths[Ovpn].Median)
	}
	want := map[string]float64{"ovpn/wireguard-go": 0.5, "ovpn/bare": 0.2, "wireguard-go/bare": 0.4}
	for k, v := range want {
		if m.Ratios[k] != v {
			t.Errorf("ratio %s = %v, want %v (all: %v)", k, m.Ratios[k], v, m.Ratios)
		}
	}
	if n := len(r.Metric("rtt", "", false).Ratios); n != 0 {
		t.Errorf("a metric of one path has %d ratios", n)
	}
}

func TestWriteReadCompare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "results.json")
	if err := run(200, 400, 1).Write(path); err != nil {
		t.Fatal(err)
	}
	old, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if old.Metrics[0].Paths[Wireguard].Median != 400 {
		t.Fatalf("read back %+v", old.Metrics[0].Paths[Wireguard])
	}
	cur := run(300, 400, 2)
	cur.Metric("udp", "kpkt/s", true).Add(Ovpn, 5)
	cur.Finish()
	var out strings.Builder
	Compare(&out, old, cur)
	for _, line := range []string{
		"tcp                        ovpn          Mbit/s           200          300 +50.0% better",
		"tcp                        wireguard-go  Mbit/s           400          400 0%",
		"rtt                        ovpn          ms                 1            2 +100.0% worse",
		"udp                        ovpn          kpkt/s             -            5      new",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("comparison lacks %q:\n%s", line, out.String())
		}
	}
	out.Reset()
	Compare(&out, cur, old)
	if !strings.Contains(out.String(), "udp                        only in the old run") {
		t.Errorf("a metric only the old run has is not named:\n%s", out.String())
	}
}

func TestReadRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ovpn.json")
	if err := os.WriteFile(path, []byte("ovpn 267 Mbit/s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "not bench results") {
		t.Errorf("Read of a file that is not JSON: %v", err)
	}
}
