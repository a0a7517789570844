package flow

import (
	"context"
	"errors"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/seqpkt"
)

// Config configures Attach.
type Config struct {
	// RunDir is irmd's run directory; "" means $OUROBOROS_RUNDIR or /run/ouroboros.
	RunDir string
}

// Process is this process's attachment to irmd. It owns the process's flows:
// when it is closed, or the process exits, irmd deallocates them. Its methods
// are safe for concurrent use.
type Process struct {
	client *ctrl.Client

	mu    sync.Mutex
	flows map[uint64]*Flow
	// reasons holds FlowDown notices that arrived before their flow was
	// registered (a race between the reply and the notice).
	reasons map[uint64]ctrl.Reason

	reportMu sync.Mutex // serialises reports to irmd (report.go)
}

// Attach connects to irmd and announces this process. It fails with an error
// matching ErrIRMd when irmd cannot be reached.
func Attach(ctx context.Context, cfg Config) (*Process, error) {
	p := &Process{flows: make(map[uint64]*Flow), reasons: make(map[uint64]ctrl.Reason)}
	c, err := ctrl.Connect(ctx, cfg.RunDir, ctrl.RoleApp, p.notify)
	if err != nil {
		return nil, &OpError{Op: "attach", Err: fromCtrl(err)}
	}
	p.client = c
	go p.routineWatchIRMd()
	go p.routineReport()
	return p, nil
}

// PID returns this process's pid as irmd knows it, for example to bind it to
// a name with 'irm bind process'.
func (p *Process) PID() int { return p.client.PID() }

// Done is closed when the connection to irmd has ended: irmd exited or
// restarted, or Close was called. The process's flows are down by then; a
// long-running program attaches again (a new Process) to carry on.
func (p *Process) Done() <-chan struct{} { return p.client.Done() }

// Close deallocates every flow of the process and detaches from irmd.
func (p *Process) Close() error {
	for _, f := range p.snapshot() {
		f.Close()
	}
	return p.client.Close()
}

// Alloc allocates a flow to name with the QoS spec q. The context bounds the
// allocation; it does not bound the flow's life.
func (p *Process) Alloc(ctx context.Context, name string, q qos.Spec) (*Flow, error) {
	req := ctrl.FlowAlloc{Name: name, QoS: q, TimeoutMS: timeoutMS(ctx)}
	f, err := p.newFlow(ctx, ctrl.OpFlowAlloc, req)
	if err != nil {
		return nil, &OpError{Op: "alloc", Name: name, Err: err}
	}
	return f, nil
}

// Accept waits for a flow to one of the names this process is bound to (by
// 'irm bind process', or through its program with 'irm bind program').
func (p *Process) Accept(ctx context.Context) (*Flow, error) {
	req := ctrl.FlowAccept{TimeoutMS: timeoutMS(ctx)}
	f, err := p.newFlow(ctx, ctrl.OpFlowAccept, req)
	if err != nil {
		return nil, &OpError{Op: "accept", Err: err}
	}
	return f, nil
}

func timeoutMS(ctx context.Context) int64 {
	if dl, ok := ctx.Deadline(); ok {
		ms := time.Until(dl).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		return ms
	}
	return 0
}

func (p *Process) newFlow(ctx context.Context, op ctrl.Op, req any) (*Flow, error) {
	var info ctrl.FlowInfo
	fd, err := p.client.Call(ctx, op, req, &info)
	if err != nil {
		return nil, fromCtrl(err)
	}
	if fd < 0 {
		return nil, errors.New("irmd sent no flow descriptor")
	}
	conn, err := seqpkt.New(fd, "flow:"+info.Name)
	if err != nil {
		return nil, err
	}
	f, err := newFlow(p, info, conn)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.flows[info.ID] = f
	if r, ok := p.reasons[info.ID]; ok {
		delete(p.reasons, info.ID)
		f.markDown(r)
	}
	p.mu.Unlock()
	return f, nil
}

func (p *Process) forget(id uint64) {
	p.mu.Lock()
	delete(p.flows, id)
	p.mu.Unlock()
}

func (p *Process) snapshot() []*Flow {
	p.mu.Lock()
	defer p.mu.Unlock()
	fs := make([]*Flow, 0, len(p.flows))
	for _, f := range p.flows {
		fs = append(fs, f)
	}
	return fs
}

// notify handles irmd's notifications, on the control reader goroutine.
func (p *Process) notify(m *ctrl.Msg) {
	if m.Op != ctrl.OpFlowDown {
		return
	}
	var d ctrl.FlowDown
	if err := decodeBody(m, &d); err != nil {
		return
	}
	p.mu.Lock()
	f, ok := p.flows[d.ID]
	if !ok {
		p.reasons[d.ID] = d.Reason
	}
	p.mu.Unlock()
	if ok {
		f.markDown(d.Reason)
	}
}

// routineWatchIRMd marks every flow down when the control connection ends,
// so that readers learn why their flow's socket closed.
func (p *Process) routineWatchIRMd() {
	<-p.client.Done()
	for _, f := range p.snapshot() {
		f.markDown(ctrl.ReasonDown)
	}
}
