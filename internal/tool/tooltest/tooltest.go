// Package tooltest runs the tools' run functions against an in-process IRM,
// so that their tests cover the real flow path without a system irmd.
package tooltest

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/irm/irmtest"
)

// Start runs an IRM with a local layer, points $OUROBOROS_RUNDIR at it for
// the rest of the test, and registers and binds each name to this process.
func Start(t *testing.T, names ...string) *irmtest.Host {
	t.Helper()
	h := irmtest.Start(t, irmtest.Options{})
	t.Setenv(ctrl.EnvRunDir, h.RunDir)
	for _, n := range names {
		h.Serve(t, n)
	}
	return h
}

// Buffer is a bytes.Buffer safe for a writer and a reader in different
// goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Bytes returns a copy of what was written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// RunFunc is a tool's run function with its standard streams bound.
type RunFunc func(ctx context.Context, stdout, stderr io.Writer) int

// Proc is a tool running in the background.
type Proc struct {
	Stdout, Stderr Buffer
	cancel         context.CancelFunc
	code           chan int
}

// Go starts run in a goroutine; the test's cleanup stops it.
func Go(t *testing.T, run RunFunc) *Proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{cancel: cancel, code: make(chan int, 1)}
	go func() { p.code <- run(ctx, &p.Stdout, &p.Stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.code:
		case <-time.After(5 * time.Second):
			t.Errorf("background tool did not stop within 5 s of its cancellation")
		}
	})
	return p
}

// Stop cancels the tool's context, as SIGINT does, and returns its exit code.
func (p *Proc) Stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	return p.Wait(t, 5*time.Second)
}

// Wait returns the tool's exit code, failing the test if it runs longer than d.
func (p *Proc) Wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case c := <-p.code:
		p.code <- c // for the cleanup
		return c
	case <-time.After(d):
		t.Fatalf("tool still running after %v; stdout:\n%s\nstderr:\n%s", d, p.Stdout.String(), p.Stderr.String())
		return -1
	}
}

// WaitFor polls cond every 10 ms until it holds, failing the test after d.
func WaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
