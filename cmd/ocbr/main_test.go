package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/tool"
)

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"-n", "x"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.rate != 1_000_000 || o.size != 1000 || o.duration != 10*time.Second || o.qos.Name != "raw" {
		t.Fatalf("defaults: %+v", o)
	}
	o, err = parseOptions([]string{"-n", "x", "-r", "2.5M", "-s", "1250", "-d", "1m", "-q", "video"}, io.Discard)
	if err != nil || o.rate != 2_500_000 || o.size != 1250 || o.duration != time.Minute || o.qos.Name != "video" {
		t.Fatalf("parsed: %+v, %v", o, err)
	}
	o, err = parseOptions([]string{"-l", "-i", "500", "-t", "3"}, io.Discard)
	if err != nil || !o.listen || o.interval != 500*time.Millisecond || o.timeout != 3*time.Second {
		t.Fatalf("sink: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"-n", "x", "-r", "fast"}, {"-n", "x", "-r", "0"}, {"-n", "x", "-f", "-r", "1M"},
		{"-n", "x", "-i", "1s"}, {"-l", "-r", "1M"}, {"-l", "-i", "0"}, {"-n", "x", "-s", "0"}, {"-n", "x", "-d", "0"}} {
		var ue *tool.UsageError
		if _, err := parseOptions(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
	}
	var help strings.Builder
	if _, err := parseOptions([]string{"--help"}, &help); !errors.Is(err, tool.ErrDone) ||
		!strings.Contains(help.String(), "-r, --rate RATE") || !strings.Contains(help.String(), "(default 1M)") {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}
}

func TestSinkReports(t *testing.T) {
	var b strings.Builder
	t0 := time.Unix(50, 0)
	s := &sink{id: 7, out: &b, interval: time.Second, timeout: time.Second,
		lens: []int{1000, 1000, 500}, start: t0, lastRx: t0, lastReport: t0}
	s.receive(3, t0.Add(100*time.Millisecond))
	s.receive(0, t0.Add(200*time.Millisecond))
	s.report(t0.Add(time.Second))
	s.receive(2, t0.Add(1500*time.Millisecond))
	s.finish("closed by the client")
	want := "flow 7:    1.000 s         3 packets          2500 bytes       0.020 Mbit/s\n" +
		"flow 7 ended (closed by the client): 5 packets, 4.50 kB in 1.500 s: 0.024 Mbit/s, 3 pkt/s average\n"
	if b.String() != want {
		t.Fatalf("sink output:\n%s\nwant:\n%s", b.String(), want)
	}
	if s.cur.packets != 2 || s.total.packets != 5 {
		t.Fatalf("counts: interval %+v, total %+v", s.cur, s.total)
	}
}
