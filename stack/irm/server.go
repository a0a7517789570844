package irm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// proc is one control connection: a process (or a thread of one; several
// connections may share a pid) or a management client.
type proc struct {
	conn *ctrl.Conn
	pid  int
	uid  int
	// groups are the process's effective and supplementary gids.
	groups []int
	role   ctrl.Role
	seq    uint64 // order of attachment
	// prog is the executable the kernel says the process runs (see
	// identity), never the one its hello names.
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

// Serve accepts control connections on l until l is closed. Running out of
// descriptors or memory does not end it: it waits, longer each time, and
// accepts again once some are free (see acceptBackoff).
func (m *IRM) Serve(l *net.UnixListener) error {
	var wait time.Duration
	for {
		uc, err := l.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if wait = m.acceptBackoff(err, wait); wait == 0 {
				return err
			}
			time.Sleep(wait)
			continue
		}
		wait = 0
		if !m.track() {
			uc.Close() // irmd is closing
			return nil
		}
		go func() {
			defer m.wg.Done()
			m.routineConn(ctrl.NewConn(uc))
		}()
	}
}

// routineConn serves one connection: a hello, then requests, each answered
// on its own goroutine since allocations and accepts block. The hello must
// come within the hello timeout, and a connection over its user's limit is
// refused in answer to it.
func (m *IRM) routineConn(conn *ctrl.Conn) {
	defer conn.Close()
	peer, err := conn.Peer()
	if err != nil {
		m.log.Warn("control connection without credentials", "err", err)
		return
	}
	defer func() { closeFD(peer.PIDFD) }() // if the hello did not close it
	pr := &proc{conn: conn, pid: peer.PID, uid: peer.UID}
	refused := m.limits.addConn(pr)
	helloTimeout := m.limits.cfg.HelloTimeout
	if refused == nil {
		defer m.limits.dropConn(pr)
	} else {
		m.refusals.Log(slog.LevelWarn, "connection limit", "control connection refused", "pid", pr.pid, "uid", pr.uid, "err", refused)
		// Not counted, so kept short: a client sends its hello at once,
		// and a flood of refused connections must not hold descriptors.
		helloTimeout = min(helloTimeout, refusedHelloTimeout)
	}
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
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
			if errors.Is(err, os.ErrDeadlineExceeded) && pr.role == "" {
				m.refusals.Log(slog.LevelWarn, "hello timeout", "control connection closed: no hello in time",
					"pid", pr.pid, "uid", pr.uid, "timeout", m.limits.cfg.HelloTimeout)
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				m.log.Debug("control connection ended", "pid", pr.pid, "err", err)
			}
			break
		}
		if pr.role == "" {
			if refused == nil {
				refused = m.hello(pr, msg, peer)
			}
			closeFD(peer.PIDFD) // the process is identified
			peer.PIDFD = -1
			if refused != nil {
				_ = conn.Send(ctrl.ErrorReply(msg, refused), -1)
				return
			}
			_ = conn.SetReadDeadline(time.Time{})
			continue
		}
		reqs.Add(1)
		go func() {
			defer reqs.Done()
			m.handle(ctx, pr, msg)
		}()
	}
	cancel()
	if pr.role != "" {
		m.procGone(pr)
	}
}

// hello identifies the process from what the kernel says (readIdentity):
// the program its hello names is not trusted, since any process can name
// any program.
func (m *IRM) hello(pr *proc, msg *ctrl.Msg, peer ctrl.Peer) error {
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
	id, err := readIdentity(peer)
	if err != nil {
		return ctrl.Errorf(ctrl.CodeNotAllowed, "irmd could not identify the process: %v", err)
	}
	if h.Prog != "" && h.Prog != id.exe {
		m.refusals.Log(slog.LevelWarn, "hello program", "hello names another program than the process runs; using the kernel's",
			"pid", pr.pid, "uid", pr.uid, "hello", h.Prog, "exe", id.exe)
	}
	pr.role, pr.prog, pr.groups = h.Role, id.exe, id.groups
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
		ctrl.OpFlowList:   m.mgmt(m.handleFlowList),
		ctrl.OpFlowReport: m.handleFlowReport,

		ctrl.OpIPCPCreate:     m.mgmt(m.handleIPCPCreate),
		ctrl.OpIPCPDestroy:    m.mgmt(m.handleIPCPDestroy),
		ctrl.OpIPCPBootstrap:  m.mgmt(m.handleBootstrap),
		ctrl.OpIPCPEnroll:     m.mgmt(m.handleEnroll),
		ctrl.OpIPCPConnect:    m.mgmt(m.handleConnect),
		ctrl.OpIPCPDisconnect: m.mgmt(m.handleDisconnect),
		ctrl.OpIPCPList:       m.handleIPCPList,

		ctrl.OpNameCreate:     m.mgmt(m.handleNameCreate),
		ctrl.OpNameDestroy:    m.mgmt(m.handleNameDestroy),
		ctrl.OpNameRegister:   m.mgmt(m.handleNameRegister),
		ctrl.OpNameUnregister: m.mgmt(m.handleNameUnregister),
		ctrl.OpNameList:       m.handleNameList,

		ctrl.OpBindProgram:   m.mgmt(m.handleBindProgram),
		ctrl.OpUnbindProgram: m.mgmt(m.handleUnbindProgram),
		ctrl.OpBindProcess:   m.mgmt(m.handleBindProcess),
		ctrl.OpUnbindProcess: m.mgmt(m.handleUnbindProcess),
		ctrl.OpBindIPCP:      m.mgmt(m.handleBindIPCP),
		ctrl.OpUnbindIPCP:    m.mgmt(m.handleUnbindIPCP),
	}
}

// mgmt guards a handler that changes the host's configuration or shows
// every process's flows: only root, irmd's user and the members of the
// management group ([irmd] group) may, since a bound program may be
// started by irmd, and a binding decides who gets a name's flows.
func (m *IRM) mgmt(h handler) handler {
	return func(ctx context.Context, pr *proc, body json.RawMessage) (any, int, error) {
		if !m.manages(pr) {
			return nil, -1, ctrl.Errorf(ctrl.CodeNotAllowed,
				"only root, irmd's user or a member of [irmd] group may change the IRM (you are uid %d)", pr.uid)
		}
		return h(ctx, pr, body)
	}
}

// manages reports whether pr may manage the IRM.
func (m *IRM) manages(pr *proc) bool {
	return pr.uid == 0 || pr.uid == selfUID() || (m.cfg.MgmtGroup > 0 && inGroup(pr.groups, m.cfg.MgmtGroup))
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
		if err == nil {
			// The reply itself failed (too large, say): the caller gets
			// why instead of waiting for an answer that never comes.
			_ = pr.conn.Send(ctrl.ErrorReply(msg, ctrl.Errorf(ctrl.CodeInternal, "irmd could not send its reply: %v", serr)), -1)
		}
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
