// Package irmtest runs an IRM inside a test process, on a temporary run
// directory, so that code using stack/flow can be tested without a system
// irmd. The IRM is the real one; only the process boundary is missing.
package irmtest

import (
	"context"
	"os"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/irm"
)

// Host is an IRM serving a temporary run directory.
type Host struct {
	RunDir string
	IRM    *irm.IRM
	l      *irm.Listener
	served chan error
}

// Options adjusts Start.
type Options struct {
	// BindGrace overrides the IRM's wait for a binding (default 100 ms,
	// shorter than irmd's so failing cases fail fast).
	BindGrace time.Duration
}

// Start runs an IRM with one local layer "local" (IPCP "lo") and stops it
// when the test ends.
func Start(t testing.TB, o Options) *Host {
	t.Helper()
	if o.BindGrace == 0 {
		o.BindGrace = 100 * time.Millisecond
	}
	dir, err := os.MkdirTemp("", "irmtest-")
	if err != nil {
		t.Fatal(err)
	}
	l, err := irm.Listen(dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	h := &Host{RunDir: dir, l: l, served: make(chan error, 1),
		IRM: irm.New(irm.Config{RunDir: dir, BindGrace: o.BindGrace})}
	go func() { h.served <- h.IRM.Serve(l.UnixListener) }()
	t.Cleanup(func() { h.Stop(); os.RemoveAll(dir) })
	if err := h.IRM.Bootstrap(context.Background(), ctrl.IPCPBootstrap{Name: "lo", Layer: "local", Type: "local"}); err != nil {
		t.Fatal(err)
	}
	return h
}

// Serve registers name in the local layer and binds this process to it.
func (h *Host) Serve(t testing.TB, name string) {
	t.Helper()
	if err := h.IRM.RegisterName(ctrl.NameRegister{Name: name, Layers: []string{"local"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.IRM.BindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: name}); err != nil {
		t.Fatal(err)
	}
}

// Stop shuts the IRM down as irmd does on SIGTERM. It is safe to call twice.
func (h *Host) Stop() {
	if h.l == nil {
		return
	}
	h.l.Close()
	h.IRM.Close()
	<-h.served
	h.l = nil
}
