package netlab

import (
	"os/exec"
	"syscall"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

// Proc is a process running in a node, started by Node.Start, StartCmd or
// StartIRMd: hostlab's Proc (PID, Signal to its group, Wait, Exited,
// Output) with the node it runs in. Its methods may be called from any
// goroutine.
type Proc struct {
	*hostlab.Proc
	Node *Node
}

// ErrStillRunning is returned by Wait when the process outlives the wait;
// it is hostlab's, so that helpers can treat both kinds of Proc alike.
var ErrStillRunning = hostlab.ErrStillRunning

func startProc(n *Node, cmd *exec.Cmd) (*Proc, error) {
	p, err := hostlab.Launch(cmd)
	if err != nil {
		return nil, err
	}
	return &Proc{Proc: p, Node: n}, nil
}

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
