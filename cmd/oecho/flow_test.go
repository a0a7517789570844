package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"o7s.dev/ouroboros/internal/tool/tooltest"
)

// This test runs oecho's client and server in this process against an
// in-process IRM: the real flow path, without a system irmd.

func TestEcho(t *testing.T) {
	tooltest.Start(t, "echo")
	srv := tooltest.Go(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"-l"}, stdout, stderr)
	})
	for _, msg := range []string{"hello", "a second client"} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), []string{"-n", "echo", "-m", msg}, &out, &errs); code != 0 || out.String() != msg+"\n" {
			t.Fatalf("exit %d, printed %q: %s", code, out.String(), errs.String())
		}
	}
	if code := srv.Stop(t); code != 0 {
		t.Fatalf("server exit %d: %s", code, srv.Stderr.String())
	}
}
