package irm

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"o7s.dev/ouroboros/stack/ctrl"
)

func wantCode(t *testing.T, err error, code ctrl.Code, contains string) {
	t.Helper()
	var ce *ctrl.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v: want a ctrl.Error with code %s", err, code)
	}
	if ce.Code != code || !strings.Contains(ce.Msg, contains) {
		t.Fatalf("error %q (%s): want code %s mentioning %q", ce.Msg, ce.Code, code, contains)
	}
}

func bootLocal(t *testing.T, m *IRM, name, layer string) {
	t.Helper()
	if err := m.Bootstrap(context.Background(), ctrl.IPCPBootstrap{Name: name, Layer: layer, Type: "local"}); err != nil {
		t.Fatal(err)
	}
}

func TestIPCPLifecycle(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	wantCode(t, m.CreateIPCP("x", "token-ring"), ctrl.CodeInvalid, "unknown IPCP type")
	wantCode(t, m.CreateIPCP("x", "broadcast"), ctrl.CodeNotSupported, "not supported yet")
	if err := m.CreateIPCP("lo", "local"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.CreateIPCP("lo", "local"), ctrl.CodeExists, "exists")
	ctx := context.Background()
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l", Options: map[string]string{"ip": "1.2.3.4"}}),
		ctrl.CodeInvalid, "option ip does not apply to a local IPCP; it takes hash")
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l", Options: map[string]string{"hash": "MD5"}}),
		ctrl.CodeInvalid, `bad hash: "MD5" is not one of SHA3_224`)
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l", Autobind: true}), ctrl.CodeInvalid, "autobind")
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l", Type: "udp4"}), ctrl.CodeInvalid, "is of type local")
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "nope", Layer: "l"}), ctrl.CodeNotFound, "give its type")
	if err := m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l", Options: map[string]string{"hash": "SHA3_512"}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l2"}), ctrl.CodeExists, "already in layer l")
	list := m.ListIPCPs(ctrl.IPCPFilter{})
	if len(list) != 1 || list[0].Layer != "l" || list[0].State != "bootstrapped" || list[0].Hash != "SHA3_512" {
		t.Fatalf("list = %+v", list)
	}
	if got := m.ListIPCPs(ctrl.IPCPFilter{Type: "udp4"}); len(got) != 0 {
		t.Fatalf("type filter: %+v", got)
	}
	wantCode(t, m.handleEnrollErr("lo"), ctrl.CodeInvalid, "give the layer to join")
	wantCode(t, m.handleEnrollErr(`lo","layer":"net`), ctrl.CodeInvalid, "applies to unicast and broadcast")
	wantCode(t, m.handleEnrollErr(`ghost","dst":"net","type":"broadcast`), ctrl.CodeNotSupported, "not supported yet")
	if err := m.DestroyIPCP("lo"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.DestroyIPCP("lo"), ctrl.CodeNotFound, "no IPCP")
}

func (m *IRM) handleEnrollErr(n string) error {
	_, _, err := m.handleEnroll(context.Background(), nil, []byte(`{"name":"`+n+`"}`))
	return err
}

func TestNameRegistration(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	bootLocal(t, m, "lo1", "local-a")
	bootLocal(t, m, "lo2", "local-b")
	wantCode(t, m.RegisterName(ctrl.NameRegister{Name: "srv"}), ctrl.CodeInvalid, "say which")
	wantCode(t, m.RegisterName(ctrl.NameRegister{Name: "srv", Layers: []string{"nope"}}), ctrl.CodeNotFound, `no layer matches "nope"`)
	wantCode(t, m.RegisterName(ctrl.NameRegister{Name: "srv", Layers: []string{"[x"}}), ctrl.CodeInvalid, "bad layer pattern")
	if err := m.RegisterName(ctrl.NameRegister{Name: "srv", Layers: []string{"local-*"}}); err != nil {
		t.Fatal(err)
	}
	names := m.ListNames("")
	if len(names) != 1 || strings.Join(names[0].IPCPs, ",") != "lo1,lo2" || names[0].LB != "spillover" {
		t.Fatalf("names = %+v", names)
	}
	ip, _, err := m.findIPCP(context.Background(), "srv", "")
	if err != nil || ip.Info().Name != "lo1" {
		t.Fatalf("findIPCP = %v, %v; want lo1 (query order)", ip, err)
	}
	// In one layer: only its IPCPs are asked.
	if ip, _, err := m.findIPCP(context.Background(), "srv", "local-b"); err != nil || ip.Info().Name != "lo2" {
		t.Fatalf("findIPCP in local-b = %v, %v; want lo2", ip, err)
	}
	_, _, err = m.findIPCP(context.Background(), "srv", "nolayer")
	wantCode(t, err, ctrl.CodeUnreachable, "no IPCP of this host is in layer nolayer")
	_, _, err = m.findIPCP(context.Background(), "other", "local-b")
	wantCode(t, err, ctrl.CodeNoName, `"other" is not registered in layer local-b`)
	if err := m.UnregisterName(ctrl.NameRegister{Name: "srv", IPCPs: []string{"lo1"}}); err != nil {
		t.Fatal(err)
	}
	if ip, _, _ := m.findIPCP(context.Background(), "srv", ""); ip == nil || ip.Info().Name != "lo2" {
		t.Fatalf("after unregistering from lo1 the name must be reached through lo2")
	}
	if err := m.DestroyName("srv"); err != nil {
		t.Fatal(err)
	}
	_, _, err = m.findIPCP(context.Background(), "srv", "")
	wantCode(t, err, ctrl.CodeNoName, "no layer reaches")
	wantCode(t, m.DestroyName("srv"), ctrl.CodeNotFound, "no name")
	wantCode(t, m.CreateName(ctrl.NameCreate{Name: "x", LB: "random"}), ctrl.CodeInvalid, "load-balancing")
	wantCode(t, m.CreateName(ctrl.NameCreate{Name: strings.Repeat("n", 256)}), ctrl.CodeInvalid, "at most 255")
	if err := m.CreateName(ctrl.NameCreate{Name: "x", LB: "round-robin"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.CreateName(ctrl.NameCreate{Name: "x"}), ctrl.CodeExists, "exists")
}

func TestBindings(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.BindProgram(ctrl.BindProgram{Prog: "oping", Name: "srv"}), ctrl.CodeInvalid, "absolute path")
	// A program that is not there, or not a program, is refused with or
	// without auto (docs/irm.md: "An error says so when the program is not
	// found").
	for _, auto := range []bool{false, true} {
		wantCode(t, m.BindProgram(ctrl.BindProgram{Prog: "/nonexistent/prog", Name: "srv", Auto: auto}), ctrl.CodeNotFound, "does not exist")
		wantCode(t, m.BindProgram(ctrl.BindProgram{Prog: os.TempDir(), Name: "srv", Auto: auto}), ctrl.CodeInvalid, "not an executable")
	}

	// A running process of a program inherits a binding made later...
	early := &proc{pid: 4001, role: ctrl.RoleApp, prog: exe}
	m.addProc(early)
	if err := m.BindProgram(ctrl.BindProgram{Prog: exe, Name: "srv"}); err != nil {
		t.Fatal(err)
	}
	// ...and one started later inherits it when it attaches.
	late := &proc{pid: 4002, role: ctrl.RoleApp, prog: exe}
	m.addProc(late)
	other := &proc{pid: 4003, role: ctrl.RoleApp, prog: "/bin/true"}
	m.addProc(other)
	if got := m.names["srv"].pids; !equalInts(got, []int{4001, 4002}) {
		t.Fatalf("bound pids = %v, want [4001 4002]", got)
	}
	// A process's bindings end when it exits.
	m.procGone(early)
	if got := m.names["srv"].pids; !equalInts(got, []int{4002}) {
		t.Fatalf("after exit bound pids = %v, want [4002]", got)
	}
	if err := m.UnbindProgram(ctrl.BindProgram{Prog: exe}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.UnbindProgram(ctrl.BindProgram{Prog: exe}), ctrl.CodeNotFound, "is not bound")

	wantCode(t, m.BindProcess(ctrl.BindProcess{PID: 1 << 30, Name: "srv"}), ctrl.CodeNotFound, "no process")
	if err := m.BindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: "srv"}); err != nil {
		t.Fatal(err)
	}
	if err := m.UnbindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: "srv"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.UnbindProcess(ctrl.BindProcess{PID: os.Getpid(), Name: "srv"}), ctrl.CodeNotFound, "not bound")

	wantCode(t, m.BindIPCP(ctrl.BindIPCP{IPCP: "lo", Name: "srv"}), ctrl.CodeNotFound, "no IPCP")
	bootLocal(t, m, "lo", "local")
	if err := m.BindIPCP(ctrl.BindIPCP{IPCP: "lo", Name: "srv"}); err != nil {
		t.Fatal(err)
	}
	if got := m.ListNames("s")[0].BoundIPCPs; len(got) != 1 || got[0] != "lo" {
		t.Fatalf("bound IPCPs = %v", got)
	}
	if err := m.UnbindIPCP(ctrl.BindIPCP{IPCP: "lo", Name: "srv"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.UnbindIPCP(ctrl.BindIPCP{IPCP: "lo", Name: "srv"}), ctrl.CodeNotFound, "not bound")
}

// A bootstrap or enrolment that fails removes the IPCP it created, and
// leaves alone one that existed before it.
func TestFailedCommandsLeaveNoIPCP(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	ctx := context.Background()
	names := func() []string {
		var out []string
		for _, ip := range m.ListIPCPs(ctrl.IPCPFilter{}) {
			out = append(out, ip.Name)
		}
		return out
	}
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l", Type: "local", Options: map[string]string{"ip": "1.2.3.4"}}),
		ctrl.CodeInvalid, "option ip does not apply")
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "uc", Layer: "net", Type: "unicast"}), ctrl.CodeUnreachable, "no lower layer reaches")
	if got := names(); len(got) != 0 {
		t.Fatalf("failed commands left IPCPs %v", got)
	}
	// Created before: kept, in the state it was in, to be retried.
	for _, c := range [][2]string{{"lo", "local"}, {"uc", "unicast"}} {
		if err := m.CreateIPCP(c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, m.Bootstrap(ctx, ctrl.IPCPBootstrap{Name: "lo", Layer: "l", Options: map[string]string{"ip": "1.2.3.4"}}),
		ctrl.CodeInvalid, "option ip does not apply")
	wantCode(t, m.Enroll(ctx, ctrl.IPCPEnroll{Name: "uc", Layer: "net"}), ctrl.CodeUnreachable, "no lower layer reaches")
	if got := names(); !slices.Equal(got, []string{"lo", "uc"}) {
		t.Fatalf("IPCPs %v, want [lo uc]", got)
	}
	for _, ip := range m.ListIPCPs(ctrl.IPCPFilter{}) {
		if ip.State != "created" {
			t.Errorf("%s is %s after a failed command, want created", ip.Name, ip.State)
		}
	}
}
