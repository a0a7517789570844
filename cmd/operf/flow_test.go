package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/tool/tooltest"
)

// These tests run operf's client and server in this process against an
// in-process IRM: the real flow path, without a system irmd.

var packetsRE = regexp.MustCompile(`(?m)^(sent|received|echoed) +(\d+) packets`)

func TestThroughput(t *testing.T) {
	tooltest.Start(t, "perf")
	srv := tooltest.Go(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"-l"}, stdout, stderr)
	})
	for _, tt := range []struct {
		mode  string
		lines int
	}{{"uni", 2}, {"bi", 3}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), []string{"-n", "perf", "-t", tt.mode, "-d", "300ms", "-s", "1000"}, &out, &errs); code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.mode, code, errs.String())
		}
		m := packetsRE.FindAllStringSubmatch(out.String(), -1)
		if len(m) != tt.lines {
			t.Fatalf("%s: output:\n%s", tt.mode, out.String())
		}
		// The local layer is lossless: every figure counts the same SDUs.
		for _, l := range m[1:] {
			if l[2] != m[0][2] || l[2] == "0" {
				t.Fatalf("%s: %s %s packets, sent %s:\n%s", tt.mode, l[1], l[2], m[0][2], out.String())
			}
		}
		if strings.Contains(out.String(), "lost") {
			t.Fatalf("%s: loss over the local layer:\n%s", tt.mode, out.String())
		}
		want := "(" + tt.mode + "): received " + m[0][2] + " packets"
		tooltest.WaitFor(t, 2*time.Second, "the server's line", func() bool { return strings.Contains(srv.Stdout.String(), want) })
	}
}
