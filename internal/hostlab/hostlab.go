// Package hostlab runs real irmd processes for end-to-end tests: each host
// gets its own run directory (OUROBOROS_RUNDIR), so tests do not touch the
// system's irmd and can run side by side. Everything a test starts is
// stopped, and every file removed, when the test ends, failed or not.
package hostlab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// EnvBin names the directory holding the built binaries; when unset,
// BuildBinaries builds them.
const EnvBin = "OUROBOROS_BIN"

// BuildBinaries returns the directory of the project's binaries: $EnvBin, or
// a fresh build into dir. Call it from TestMain.
func BuildBinaries(dir string) (string, error) {
	if b := os.Getenv(EnvBin); b != "" {
		return b, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building binaries: %v\n%s", err, out)
	}
	return dir, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}

// Host is one irmd with its run directory.
type Host struct {
	t      testing.TB
	Bin    string
	RunDir string

	mu    sync.Mutex
	irmd  *Proc
	procs []*Proc
}

// New makes a host with an empty run directory; StartIRMd starts its daemon.
func New(t testing.TB, bin string) *Host {
	t.Helper()
	dir, err := os.MkdirTemp("", "hostlab-")
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{t: t, Bin: bin, RunDir: dir}
	t.Cleanup(func() {
		h.stopAll()
		os.RemoveAll(dir)
	})
	return h
}

// StartIRMd starts irmd with args and waits until it answers. Without a
// --config argument it gets an empty configuration, so that a system-wide
// /etc/ouroboros/irmd.conf does not leak into tests.
func (h *Host) StartIRMd(args ...string) *Proc {
	h.t.Helper()
	if !hasArg(args, "--config") {
		empty := filepath.Join(h.RunDir, "empty.conf")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			h.t.Fatal(err)
		}
		args = append(args, "--config", empty)
	}
	p := h.Start("irmd", append([]string{"--stdout"}, args...)...)
	h.mu.Lock()
	h.irmd = p
	h.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := ctrl.Dial(h.RunDir); err == nil {
			c.Close()
			return p
		}
		if p.Exited() {
			h.t.Fatalf("irmd exited at start: %v\n%s", p.Wait(time.Second), p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("irmd did not answer within 10 s:\n%s", p.Output())
	return nil
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// IRMd returns the last irmd started.
func (h *Host) IRMd() *Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.irmd
}

// Command returns a command running the project's binary name (or any
// program, if name holds a slash or is not built) against this host.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return h.CommandContext(context.Background(), name, args...)
}

// CommandContext is Command with a context that kills the command's
// process group when done.
func (h *Host) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(h.Bin, name)
	if strings.Contains(name, "/") {
		path = name
	} else if _, err := os.Stat(path); err != nil {
		path = name
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), ctrl.EnvRunDir+"="+h.RunDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// Run runs a command to completion within a minute and returns its
// combined output and error.
func (h *Host) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := h.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// MustRun runs a command and fails the test if it fails.
func (h *Host) MustRun(name string, args ...string) string {
	h.t.Helper()
	out, err := h.Run(name, args...)
	if err != nil {
		h.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// Start starts a command in the background; it is killed when the test ends.
func (h *Host) Start(name string, args ...string) *Proc {
	h.t.Helper()
	return h.StartCmd(h.Command(name, args...))
}

// StartCmd starts a prepared command (stdin and stdout may be set; output
// not redirected is captured).
func (h *Host) StartCmd(cmd *exec.Cmd) *Proc {
	h.t.Helper()
	p, err := Launch(cmd)
	if err != nil {
		h.t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p
}

// Launch starts cmd, capturing the standard output and error it does not
// redirect itself, and reaps it when it ends. Callers own stopping it.
func Launch(cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = &p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &p.out
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stopAll ends every process: SIGTERM first so that irmd cleans up, then
// SIGKILL for whatever is left.
func (h *Host) stopAll() {
	h.mu.Lock()
	procs := append([]*Proc(nil), h.procs...)
	h.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		if p.Wait(5*time.Second) == ErrStillRunning {
			p.Signal(syscall.SIGKILL)
			p.Wait(5 * time.Second)
		}
	}
}

// Proc is a background process.
type Proc struct {
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	err  error
}

// ErrStillRunning is returned by Wait when the process outlives the wait.
var ErrStillRunning = fmt.Errorf("process still running")

// PID returns the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Signal sends sig to the process's group.
func (p *Proc) Signal(sig syscall.Signal) {
	if !p.Exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// Wait waits up to d for the process to end and returns its exit error
// (nil for status 0), or ErrStillRunning.
func (p *Proc) Wait(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		select {
		case <-p.done:
			return p.err
		default:
			return ErrStillRunning
		}
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output returns what the process wrote to the captured streams so far.
func (p *Proc) Output() string { return p.out.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// BuildAttacker builds the attacking tool internal/attack/NAME (test-only
// programs that play a hostile peer or local user) and returns its path.
// Go's build cache makes a rebuild in a later test cheap.
func BuildAttacker(t testing.TB, name string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("building attacker %s: %v", name, err)
	}
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "./internal/attack/"+name)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building attacker %s: %v\n%s", name, err, b)
	}
	return out
}
