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
	if o.duration != 10*time.Second || o.size != 1400 || o.mode != modeUni || o.qos.Name != "raw" {
		t.Fatalf("defaults: %+v", o)
	}
	o, err = parseOptions([]string{"--name", "x", "-d", "2.5", "-s", "64", "-t", "bi", "-q", "data"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 2500*time.Millisecond || o.size != 64 || o.mode != modeBi || o.qos.Name != "data" {
		t.Fatalf("parsed: %+v", o)
	}
	if o, err := parseOptions([]string{"-d", "300ms", "-n", "x"}, io.Discard); err != nil || o.duration != 300*time.Millisecond {
		t.Fatalf("-d 300ms: %v %v", o.duration, err)
	}
	if o, err := parseOptions([]string{"-l"}, io.Discard); err != nil || !o.listen {
		t.Fatalf("-l: %+v %v", o, err)
	}
	for _, args := range [][]string{{}, {"-n", "x", "-t", "tri"}, {"-n", "x", "-s", "0"}, {"-n", "x", "-d", "0"},
		{"-l", "-t", "bi"}, {"-n", "x", "-q", "fast"}, {"x"}} {
		var ue *tool.UsageError
		if _, err := parseOptions(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
	}
	var help strings.Builder
	if _, err := parseOptions([]string{"-h"}, &help); !errors.Is(err, tool.ErrDone) || !strings.Contains(help.String(), "-t, --type TYPE") {
		t.Fatalf("-h: %v\n%s", err, help.String())
	}
}

func TestProtocol(t *testing.T) {
	for _, m := range []mode{modeUni, modeBi} {
		got, err := decodeHello(encodeHello(m))
		if err != nil || got != m {
			t.Errorf("hello %v: got %v, %v", m, got, err)
		}
	}
	if _, err := decodeHello([]byte{kindHello, 9}); err == nil {
		t.Error("accepted a hello with an unknown mode")
	}
	r := tally{packets: 1 << 40, bytes: 1<<50 + 3, elapsed: 10*time.Second + 7}
	b := r.encode()
	if len(b) != reportLen || b[0] != kindReport || b[1] != 0 || b[3] != 1 {
		t.Fatalf("report % x: want kind 4 then big-endian counters", b)
	}
	got, err := decodeReport(b)
	if err != nil || got != r {
		t.Fatalf("report round trip: %+v, %v", got, err)
	}
	if _, err := decodeReport(b[:reportLen-1]); err == nil {
		t.Fatal("accepted a short report")
	}
}

func TestSDUSize(t *testing.T) {
	for _, tt := range []struct{ size, max, want int }{
		{1400, 65535, 1400}, {9000, 1500, 1500}, {1400, 0, 1400},
	} {
		if got := sduSize(tt.size, tt.max); got != tt.want {
			t.Errorf("sduSize(%d, %d) = %d, want %d", tt.size, tt.max, got, tt.want)
		}
	}
}

func TestResults(t *testing.T) {
	sent := tally{packets: 1000, bytes: 1_400_000, elapsed: time.Second}
	recv := tally{packets: 990, bytes: 1_386_000, elapsed: time.Second}
	var b strings.Builder
	writeResults(&b, modeBi, results{sent: sent, received: recv, echoed: recv})
	want := "sent      1000 packets, 1.40 MB in 1.000 s: 11.20 Mbit/s, 1000 pkt/s\n" +
		"received  990 packets, 1.39 MB in 1.000 s: 11.09 Mbit/s, 990 pkt/s (by the server; 10 lost, 1%)\n" +
		"echoed    990 packets, 1.39 MB in 1.000 s: 11.09 Mbit/s, 990 pkt/s (back at the client)\n"
	if b.String() != want {
		t.Fatalf("results:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := &progress{out: &b}
	t0 := time.Unix(100, 0)
	p.start(t0)
	p.tick(t0.Add(500*time.Millisecond), tally{packets: 1, bytes: 125_000})
	if b.Len() != 0 {
		t.Fatalf("printed before a second passed: %q", b.String())
	}
	p.tick(t0.Add(time.Second), tally{packets: 1000, bytes: 125_000_000})
	if !strings.Contains(b.String(), "1.00 s  sent   1000.00 Mbit/s      1000 pkt/s") {
		t.Fatalf("progress line %q", b.String())
	}
	var none *progress
	none.start(t0)
	none.tick(t0.Add(time.Hour), tally{}) // must not panic
}
