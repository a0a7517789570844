package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/internal/tool/tooltest"
)

// These tests run ocat's client and server in this process against an
// in-process IRM: the real flow path, without a system irmd.

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{7})
	r.Read(b)
	return b
}

func server(t *testing.T, stdin io.Reader, args ...string) *tooltest.Proc {
	return tooltest.Go(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, append([]string{"-l"}, args...), stdin, stdout, stderr)
	})
}

func client(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	var out, errs bytes.Buffer
	code := run(context.Background(), args, stdin, &out, &errs)
	return code, out.String(), errs.String()
}

func TestCatCopiesBytesExactly(t *testing.T) {
	tooltest.Start(t, "cat")
	data := randomBytes(24<<20 + 12345) // not a whole number of SDUs
	srv := server(t, strings.NewReader(""))
	if code, _, errs := client(t, bytes.NewReader(data), "-n", "cat", "-q", "data"); code != 0 {
		t.Fatalf("client exit %d: %s", code, errs)
	}
	if code := srv.Wait(t, 10*time.Second); code != 0 {
		t.Fatalf("server exit %d: %s", code, srv.Stderr.String())
	}
	if got := srv.Stdout.Bytes(); !bytes.Equal(got, data) {
		t.Fatalf("server wrote %d bytes, client sent %d: not identical", len(got), len(data))
	}
	if !strings.Contains(srv.Stderr.String(), "ocat server, pid ") || !strings.Contains(srv.Stderr.String(), ": accepting flows for cat\n") {
		t.Errorf("server banner missing: %q", srv.Stderr.String())
	}
}

func TestCatServerSends(t *testing.T) {
	tooltest.Start(t, "cat")
	data := randomBytes(3 << 20)
	srv := server(t, bytes.NewReader(data), "-s")
	code, out, errs := client(t, strings.NewReader("ignored"), "-n", "cat", "-R")
	if code != 0 {
		t.Fatalf("client exit %d: %s", code, errs)
	}
	if out != string(data) {
		t.Fatalf("client printed %d bytes, server sent %d: not identical", len(out), len(data))
	}
	if code := srv.Wait(t, 5*time.Second); code != 0 {
		t.Fatalf("server exit %d: %s", code, srv.Stderr.String())
	}
}

func TestCatBothWaysServerEndsFirst(t *testing.T) {
	tooltest.Start(t, "cat")
	// The client's input never ends; the server's end of input ends the
	// transfer for both. The client's input (a pipe, not a terminal) was not
	// at its end, so the client reports the transfer cut short.
	cin, cw := io.Pipe()
	defer cw.Close()
	sin, sw := io.Pipe()
	defer sw.Close()
	srv := server(t, sin, "-s")
	done := make(chan int, 1)
	var out, errs tooltest.Buffer
	go func() { done <- run(context.Background(), []string{"-n", "cat"}, cin, &out, &errs) }()
	io.WriteString(cw, "from the client\n")
	io.WriteString(sw, "from the server\n")
	tooltest.WaitFor(t, 5*time.Second, "both lines to cross", func() bool {
		return srv.Stdout.String() == "from the client\n" && out.String() == "from the server\n"
	})
	sw.Close()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errs.String(), "before all of standard input was sent") {
			t.Fatalf("client exit %d (%s), want 1 saying its input was cut short", code, errs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client did not end when the server closed the flow")
	}
	if code := srv.Wait(t, 5*time.Second); code != 0 {
		t.Fatalf("server exit %d: %s", code, srv.Stderr.String())
	}
}

func TestCatKeepAccepting(t *testing.T) {
	tooltest.Start(t, "cat")
	srv := server(t, strings.NewReader(""), "-k")
	for _, msg := range []string{"one\n", "two\n", "three\n"} {
		if code, _, errs := client(t, strings.NewReader(msg), "-n", "cat"); code != 0 {
			t.Fatalf("client exit %d: %s", code, errs)
		}
		tooltest.WaitFor(t, 5*time.Second, "the server to log the end of "+msg, func() bool {
			return strings.HasSuffix(srv.Stderr.String(), fmt.Sprintf("ended: %d bytes received\n", len(msg)))
		})
	}
	if code := srv.Stop(t); code != 0 {
		t.Fatalf("server stopped while waiting: exit %d, want 0: %q", code, srv.Stderr.String())
	}
	if srv.Stdout.String() != "one\ntwo\nthree\n" {
		t.Fatalf("server printed %q", srv.Stdout.String())
	}
}

func TestCatUnreachableSaysWhatToDo(t *testing.T) {
	tooltest.Start(t)
	code, _, errs := client(t, strings.NewReader("x"), "-n", "nobody")
	if code != tool.ExitFailure || !strings.Contains(errs, "irm name register") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
