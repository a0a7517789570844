package netlab

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

// Proc is a process running in a node, started by Node.Start, StartCmd or
// StartIRMd. Its methods may be called from any goroutine.
type Proc struct {
	Node *Node

	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	err  error
}

// ErrStillRunning is returned by Wait when the process outlives the wait;
// it is hostlab's, so that helpers can treat both kinds of Proc alike.
var ErrStillRunning = hostlab.ErrStillRunning

func startProc(n *Node, cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{Node: n, cmd: cmd, done: make(chan struct{})}
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

// PID returns the process id (that of the program itself: `ip netns exec`
// execs in place).
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Signal sends sig to the process's group, unless it has ended.
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

// Output returns what the process wrote so far to the streams that were
// captured.
func (p *Proc) Output() string { return p.out.String() }

// stopProcs ends procs: SIGTERM and up to grace for all of them together,
// then SIGKILL for the rest.
func stopProcs(procs []*Proc, grace time.Duration) {
	for _, p := range procs {
		p.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		if p.Wait(time.Until(deadline)) == ErrStillRunning {
			p.Signal(syscall.SIGKILL)
		}
	}
	for _, p := range procs {
		p.Wait(time.Second)
	}
}

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
