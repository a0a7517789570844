package irm

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
)

// A program bound by root is served by root's processes of it only: the
// same executable run by another user neither inherits the binding nor
// gets the name's flows, and is told why when it accepts.
func TestProgramBindingServedByOwnerOnly(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{})
	if err := m.bindProgram(ctrl.BindProgram{Prog: exe, Name: "srv"}, 0); err != nil {
		t.Fatal(err)
	}
	root := &proc{pid: 5001, uid: 0, role: ctrl.RoleApp, prog: exe}
	stranger := &proc{pid: 5002, uid: 65534, groups: []int{65534}, role: ctrl.RoleApp, prog: exe}
	m.addProc(root)
	m.addProc(stranger)
	if got := m.names["srv"].pids; !equalInts(got, []int{5001}) {
		t.Fatalf("bound pids = %v, want root's [5001] only", got)
	}
	wantCode(t, m.mayAccept(stranger), ctrl.CodeNotAllowed, `bound to "srv" for uid 0's processes, and this one is uid 65534's`)
	if err := m.mayAccept(root); err != nil {
		t.Fatalf("root's process may not accept: %v", err)
	}

	// Naming the user, or a group of the process, lets it serve.
	if err := m.bindProgram(ctrl.BindProgram{Prog: exe, Name: "srv", User: "65534"}, 0); err != nil {
		t.Fatal(err)
	}
	if !m.names["srv"].servedBy(stranger) {
		t.Fatal("a binding naming uid 65534 is not served by its process")
	}
	if err := m.bindProgram(ctrl.BindProgram{Prog: exe, Name: "grp", Group: "65534"}, 0); err != nil {
		t.Fatal(err)
	}
	if !m.names["grp"].servedBy(stranger) || !m.names["grp"].servedBy(root) {
		t.Fatal("a binding naming group 65534 must be served by its members' processes and its owner's")
	}
	wantCode(t, m.bindProgram(ctrl.BindProgram{Prog: exe, Name: "x", User: "no-such-user-o7s"}, 0), ctrl.CodeNotFound, "no-such-user-o7s")
}

// A process binding records the pid's uid: a connection of another uid
// from that pid (the pid reused by another user's process) gets no flow.
func TestProcessBindingRecordsUID(t *testing.T) {
	m := New(Config{})
	if err := m.BindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: "srv"}); err != nil {
		t.Fatal(err)
	}
	nm := m.names["srv"]
	mine := &proc{pid: os.Getpid(), uid: os.Geteuid(), role: ctrl.RoleApp}
	other := &proc{pid: os.Getpid(), uid: os.Geteuid() + 1, role: ctrl.RoleApp}
	if !nm.servedBy(mine) || nm.servedBy(other) {
		t.Fatalf("servedBy: own uid %v, other uid %v; want true, false", nm.servedBy(mine), nm.servedBy(other))
	}
	other.accepts = []*acceptReq{{pr: other, ch: make(chan acceptResult, 1)}}
	m.addProc(other)
	m.mu.Lock()
	a := m.pickLocked(nm)
	m.mu.Unlock()
	if a != nil {
		t.Fatal("a connection of another uid from the bound pid was picked")
	}
}

// Management is for root, irmd's user and the management group.
func TestManagementGroup(t *testing.T) {
	m := New(Config{MgmtGroup: 4242})
	for _, c := range []struct {
		pr   *proc
		want bool
	}{
		{&proc{uid: 0}, true},
		{&proc{uid: selfUID()}, true},
		{&proc{uid: 1000, groups: []int{1000, 4242}}, true},
		{&proc{uid: 1000, groups: []int{1000}}, false},
	} {
		if got := m.manages(c.pr); got != c.want {
			t.Errorf("manages(uid %d, groups %v) = %v, want %v", c.pr.uid, c.pr.groups, got, c.want)
		}
	}
	if New(Config{}).manages(&proc{uid: 1000, groups: []int{0}}) {
		t.Error("without [irmd] group, group 0 grants management")
	}
}

// The per-user and per-process limits refuse with the option to raise,
// and never limit root.
func TestLimits(t *testing.T) {
	l := newLimiter(LocalLimits{ConnsPerUID: 2, FlowsPerUID: 3, FlowsPerProcess: 2})
	u := &proc{pid: 10, uid: 1000}
	for range 2 {
		if err := l.addConn(u); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, l.addConn(u), ctrl.CodeNotAllowed, "uid 1000 holds 2 control connections to irmd, the limit (max_conns_per_uid")
	l.dropConn(u)
	if err := l.addConn(u); err != nil {
		t.Fatalf("a connection closed frees its place: %v", err)
	}

	for range 2 {
		if err := l.addFlow(u); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, l.addFlow(u), ctrl.CodeNotAllowed, "process 10 holds 2 flows, the limit (max_flows_per_process")
	u2 := &proc{pid: 11, uid: 1000}
	if err := l.addFlow(u2); err != nil {
		t.Fatal(err)
	}
	wantCode(t, l.addFlow(u2), ctrl.CodeNotAllowed, "uid 1000 holds 3 flows, the limit (max_flows_per_uid")
	l.dropFlow(u)
	if err := l.addFlow(u2); err != nil {
		t.Fatalf("a flow ended frees its place: %v", err)
	}

	root := &proc{pid: 1, uid: 0}
	for range 10 {
		if err := l.addConn(root); err != nil {
			t.Fatal(err)
		}
		if err := l.addFlow(root); err != nil {
			t.Fatal(err)
		}
	}
}

// The accept loop waits out a lack of descriptors instead of ending.
func TestAcceptBackoff(t *testing.T) {
	m := New(Config{})
	var wait time.Duration
	for range 12 {
		wait = m.acceptBackoff(&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, wait)
		if wait <= 0 || wait > acceptBackoffMax {
			t.Fatalf("EMFILE: wait %v", wait)
		}
	}
	if wait != acceptBackoffMax {
		t.Fatalf("backoff reached %v, want %v", wait, acceptBackoffMax)
	}
	if w := m.acceptBackoff(os.NewSyscallError("accept4", syscall.EBADF), 0); w != 0 {
		t.Fatalf("EBADF: wait %v, want 0 (ends Serve)", w)
	}
}

// irmd learns a connected process's executable from the kernel: a hello
// naming another program changes nothing.
func TestHelloProgramIsTheKernels(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := New(Config{})
	defer m.Close()
	go m.Serve(l)
	if err := m.bindProgram(ctrl.BindProgram{Prog: "/bin/true", Name: "victim"}, 0); err != nil {
		t.Fatal(err)
	}
	uc, err := net.DialUnix("unixpacket", nil, l.Addr().(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	c := ctrl.NewConn(uc)
	defer c.Close()
	body, _ := json.Marshal(ctrl.Hello{Role: ctrl.RoleApp, Prog: "/bin/true"})
	if err := c.Send(&ctrl.Msg{ID: 1, Op: ctrl.OpHello, Body: body}, -1); err != nil {
		t.Fatal(err)
	}
	if rep, _, err := c.Recv(); err != nil || rep.Code != "" {
		t.Fatalf("hello: %+v, %v", rep, err)
	}
	m.mu.Lock()
	var prog string
	for pr := range m.procs {
		prog = pr.prog
	}
	bound := m.names["victim"].pids
	m.mu.Unlock()
	if prog != exe {
		t.Errorf("process recorded as running %q, want the kernel's %q", prog, exe)
	}
	if len(bound) != 0 {
		t.Errorf("a hello naming /bin/true bound pids %v to its name", bound)
	}
}

// A connection that says nothing is closed after the hello timeout.
func TestHelloTimeout(t *testing.T) {
	dir := t.TempDir()
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := New(Config{Local: LocalLimits{HelloTimeout: 100 * time.Millisecond}})
	defer m.Close()
	go m.Serve(l)
	uc, err := net.DialUnix("unixpacket", nil, l.Addr().(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	_ = uc.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	n, err := uc.Read(make([]byte, 16))
	if n != 0 || err == nil && time.Since(start) >= 5*time.Second {
		t.Fatalf("read %d bytes, %v: want the connection closed", n, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v, want about 100 ms", d)
	}
}

// handleBindProgram binds for the user who asks, not for irmd's user.
func TestBindProgramOwnerIsTheBinder(t *testing.T) {
	m := New(Config{MgmtGroup: 4242})
	body, _ := json.Marshal(ctrl.BindProgram{Prog: "/bin/true", Name: "srv"})
	if _, _, err := m.handlers()[ctrl.OpBindProgram](context.Background(), &proc{uid: 1000, groups: []int{4242}}, body); err != nil {
		t.Fatal(err)
	}
	if got := m.names["srv"].progs[0].uid; got != 1000 {
		t.Fatalf("binding owner uid %d, want the binder's 1000", got)
	}
}

// Serve outlasts running out of descriptors: a connection that arrives
// while none are left is accepted once some are free again, and irmd
// answers it.
func TestServeOutlastsEMFILE(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var logs syncBuffer
	m := New(Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	defer m.Close()
	served := make(chan error, 1)
	go func() { served <- m.Serve(l) }()

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	restore := exhaustFDs(t)
	cerr := unix.Connect(fd, &unix.SockaddrUnix{Name: path})
	for deadline := time.Now().Add(5 * time.Second); cerr == nil && !strings.Contains(logs.String(), "cannot accept"); {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	restore()
	if cerr != nil {
		t.Fatal(cerr)
	}
	if !strings.Contains(logs.String(), "cannot accept") {
		t.Fatalf("accept never failed with no descriptors left; log:\n%s", logs.String())
	}
	f := os.NewFile(uintptr(fd), "client")
	fc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := ctrl.NewConn(fc.(*net.UnixConn))
	defer c.Close()
	body, _ := json.Marshal(ctrl.Hello{Role: ctrl.RoleApp})
	if err := c.Send(&ctrl.Msg{ID: 1, Op: ctrl.OpHello, Body: body}, -1); err != nil {
		t.Fatal(err)
	}
	if rep, _, err := c.Recv(); err != nil || rep.Code != "" {
		t.Fatalf("hello after the descriptors came back: %+v, %v", rep, err)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve ended: %v", err)
	default:
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readIdentity refuses a process that is gone: its pid may be another's.
func TestReadIdentityOfAnExitedProcess(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pfd)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	_, err = readIdentity(ctrl.Peer{PID: cmd.Process.Pid, UID: 0, PIDFD: pfd})
	if err == nil || !strings.Contains(err.Error(), "exited while irmd identified it") {
		t.Fatalf("identity of an exited process: %v", err)
	}
	id, err := readIdentity(ctrl.Peer{PID: os.Getpid(), UID: os.Geteuid(), GID: os.Getegid(), PIDFD: -1})
	exe, _ := os.Executable()
	if err != nil || id.exe != exe {
		t.Fatalf("own identity: %+v, %v; want exe %s", id, err, exe)
	}
}

func FuzzStatusInts(f *testing.F) {
	f.Add([]byte("Name:\tx\nUid:\t0\t1000\t0\t0\nGroups:\t4 24 27\n"), "Groups:")
	f.Fuzz(func(t *testing.T, status []byte, key string) {
		_ = statusInts(status, key)
	})
}

// AllocFrom a name is for the processes that serve it: not another user's
// process that reuses a bound pid, nor any unbound process, since irmd
// presents the name's certificate for the allocation.
func TestAllocFromNeedsTheBinding(t *testing.T) {
	m := New(Config{})
	if err := m.BindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: "laptop.alice"}); err != nil {
		t.Fatal(err)
	}
	mine := &proc{pid: os.Getpid(), uid: os.Geteuid(), role: ctrl.RoleApp}
	reused := &proc{pid: os.Getpid(), uid: os.Geteuid() + 1, role: ctrl.RoleApp}
	stranger := &proc{pid: 5003, uid: 65534, role: ctrl.RoleApp}
	if err := m.mayAllocFrom(mine, "laptop.alice"); err != nil {
		t.Fatalf("the bound process may not allocate from its name: %v", err)
	}
	wantCode(t, m.mayAllocFrom(reused, "laptop.alice"), ctrl.CodeNotAllowed, "is not bound to laptop.alice: bind it first")
	wantCode(t, m.mayAllocFrom(stranger, "laptop.alice"), ctrl.CodeNotAllowed, "process 5003 is not bound to laptop.alice")
	wantCode(t, m.mayAllocFrom(mine, "nobody"), ctrl.CodeNotAllowed, "is not bound to nobody")
	wantCode(t, m.mayAllocFrom(mine, ""), ctrl.CodeInvalid, "name is empty")
}
