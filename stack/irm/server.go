package irm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"

	"o7s.dev/ouroboros/stack/ctrl"
)

// proc is one control connection: a process (or a thread of one; several
// connections may share a pid) or a management client.
type proc struct {
	conn *ctrl.Conn
	pid  int
	uid  int
	role ctrl.Role
	seq  uint64 // order of attachment
	prog string
	// accepts holds the process's pending accept requests, oldest first.
	// Guarded by IRM.mu.
	accepts []*acceptReq
}

// notify sends a notification; a failure means the process is going away,
// which the connection's reader notices.
func (p *proc) notify(op ctrl.Op, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		return
	}
	_ = p.conn.Send(&ctrl.Msg{Op: op, Body: b}, -1)
}

// Serve accepts control connections on l until l is closed.
func (m *IRM) Serve(l *net.UnixListener) error {
	for {
		uc, err := l.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.routineConn(ctrl.NewConn(uc))
		}()
	}
}

// routineConn serves one connection: a hello, then requests, each answered
// on its own goroutine since allocations and accepts block.
func (m *IRM) routineConn(conn *ctrl.Conn) {
	defer conn.Close()
	pid, uid, err := conn.PeerCred()
	if err != nil {
		m.log.Warn("control connection without credentials", "err", err)
		return
	}
	pr := &proc{conn: conn, pid: pid, uid: uid}
	var reqs sync.WaitGroup
	defer reqs.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		msg, fd, err := conn.Recv()
		if fd >= 0 {
			closeFD(fd) // clients never send descriptors
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				m.log.Debug("control connection ended", "pid", pid, "err", err)
			}
			break
		}
		if pr.role == "" {
			if err := m.hello(pr, msg); err != nil {
				_ = conn.Send(ctrl.ErrorReply(msg, err), -1)
				return
			}
			continue
		}
		reqs.Add(1)
		go func() {
			defer reqs.Done()
			m.handle(ctx, pr, msg)
		}()
	}
	cancel()
	m.procGone(pr)
}

func (m *IRM) hello(pr *proc, msg *ctrl.Msg) error {
	if msg.Op != ctrl.OpHello {
		return ctrl.Errorf(ctrl.CodeInvalid, "the first message must be %s, not %s", ctrl.OpHello, msg.Op)
	}
	var h ctrl.Hello
	if err := json.Unmarshal(msg.Body, &h); err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "bad hello: %v", err)
	}
	if h.Role != ctrl.RoleApp && h.Role != ctrl.RoleMgmt {
		return ctrl.Errorf(ctrl.CodeInvalid, "unknown role %q", h.Role)
	}
	pr.role, pr.prog = h.Role, h.Prog
	m.addProc(pr)
	rep, _ := ctrl.Reply(msg, ctrl.HelloReply{PID: pr.pid, Version: m.cfg.Version})
	return pr.conn.Send(rep, -1)
}

// handler serves one request. It returns the reply body, and a descriptor
// to pass along with it (else -1), which handle closes after sending.
type handler func(ctx context.Context, pr *proc, body json.RawMessage) (any, int, error)

func (m *IRM) handlers() map[ctrl.Op]handler {
	return map[ctrl.Op]handler{
		ctrl.OpFlowAlloc:  m.handleAlloc,
		ctrl.OpFlowAccept: m.handleAccept,
		ctrl.OpFlowList:   mgmt(m.handleFlowList),
		ctrl.OpFlowReport: m.handleFlowReport,

		ctrl.OpIPCPCreate:     mgmt(m.handleIPCPCreate),
		ctrl.OpIPCPDestroy:    mgmt(m.handleIPCPDestroy),
		ctrl.OpIPCPBootstrap:  mgmt(m.handleBootstrap),
		ctrl.OpIPCPEnroll:     mgmt(m.handleEnroll),
		ctrl.OpIPCPConnect:    mgmt(m.handleConnect),
		ctrl.OpIPCPDisconnect: mgmt(m.handleDisconnect),
		ctrl.OpIPCPList:       m.handleIPCPList,

		ctrl.OpNameCreate:     mgmt(m.handleNameCreate),
		ctrl.OpNameDestroy:    mgmt(m.handleNameDestroy),
		ctrl.OpNameRegister:   mgmt(m.handleNameRegister),
		ctrl.OpNameUnregister: mgmt(m.handleNameUnregister),
		ctrl.OpNameList:       m.handleNameList,

		ctrl.OpBindProgram:   mgmt(m.handleBindProgram),
		ctrl.OpUnbindProgram: mgmt(m.handleUnbindProgram),
		ctrl.OpBindProcess:   mgmt(m.handleBindProcess),
		ctrl.OpUnbindProcess: mgmt(m.handleUnbindProcess),
		ctrl.OpBindIPCP:      mgmt(m.handleBindIPCP),
		ctrl.OpUnbindIPCP:    mgmt(m.handleUnbindIPCP),
	}
}

// mgmt guards a handler that changes the host's configuration: only root
// and irmd's own user may, since a bound program may be started by irmd.
func mgmt(h handler) handler {
	return func(ctx context.Context, pr *proc, body json.RawMessage) (any, int, error) {
		if pr.uid != 0 && pr.uid != selfUID() {
			return nil, -1, ctrl.Errorf(ctrl.CodeNotAllowed, "only root or irmd's user may change the IRM (you are uid %d)", pr.uid)
		}
		return h(ctx, pr, body)
	}
}

func (m *IRM) handle(ctx context.Context, pr *proc, msg *ctrl.Msg) {
	h, ok := m.handlers()[msg.Op]
	var body any
	fd := -1
	var err error
	if !ok {
		err = ctrl.Errorf(ctrl.CodeInvalid, "unknown request %q", msg.Op)
	} else {
		body, fd, err = h(ctx, pr, msg.Body)
	}
	var rep *ctrl.Msg
	if err == nil {
		rep, err = ctrl.Reply(msg, body)
	}
	if err != nil {
		rep = ctrl.ErrorReply(msg, err)
	}
	if serr := pr.conn.Send(rep, fd); serr != nil {
		m.log.Debug("reply not delivered", "pid", pr.pid, "op", msg.Op, "err", serr)
	}
	closeFD(fd)
}

// decode unmarshals a request body, answering CodeInvalid on bad input.
func decode(body json.RawMessage, v any) error {
	if len(body) == 0 {
		return ctrl.Errorf(ctrl.CodeInvalid, "empty request")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return ctrl.Errorf(ctrl.CodeInvalid, "bad request: %v", err)
	}
	return nil
}
