package tool

import (
	"errors"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		unit time.Duration
		want time.Duration
	}{
		{"10ms", time.Millisecond, 10 * time.Millisecond},
		{"1.5s", time.Millisecond, 1500 * time.Millisecond},
		{"200", time.Millisecond, 200 * time.Millisecond},
		{"0.5", time.Millisecond, 500 * time.Microsecond},
		{"10", time.Second, 10 * time.Second},
		{"2m", time.Second, 2 * time.Minute},
		{"0", time.Second, 0},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in, tt.unit)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q, %v) = %v, %v; want %v", tt.in, tt.unit, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "soon", "-1", "-5ms", "1e300", "NaN", "10 ms"} {
		if _, err := ParseDuration(in, time.Second); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
	_, err := ParseDuration("soon", time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "milliseconds") {
		t.Errorf("error does not name the unit of plain numbers: %v", err)
	}
}

func TestParseRate(t *testing.T) {
	tests := map[string]uint64{
		"1000": 1000, "800k": 800_000, "800K": 800_000, "1.5M": 1_500_000, "10G": 10_000_000_000,
		"2T": 2_000_000_000_000, "100Mbit/s": 100_000_000, "64kbps": 64_000, "3Mb": 3_000_000, "1": 1,
	}
	for in, want := range tests {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "0", "-1M", "0.1", "1X", "M", "Inf", "1e30"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
}

func TestFormatRate(t *testing.T) {
	for in, want := range map[uint64]string{1_000_000: "1M", 2_500_000: "2500k", 1_000_000_000: "1G", 999: "999", 1_000_001: "1000001"} {
		if got := FormatRate(in); got != want {
			t.Errorf("FormatRate(%d) = %q, want %q", in, got, want)
		}
		if back, err := ParseRate(FormatRate(in)); err != nil || back != in {
			t.Errorf("ParseRate(FormatRate(%d)) = %d, %v", in, back, err)
		}
	}
}

func TestQoSValue(t *testing.T) {
	q := MustQoS("best")
	if q.Spec != qos.Best || q.String() != "best" {
		t.Fatalf("MustQoS(best) = %+v", q)
	}
	if err := q.Set("DATA"); err != nil || q.Spec != qos.Data || q.Name != "data" {
		t.Fatalf("Set(DATA): %+v, %v", q, err)
	}
	if err := q.Set("gold"); err == nil || !strings.Contains(err.Error(), "raw, best") {
		t.Fatalf("Set(gold): %v, want the list of specs", err)
	}
	if err := q.Set("data,timeout=5s"); err != nil || q.Spec.Timeout != 5000 || q.Spec.Loss != 0 {
		t.Fatalf("Set(data,timeout=5s): %+v, %v", q, err)
	}
	if err := q.Set("best,timeout=0"); err != nil || q.Spec.Timeout != 0 || !q.Spec.InOrder {
		t.Fatalf("Set(best,timeout=0): %+v, %v", q, err)
	}
	for _, bad := range []string{"data,timeout=soon", "data,delay=5", "data,timeout=-1s"} {
		if err := q.Set(bad); err == nil {
			t.Errorf("Set(%s) accepted", bad)
		}
	}
}

func TestFormats(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 20: "20", 100.0 / 3: "33.333", 0.0004: "0", 12.5: "12.5", 100: "100"} {
		if got := FormatPercent(in); got != want {
			t.Errorf("FormatPercent(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[uint64]string{0: "0 B", 999: "999 B", 1000: "1.00 kB", 1_500_000: "1.50 MB", 2_000_000_000_000: "2.00 TB"} {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
	if got := Mbps(125_000_000, time.Second); got != 1000 {
		t.Errorf("Mbps = %v, want 1000", got)
	}
	if Mbps(1, 0) != 0 || PerSecond(1, 0) != 0 {
		t.Error("rates over no time are not 0")
	}
	if got := PerSecond(500, 500*time.Millisecond); got != 1000 {
		t.Errorf("PerSecond = %v, want 1000", got)
	}
}

func TestBuffers(t *testing.T) {
	for in, want := range map[int]int{0: MaxBuf, -1: MaxBuf, 1500: 1500, MaxBuf + 1: MaxBuf} {
		if got := SDUBuf(in); got != want {
			t.Errorf("SDUBuf(%d) = %d, want %d", in, got, want)
		}
	}
	bufs, lens := Batch(4, 100)
	if len(bufs) != 4 || len(lens) != 4 || len(bufs[3]) != 100 || cap(bufs[0]) != 100 {
		t.Fatalf("Batch(4, 100): %d bufs, %d lens, len %d cap %d", len(bufs), len(lens), len(bufs[3]), cap(bufs[0]))
	}
	bufs[0] = append(bufs[0], 1) // must not spill into bufs[1]
	if bufs[1][0] != 0 {
		t.Fatal("buffers of a batch overlap")
	}
}

func TestAllocHint(t *testing.T) {
	err := allocHint(flow.ErrUnreachable, "srv", AllocTimeout)
	if !errors.Is(err, flow.ErrUnreachable) || !strings.Contains(err.Error(), "irm bind process PID name srv") {
		t.Fatalf("unreachable hint: %v", err)
	}
	err = allocHint(flow.ErrTimeout, "srv", 2*time.Second)
	if !errors.Is(err, flow.ErrTimeout) || !strings.Contains(err.Error(), "no answer within 2s: is a server bound to srv") {
		t.Fatalf("timeout hint: %v", err)
	}
	// No route is a matter of the layer, not of the server.
	noRoute := errors.Join(flow.ErrUnreachable, errors.New(`no route to the member at 0x1 for "srv"`))
	if err := allocHint(noRoute, "srv", AllocTimeout); !strings.Contains(err.Error(), "the layer has no path") ||
		strings.Contains(err.Error(), "is a server bound") {
		t.Fatalf("no-route hint: %v", err)
	}
	// irmd's own hint is not repeated.
	own := errors.Join(flow.ErrUnreachable, errors.New("bind one with 'irm bind process PID name srv'"))
	if err := allocHint(own, "srv", AllocTimeout); err != own {
		t.Fatalf("hint added to irmd's: %v", err)
	}
	if !Ended(flow.ErrPeerGone) || !Ended(flow.ErrClosed) || Ended(flow.ErrFlowDown) {
		t.Fatal("Ended misclassifies")
	}
}
