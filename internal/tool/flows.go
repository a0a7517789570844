package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

// Timeouts for the control operations the tools make. Allocation may cross
// a network and resolve the name in a directory, so it gets longer.
const (
	AttachTimeout = 10 * time.Second
	AllocTimeout  = 30 * time.Second
)

// MaxBuf bounds the receive buffers the tools allocate per SDU. A flow whose
// MaxSDU is larger still works with the tools' own peers, which never send
// SDUs that large.
const MaxBuf = 1 << 20

// SignalContext returns a context that ends on SIGINT or SIGTERM. After the
// first signal the default handling comes back, so a second Ctrl-C kills a
// tool that is slow to wind down.
func SignalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// Attach attaches to irmd, giving up after AttachTimeout. Its error already
// says how to start irmd and which run directory was tried.
func Attach(ctx context.Context) (*flow.Process, error) {
	ctx, cancel := context.WithTimeout(ctx, AttachTimeout)
	defer cancel()
	return flow.Attach(ctx, flow.Config{})
}

// Alloc allocates a flow to name, giving up after AllocTimeout or at ctx's
// deadline if that comes first, with a hint on what to check when no one
// answers.
func Alloc(ctx context.Context, p *flow.Process, name string, q qos.Spec) (*flow.Flow, error) {
	ctx, cancel := context.WithTimeout(ctx, AllocTimeout)
	defer cancel()
	wait := AllocTimeout
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl).Round(time.Millisecond)
	}
	f, err := p.Alloc(ctx, name, q)
	if err != nil {
		return nil, allocHint(err, name, wait)
	}
	return f, nil
}

func allocHint(err error, name string, wait time.Duration) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no route to the member"):
		return fmt.Errorf("%w\n  the layer has no path to the host where %s is registered: check the adjacencies on the way (irm ipcp list, NEIGHBOURS)", err, name)
	case strings.Contains(msg, "irm "):
		return err // irmd already said which irm command to run, and where
	case errors.Is(err, flow.ErrUnreachable):
		return fmt.Errorf("%w\n  is a server bound to %s? try: irm bind process PID name %s\n"+
			"  and is %s registered in a layer? try: irm name register %s layer LAYER", err, name, name, name, name)
	case errors.Is(err, flow.ErrTimeout):
		return fmt.Errorf("%w\n  no answer within %s: is a server bound to %s and accepting flows?", err, wait, name)
	case errors.Is(err, flow.ErrNotAllowed):
		return fmt.Errorf("%w\n  the host's policy refuses this flow; check irmd's configuration for %s", err, name)
	}
	return err
}

// Banner tells, on w, which names the server p accepts flows for, or, when
// it is bound to none yet, how to bind it: with the tool's own name, the
// name its examples use. Servers print it on start.
func Banner(ctx context.Context, w io.Writer, p *flow.Process, tool string) {
	ctx, cancel := context.WithTimeout(ctx, AttachTimeout)
	defer cancel()
	pid := p.PID()
	names, err := p.Names(ctx)
	switch {
	case err != nil:
		fmt.Fprintf(w, "%s server, pid %d: bind it to the name clients use with 'irm bind process %d name NAME' (such as %s)\n", tool, pid, pid, tool)
	case len(names) == 0:
		fmt.Fprintf(w, "%s server, pid %d: bound to no name yet; bind it with 'irm bind process %d name %s' (or the name clients use)\n", tool, pid, pid, tool)
	default:
		fmt.Fprintf(w, "%s server, pid %d: accepting flows for %s\n", tool, pid, strings.Join(names, ", "))
	}
}

// Serve accepts flows until ctx ends and runs handle on each in its own
// goroutine. When ctx ends it closes the flows, so that blocked reads return,
// and waits for every handler. It fails when irmd goes away; other accept
// errors are reported on stderr and accepting goes on.
func Serve(ctx context.Context, p *flow.Process, stderr io.Writer, handle func(*flow.Flow)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		f, err := p.Accept(ctx)
		switch {
		case ctx.Err() != nil:
			if f != nil {
				f.Close()
			}
			return nil
		case errors.Is(err, flow.ErrIRMd), errors.Is(err, flow.ErrClosed):
			return err
		case err != nil:
			fmt.Fprintf(stderr, "accept: %v\n", err)
			// Do not spin if irmd keeps refusing.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		stop := context.AfterFunc(ctx, func() { f.Close() })
		wg.Go(func() {
			defer f.Close()
			defer stop()
			handle(f)
		})
	}
}

// SDUBuf returns the size of a buffer that holds any SDU of a flow with the
// given MaxSDU, bounded by MaxBuf (and MaxBuf when MaxSDU is unknown).
func SDUBuf(maxSDU int) int {
	if maxSDU <= 0 || maxSDU > MaxBuf {
		return MaxBuf
	}
	return maxSDU
}

// Batch returns n buffers of size bytes each, carved from one allocation,
// and a lengths slice to go with them, for ReadBatch.
func Batch(n, size int) ([][]byte, []int) {
	mem := make([]byte, n*size)
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return bufs, make([]int, n)
}

// Ended reports whether err is the normal end of a flow: the peer closed it
// (the flow's own close shows as ErrClosed, which counts too).
func Ended(err error) bool {
	return errors.Is(err, flow.ErrPeerGone) || errors.Is(err, flow.ErrClosed)
}

// Interactive reports whether w is a terminal, where tools print progress
// that would only clutter a file or a pipe.
func Interactive(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && IsTerminal(f)
}

// WithProcess attaches to irmd, runs fn with the attachment, detaches, and
// returns the tool's exit code for fn's error (or the attach error, which
// says how to start irmd).
func WithProcess(ctx context.Context, name string, stderr io.Writer, fn func(p *flow.Process) error) int {
	p, err := Attach(ctx)
	if err != nil {
		return Exit(name, err, stderr)
	}
	defer p.Close()
	return Exit(name, fn(p), stderr)
}
