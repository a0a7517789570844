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
	if err != nil || o.qos.Name != "data" || o.recvOnly || o.linger != 0 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	o, err = parseOptions([]string{"-n", "x", "-q", "raw", "-w", "1500"}, io.Discard)
	if err != nil || o.qos.Name != "raw" || o.linger != 1500*time.Millisecond {
		t.Fatalf("parsed: %+v, %v", o, err)
	}
	for _, args := range [][]string{{"-l"}, {"-l", "-k"}, {"-l", "-s"}, {"--listen", "--keep"}, {"-n", "x", "-R"}} {
		if _, err := parseOptions(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{{}, {"-l", "-k", "-s"}, {"-l", "-n", "x"}, {"-n", "x", "-s"}, {"-n", "x", "-k"},
		{"-n", "x", "-R", "-w", "1s"}, {"-n", "x", "-q", "silver"}, {"-n", "x", "file"}} {
		var ue *tool.UsageError
		if _, err := parseOptions(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
	}
	var help strings.Builder
	if _, err := parseOptions([]string{"--help"}, &help); !errors.Is(err, tool.ErrDone) ||
		!strings.Contains(help.String(), "-R, --recv-only") || !strings.Contains(help.String(), "(default data)") {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}
}

func TestChunking(t *testing.T) {
	for _, tt := range []struct{ maxSDU, want int }{{0, 64 << 10}, {1 << 20, 64 << 10}, {1500, 1500}} {
		if got := chunkSize(tt.maxSDU); got != tt.want {
			t.Errorf("chunkSize(%d) = %d, want %d", tt.maxSDU, got, tt.want)
		}
	}
	b := make([]byte, 10)
	got := split(b, 4, nil)
	if len(got) != 3 || len(got[0]) != 4 || len(got[1]) != 4 || len(got[2]) != 2 {
		t.Fatalf("split 10 by 4: %d pieces", len(got))
	}
	if got := split(b[:8], 4, got[:0]); len(got) != 2 {
		t.Fatalf("split 8 by 4: %d pieces", len(got))
	}
	if got := split(nil, 4, nil); len(got) != 0 {
		t.Fatalf("split of nothing: %d pieces", len(got))
	}
}
