package irm

import (
	"testing"

	"o7s.dev/ouroboros/stack/ctrl"
)

// withAccepters adds one application connection per pid, each with n
// pending accepts.
func withAccepters(m *IRM, n int, pids ...int) map[int]*proc {
	out := make(map[int]*proc)
	for _, pid := range pids {
		pr := &proc{pid: pid, role: ctrl.RoleApp}
		for i := 0; i < n; i++ {
			pr.accepts = append(pr.accepts, &acceptReq{pr: pr, ch: make(chan acceptResult, 1)})
		}
		m.addProc(pr)
		out[pid] = pr
	}
	return out
}

func pickPIDs(t *testing.T, m *IRM, nm *name, n int) []int {
	t.Helper()
	var got []int
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		a := m.pickLocked(nm)
		if a == nil {
			got = append(got, 0)
			continue
		}
		if !a.taken {
			t.Fatal("picked accept request not marked taken")
		}
		got = append(got, a.pr.pid)
	}
	return got
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPickRoundRobinRotates(t *testing.T) {
	m := New(Config{})
	withAccepters(m, 2, 101, 102, 103)
	if err := m.CreateName(ctrl.NameCreate{Name: "srv", LB: "round-robin"}); err != nil {
		t.Fatal(err)
	}
	nm := m.names["srv"]
	bindAll(nm, 101, 102, 103)
	got := pickPIDs(t, m, nm, 7)
	want := []int{101, 102, 103, 101, 102, 103, 0}
	if !equalInts(got, want) {
		t.Fatalf("round-robin picked %v, want %v (0: no accept left)", got, want)
	}
}

func TestPickSpilloverFillsFirst(t *testing.T) {
	m := New(Config{})
	withAccepters(m, 2, 201, 202)
	if err := m.CreateName(ctrl.NameCreate{Name: "srv", LB: "spillover"}); err != nil {
		t.Fatal(err)
	}
	nm := m.names["srv"]
	bindAll(nm, 201, 202)
	got := pickPIDs(t, m, nm, 5)
	want := []int{201, 201, 202, 202, 0}
	if !equalInts(got, want) {
		t.Fatalf("spillover picked %v, want %v", got, want)
	}
}

func TestPickSkipsUnboundAndManagement(t *testing.T) {
	m := New(Config{})
	withAccepters(m, 1, 301)
	mg := &proc{pid: 302, role: ctrl.RoleMgmt}
	mg.accepts = []*acceptReq{{pr: mg, ch: make(chan acceptResult, 1)}}
	m.addProc(mg)
	nm, _ := m.nameLocked("srv", true)
	bindAll(nm, 302)
	if got := pickPIDs(t, m, nm, 1); got[0] != 0 {
		t.Fatalf("picked pid %d: management connections and unbound processes must not get flows", got[0])
	}
}

// bindAll binds pids to nm as root's processes, as the test's stand-in
// connections are.
func bindAll(nm *name, pids ...int) {
	for _, pid := range pids {
		nm.bindPID(pid, 0)
	}
}
