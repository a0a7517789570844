package irm

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/qos"
)

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// A live process bound between two dead ones keeps the name served: the
// dead pids are forgotten, the live one is kept and reported.
func TestBoundAliveAmongDead(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	dead1, dead2, live := deadPID(t), deadPID(t), os.Getpid()
	m.mu.Lock()
	defer m.mu.Unlock()
	nm, _ := m.nameLocked("srv", true)
	nm.pids = []int{dead1, live, dead2}
	if !m.boundAliveLocked(nm) {
		t.Fatalf("bound pids [dead, live, dead]: no live process reported")
	}
	if !equalInts(nm.pids, []int{live}) {
		t.Fatalf("pids after pruning = %v, want [%d]", nm.pids, live)
	}
}

// exhaustFDs makes the next descriptor allocation of this process fail
// with EMFILE until the returned function restores the limit.
func exhaustFDs(t *testing.T) (restore func()) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	lowest := f.Fd() // the lowest free descriptor: a limit there leaves none
	f.Close()
	low := lim
	low.Cur = uint64(lowest)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
	}
}

// When a flow arrives for a waiting accept but cannot be handed over, the
// accepting process is told why, not given a flow without a descriptor.
func TestAcceptToldWhyHandFailed(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	bootLocal(t, m, "lo", "local")
	pr := &proc{pid: os.Getpid(), role: ctrl.RoleApp}
	m.addProc(pr)
	body, _ := json.Marshal(ctrl.FlowAccept{TimeoutMS: 5000})
	type result struct {
		v   any
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, fd, err := m.handleAccept(context.Background(), pr, body)
		done <- result{v, fd, err}
	}()
	var a *acceptReq
	for deadline := time.Now().Add(5 * time.Second); a == nil; {
		m.mu.Lock()
		nm, _ := m.nameLocked("srv", true)
		bindAll(nm, pr.pid)
		a = m.pickLocked(nm)
		m.mu.Unlock()
		if a == nil {
			if time.Now().After(deadline) {
				t.Fatal("the accept request never showed up")
			}
			time.Sleep(time.Millisecond)
		}
	}
	m.mu.Lock()
	lo := m.ipcps["lo"].ipcp
	m.mu.Unlock()
	restore := exhaustFDs(t)
	_, err := m.hand(a, "srv", qos.Raw, lo, secret{})
	restore()
	if err == nil {
		t.Fatal("hand succeeded with no descriptors left")
	}
	r := <-done
	if r.err == nil || r.fd != -1 {
		t.Fatalf("accept answered %+v, fd %d, err %v: want the cause", r.v, r.fd, r.err)
	}
	wantCode(t, r.err, ctrl.CodeInternal, `a flow for "srv" arrived but could not be handed over`)
}
