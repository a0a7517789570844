package irm

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"o7s.dev/ouroboros/stack/ctrl"
)

// BindProgram binds a program (an absolute path) to a name. Processes of
// the program that attach later are bound to the name; with auto, a flow
// request nobody accepts starts the program with args. Only processes of
// req.User (default: irmd's own user) or of a member of req.Group serve
// the name.
func (m *IRM) BindProgram(req ctrl.BindProgram) error {
	return m.bindProgram(req, selfUID())
}

// bindProgram binds a program for the user binder: the binding's owner
// unless the request names a user.
func (m *IRM) bindProgram(req ctrl.BindProgram, binder int) error {
	if err := CheckProgram(req.Prog); err != nil {
		return err
	}
	pb := progBinding{prog: filepath.Clean(req.Prog), auto: req.Auto, args: req.Args, uid: binder, gid: -1}
	var err error
	if req.User != "" {
		if pb.uid, err = UserID(req.User); err != nil {
			return err
		}
	}
	if req.Group != "" {
		if pb.gid, err = GroupID(req.Group); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, err := m.nameLocked(req.Name, true)
	if err != nil {
		return err
	}
	replaced := false
	for i := range nm.progs {
		if nm.progs[i].prog == pb.prog {
			nm.progs[i], replaced = pb, true
		}
	}
	if !replaced {
		nm.progs = append(nm.progs, pb)
	}
	// Running processes of the program inherit the binding now.
	for pr := range m.procs {
		if pr.role == ctrl.RoleApp && pb.serves(pr) {
			nm.bindPID(pr.pid, pr.uid)
		}
	}
	m.signalLocked()
	return nil
}

// serves reports whether a process of pb's program serves the names pb
// binds: one of the binding's user, or of a member of its group. A process
// of the same program run by anyone else does not: it would take flows
// (and their keys) meant for the owner's server.
func (pb *progBinding) serves(pr *proc) bool {
	if !sameProgram(pr.prog, pb.prog) {
		return false
	}
	return pr.uid == pb.uid || (pb.gid >= 0 && inGroup(pr.groups, pb.gid))
}

// mayAccept refuses accept to a process that serves no name while its
// program is bound to one for another user: it would wait for flows it
// will never get (a process of the same program run by another user is
// not the binding's server). A process that serves no name for no such
// reason may wait: it may be bound later.
func (m *IRM) mayAccept(pr *proc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, nm := range m.names {
		if nm.servedBy(pr) {
			return nil
		}
	}
	var refused *name
	var pb *progBinding
	for _, nm := range m.names {
		for i := range nm.progs {
			if sameProgram(pr.prog, nm.progs[i].prog) && !nm.progs[i].serves(pr) {
				refused, pb = nm, &nm.progs[i]
			}
		}
	}
	if refused == nil {
		return nil
	}
	return ctrl.Errorf(ctrl.CodeNotAllowed,
		"%s is bound to %q for uid %d's processes, and this one is uid %d's: it serves no name; the administrator may bind it for you with 'irm bind program %s name %s user %d' (or group GROUP)",
		pb.prog, refused.name, pb.uid, pr.uid, pb.prog, refused.name, pr.uid)
}

// UserID resolves a user given by name or number, as a binding's user.
func UserID(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, ctrl.Errorf(ctrl.CodeNotFound, "no user %q on this host: name another, or give a uid", s)
	}
	return strconv.Atoi(u.Uid)
}

// GroupID resolves a group given by name or number, as a binding's group
// or the management group.
func GroupID(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, ctrl.Errorf(ctrl.CodeNotFound, "no group %q on this host: create it (groupadd %s), name another, or give a gid", s, s)
	}
	return strconv.Atoi(g.Gid)
}

// CheckProgram reports whether prog can be bound to a name: an absolute
// path to an executable file. The program is started from that path (with
// auto), and its processes are recognised by it.
func CheckProgram(prog string) error {
	if !filepath.IsAbs(prog) {
		return ctrl.Errorf(ctrl.CodeInvalid, "program %q: give an absolute path", prog)
	}
	st, err := os.Stat(prog)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ctrl.Errorf(ctrl.CodeNotFound, "program %s does not exist", prog)
	case err != nil:
		return ctrl.Errorf(ctrl.CodeInvalid, "program %s: %v", prog, err)
	case st.IsDir() || st.Mode()&0o111 == 0:
		return ctrl.Errorf(ctrl.CodeInvalid, "program %s is not an executable file", prog)
	}
	return nil
}

// UnbindProgram removes a program's binding to a name, or to every name
// when name is "".
func (m *IRM) UnbindProgram(req ctrl.BindProgram) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	prog := filepath.Clean(req.Prog)
	found := false
	for _, nm := range m.names {
		if req.Name != "" && nm.name != req.Name {
			continue
		}
		kept := nm.progs[:0]
		for _, pb := range nm.progs {
			if pb.prog == prog {
				found = true
				continue
			}
			kept = append(kept, pb)
		}
		nm.progs = kept
	}
	if !found {
		return ctrl.Errorf(ctrl.CodeNotFound, "program %s is not bound to %s", req.Prog, orAll(req.Name))
	}
	return nil
}

func orAll(n string) string {
	if n == "" {
		return "any name"
	}
	return strconv.Quote(n)
}

// BindProcess binds a running process to a name. The binding ends when the
// process exits. It records the process's uid: only connections of that
// uid from the pid serve the name.
func (m *IRM) BindProcess(req ctrl.BindProcess) error {
	if req.PID <= 0 || !processAlive(req.PID) {
		return ctrl.Errorf(ctrl.CodeNotFound, "no process %d", req.PID)
	}
	uid, err := processUID(req.PID)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, err := m.nameLocked(req.Name, true)
	if err != nil {
		return err
	}
	nm.bindPID(req.PID, uid)
	m.signalLocked()
	return nil
}

// UnbindProcess removes a process's binding to a name.
func (m *IRM) UnbindProcess(req ctrl.BindProcess) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, err := m.nameLocked(req.Name, false)
	if err != nil {
		return err
	}
	if !nm.hasPID(req.PID) {
		return ctrl.Errorf(ctrl.CodeNotFound, "process %d is not bound to %q", req.PID, req.Name)
	}
	nm.unbindPID(req.PID)
	return nil
}

// BindIPCP binds an IPCP to a name, so that flows to the name may reach the
// IPCP itself (used by the unicast layer's enrollment).
func (m *IRM) BindIPCP(req ctrl.BindIPCP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ipcps[req.IPCP]; !ok {
		return ctrl.Errorf(ctrl.CodeNotFound, "no IPCP %q: see 'irm ipcp list'", req.IPCP)
	}
	nm, err := m.nameLocked(req.Name, true)
	if err != nil {
		return err
	}
	nm.bound = append(removeString(nm.bound, req.IPCP), req.IPCP)
	m.signalLocked() // a flow may be waiting for this binding
	return nil
}

// UnbindIPCP removes an IPCP's binding to a name.
func (m *IRM) UnbindIPCP(req ctrl.BindIPCP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, err := m.nameLocked(req.Name, false)
	if err != nil {
		return err
	}
	before := len(nm.bound)
	nm.bound = removeString(nm.bound, req.IPCP)
	if len(nm.bound) == before {
		return ctrl.Errorf(ctrl.CodeNotFound, "IPCP %q is not bound to %q", req.IPCP, req.Name)
	}
	return nil
}

// addProc records a new connection; an application inherits the bindings of
// its program.
func (m *IRM) addProc(pr *proc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextSeq++
	pr.seq = m.nextSeq
	m.procs[pr] = struct{}{}
	if pr.role != ctrl.RoleApp {
		return
	}
	for _, nm := range m.names {
		for i := range nm.progs {
			if nm.progs[i].serves(pr) {
				nm.bindPID(pr.pid, pr.uid)
			}
		}
	}
	m.signalLocked()
}

// procGone forgets a connection. When it was the last of its process, the
// process's bindings end. Its flows end by themselves: the kernel closed
// the process's sockets, and the IPCPs see that.
func (m *IRM) procGone(pr *proc) {
	m.reclaim.note(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.procs, pr)
	pr.accepts = nil
	for other := range m.procs {
		if other.pid == pr.pid {
			return
		}
	}
	if pr.role == ctrl.RoleApp {
		for _, nm := range m.names {
			nm.unbindPID(pr.pid)
		}
	}
	m.signalLocked()
}

// sameProgram compares executables by path, then by what symlinks resolve to.
func sameProgram(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func removeInt(s []int, v int) []int {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func (m *IRM) handleBindProgram(_ context.Context, pr *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.BindProgram
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.bindProgram(req, pr.uid)
}

func (m *IRM) handleUnbindProgram(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.BindProgram
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.UnbindProgram(req)
}

func (m *IRM) handleBindProcess(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.BindProcess
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.BindProcess(req)
}

func (m *IRM) handleUnbindProcess(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.BindProcess
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.UnbindProcess(req)
}

func (m *IRM) handleBindIPCP(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.BindIPCP
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.BindIPCP(req)
}

func (m *IRM) handleUnbindIPCP(_ context.Context, _ *proc, body json.RawMessage) (any, int, error) {
	var req ctrl.BindIPCP
	if err := decode(body, &req); err != nil {
		return nil, -1, err
	}
	return nil, -1, m.UnbindIPCP(req)
}
