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
	tests := []struct {
		args []string
		want func(o options) bool
	}{
		{[]string{"-n", "x"}, func(o options) bool {
			return o.name == "x" && o.interval == time.Second && o.size == 64 && o.qos.Name == "best" && o.wait == 2*time.Second
		}},
		{[]string{"--name", "x", "-i", "10ms"}, func(o options) bool { return o.interval == 10*time.Millisecond }},
		{[]string{"-n", "x", "-i", "250"}, func(o options) bool { return o.interval == 250*time.Millisecond }},
		{[]string{"-n", "x", "-d", "3"}, func(o options) bool { return o.duration == 3*time.Second }},
		{[]string{"-n", "x", "-d", "1m"}, func(o options) bool { return o.duration == time.Minute }},
		{[]string{"-n", "x", "-w", "1.5"}, func(o options) bool { return o.wait == 1500*time.Microsecond }},
		{[]string{"-n", "x", "-c", "5", "-s", "16", "-q", "data", "-f", "-Q"}, func(o options) bool {
			return o.count == 5 && o.size == 16 && o.qos.Name == "data" && o.flood && o.quiet
		}},
		{[]string{"-l"}, func(o options) bool { return o.listen }},
		{[]string{"--listen"}, func(o options) bool { return o.listen }},
	}
	for _, tt := range tests {
		o, err := parseOptions(tt.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !tt.want(o) {
			t.Errorf("%q: got %+v", tt.args, o)
		}
	}
}

func TestParseOptionsUsageErrors(t *testing.T) {
	tests := [][]string{
		{},                            // neither -n nor -l
		{"-n", "x", "-s", "15"},       // below the header
		{"-n", "x", "-i", "0"},        // zero interval
		{"-n", "x", "-i", "soon"},     // not a duration
		{"-n", "x", "-c", "-1"},       // negative count
		{"-n", "x", "-q", "gold"},     // unknown QoS
		{"-n", "x", "-f", "-i", "1s"}, // flood with interval
		{"-l", "-n", "x"},             // server with a client option
		{"-n", "x", "extra"},          // positional argument
		{"-x"},                        // unknown option
		{"-n", "x", "-w", "0"},        // no time to wait
	}
	for _, args := range tests {
		_, err := parseOptions(args, io.Discard)
		var ue *tool.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
		if code := tool.Exit(name, err, io.Discard); code != tool.ExitUsage {
			t.Errorf("%q: exit code %d, want %d", args, code, tool.ExitUsage)
		}
	}
}

func TestHelpDescribesEveryOption(t *testing.T) {
	var out strings.Builder
	_, err := parseOptions([]string{"--help"}, &out)
	if !errors.Is(err, tool.ErrDone) {
		t.Fatalf("--help: %v", err)
	}
	help := out.String()
	for _, want := range []string{"-l, --listen", "-n, --name NAME", "-c, --count COUNT", "-i, --interval INTERVAL",
		"-s, --size SIZE", "-q, --qos QOS", "-d, --duration DURATION", "-w, --wait WAIT", "-f, --flood", "-Q, --quiet",
		"--version", "(default 1s)", "e.g. -i 200ms", "Examples:"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}
