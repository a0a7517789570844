package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/tool/tooltest"
)

// This test runs ocbr's client and sink in this process against an
// in-process IRM: the real flow path, without a system irmd.

func TestConstantBitRate(t *testing.T) {
	tooltest.Start(t, "cbr")
	sink := tooltest.Go(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"-l", "-i", "100ms"}, stdout, stderr)
	})
	var out, errs bytes.Buffer
	// 8 Mbit/s of 1000-byte SDUs: one a millisecond, 500 in half a second.
	if code := run(context.Background(), []string{"-n", "cbr", "-r", "8M", "-s", "1000", "-d", "500ms"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	m := regexp.MustCompile(`sent (\d+) packets`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output:\n%s", out.String())
	}
	// Pacing itself is tested in pace_test.go; on a loaded machine the
	// stream may fall behind, but it never sends more than is due.
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > 500 {
		t.Fatalf("sent %d packets in 500 ms at one a millisecond:\n%s", n, out.String())
	}
	want := "ended (closed by the client): " + m[1] + " packets"
	tooltest.WaitFor(t, 5*time.Second, "the sink's summary", func() bool { return strings.Contains(sink.Stdout.String(), want) })
	if n := strings.Count(sink.Stdout.String(), "Mbit/s\n"); n < 2 {
		t.Fatalf("%d interval reports in 500 ms at -i 100ms:\n%s", n, sink.Stdout.String())
	}
}
