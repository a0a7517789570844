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

// These tests run oping's client and server in this process against an
// in-process IRM: the real flow path, without a system irmd.

func startServer(t *testing.T) *tooltest.Proc {
	tooltest.Start(t, "pinger")
	return tooltest.Go(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"-l"}, stdout, stderr)
	})
}

func pingRun(t *testing.T, args ...string) (int, string, string) {
	var out, errs bytes.Buffer
	code := run(context.Background(), args, &out, &errs)
	return code, out.String(), errs.String()
}

func TestPing(t *testing.T) {
	srv := startServer(t)
	code, out, errs := pingRun(t, "-n", "pinger", "-c", "5", "-i", "5ms", "-s", "100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"PING pinger (qos best): 100 bytes", "100 bytes from pinger: seq=4 time=",
		"--- pinger ping statistics ---", "5 packets transmitted, 5 received, 0% packet loss, time ",
		"rtt min/avg/max/mdev = "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	tooltest.WaitFor(t, 5*time.Second, "the server to log the flow's end", func() bool {
		return strings.Contains(srv.Stderr.String(), "closed by the client, 5 pings echoed")
	})
	if code := srv.Stop(t); code != 0 {
		t.Fatalf("server exit %d: %s", code, srv.Stderr.String())
	}
	if log := srv.Stderr.String(); !strings.Contains(log, "oping server, pid ") {
		t.Fatalf("server log:\n%s", log)
	}
}

func TestPingFloodQuietManyClients(t *testing.T) {
	startServer(t)
	done := make(chan string, 3)
	for range 3 {
		go func() {
			_, out, errs := pingRun(t, "-n", "pinger", "-f", "-c", "300", "-Q")
			done <- out + errs
		}()
	}
	for range 3 {
		out := <-done
		if !strings.Contains(out, "300 packets transmitted, 300 received, 0% packet loss") || strings.Contains(out, "bytes from") {
			t.Fatalf("flood output:\n%s", out)
		}
	}
}

func TestPingInterruptPrintsSummary(t *testing.T) {
	startServer(t)
	cli := tooltest.Go(t, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"-n", "pinger", "-i", "10ms"}, stdout, stderr)
	})
	tooltest.WaitFor(t, 5*time.Second, "three replies", func() bool { return strings.Contains(cli.Stdout.String(), "seq=2 ") })
	if code := cli.Stop(t); code != 0 {
		t.Fatalf("exit %d after Ctrl-C: %s", code, cli.Stderr.String())
	}
	if out := cli.Stdout.String(); !strings.Contains(out, "--- pinger ping statistics ---") || !strings.Contains(out, "rtt min/avg/max/mdev") {
		t.Fatalf("no summary after Ctrl-C:\n%s", out)
	}
}

func TestPingDurationAndUnreachable(t *testing.T) {
	startServer(t)
	start := time.Now()
	code, out, _ := pingRun(t, "-n", "pinger", "-d", "200ms", "-i", "50ms", "-Q")
	// Pings at 0, 50, 100 and 150 ms; fewer if the machine is loaded.
	m := regexp.MustCompile(`(\d) packets transmitted, (\d) received, 0% packet loss`).FindStringSubmatch(out)
	if took := time.Since(start); code != 0 || took > 2*time.Second || m == nil || m[1] != m[2] || m[1] > "4" {
		t.Fatalf("-d 200ms -i 50ms: exit %d after %v:\n%s", code, took, out)
	}
	code, _, errs := pingRun(t, "-n", "nobody", "-c", "1")
	if code != 1 || !strings.Contains(errs, "irm name register") {
		t.Fatalf("unreachable: exit %d: %s", code, errs)
	}
}
