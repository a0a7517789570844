package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

// bin is the directory of the binaries under test, set by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, err = hostlab.BuildBinaries(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// localHost starts an irmd with a local layer "local" (IPCP "lo").
func localHost(t *testing.T) *hostlab.Host {
	t.Helper()
	h := hostlab.New(t, bin)
	h.StartIRMd()
	h.MustRun("irm", "ipcp", "bootstrap", "name", "lo", "layer", "local", "type", "local")
	return h
}

// serve registers name in the local layer, starts a server and binds it.
func serve(t *testing.T, h *hostlab.Host, name, tool string, args ...string) *hostlab.Proc {
	t.Helper()
	h.MustRun("irm", "name", "register", name, "layer", "local")
	p := h.Start(tool, args...)
	h.MustRun("irm", "bind", "process", strconv.Itoa(p.PID()), "name", name)
	return p
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Fatalf("output lacks %q:\n%s", s, out)
		}
	}
}
