package e2e

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

// TestE2EOneWayBestStreamCompletes streams 100 000 best-effort SDUs one
// way through a real irmd; the receiver never writes, so only its own
// window advertisements keep the sender going.
func TestE2EOneWayBestStreamCompletes(t *testing.T) {
	h := localHost(t)
	h.MustRun("irm", "name", "register", "stream", "layer", "local")
	h.MustRun("irm", "bind", "process", strconv.Itoa(os.Getpid()), "name", "stream")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, cli := attachTo(t, h), attachTo(t, h)
	w, r := flowPair(t, ctx, srv, cli, "stream", qos.Best)
	const n = 100000
	go func() {
		msg := make([]byte, 200)
		for i := 0; i < n; i++ {
			if _, err := w.Write(msg); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	}()
	buf := make([]byte, 256)
	r.SetReadDeadline(time.Now().Add(time.Minute))
	for i := 0; i < n; i++ {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("read %d of %d: %v", i, n, err)
		}
	}
	w.Close()
}

func attachTo(t *testing.T, h *hostlab.Host) *flow.Process {
	t.Helper()
	p, err := flow.Attach(context.Background(), flow.Config{RunDir: h.RunDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestE2EReaderKilledMidStream kills the receiving ocat while a reliable
// stream runs: the sender must stop with a clear error, not hang.
func TestE2EReaderKilledMidStream(t *testing.T) {
	h := localHost(t)
	h.MustRun("irm", "name", "register", "sink", "layer", "local")
	srvCmd := h.Command("ocat", "-l")
	var received countingWriter // the stream is endless: count, do not keep
	srvCmd.Stdout = &received
	srv := h.StartCmd(srvCmd)
	h.MustRun("irm", "bind", "process", strconv.Itoa(srv.PID()), "name", "sink")
	cli := h.Command("ocat", "-n", "sink", "-q", "data")
	stdin, err := cli.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := h.StartCmd(cli)
	go func() { // an endless stream
		chunk := make([]byte, 64<<10)
		for {
			if _, err := stdin.Write(chunk); err != nil {
				return
			}
		}
	}()
	defer stdin.Close()
	waitFor(t, 10*time.Second, "a megabyte to flow", func() bool { return received.n.Load() > 1<<20 })
	srv.Signal(syscall.SIGKILL)
	err = c.Wait(10 * time.Second)
	if err == nil || errors.Is(err, hostlab.ErrStillRunning) {
		t.Fatalf("writer after its reader was killed: %v, want a non-zero exit\n%s", err, c.Output())
	}
	out := c.Output()
	if !strings.Contains(out, "peer") {
		t.Fatalf("writer (%v) does not say the peer is gone:\n%s", err, out)
	}
	t.Logf("writer said: %s", strings.TrimSpace(out))
}

// countingWriter counts what is written to it and keeps nothing.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}
