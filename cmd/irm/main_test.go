package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// fakeIRMd listens where irm looks for irmd, answers hello, and answers
// every other request with answer (a nil reply leaves the caller waiting).
// It returns the requests it receives.
func fakeIRMd(t *testing.T, answer func(*ctrl.Msg) *ctrl.Msg) <-chan *ctrl.Msg {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(ctrl.EnvRunDir, dir)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: filepath.Join(dir, ctrl.SocketName), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reqs := make(chan *ctrl.Msg, 16)
	go func() {
		for {
			uc, err := l.AcceptUnix()
			if err != nil {
				return
			}
			go serveFake(ctrl.NewConn(uc), answer, reqs)
		}
	}()
	return reqs
}

func serveFake(c *ctrl.Conn, answer func(*ctrl.Msg) *ctrl.Msg, reqs chan<- *ctrl.Msg) {
	defer c.Close()
	for {
		m, _, err := c.Recv()
		if err != nil {
			return
		}
		var rep *ctrl.Msg
		if m.Op == ctrl.OpHello {
			rep, _ = ctrl.Reply(m, ctrl.HelloReply{PID: 1, Version: "fake"})
		} else {
			reqs <- m
			if rep = answer(m); rep == nil {
				continue
			}
		}
		if err := c.Send(rep, -1); err != nil {
			return
		}
	}
}

// runIRM runs irm with args and returns its exit status and output.
func runIRM(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunList(t *testing.T) {
	reqs := fakeIRMd(t, func(m *ctrl.Msg) *ctrl.Msg {
		rep, _ := ctrl.Reply(m, ctrl.IPCPList{IPCPs: []ctrl.IPCPInfo{
			{Name: "local.a", Type: "local", Layer: "local", State: "bootstrapped", Hash: "SHA3_256"},
		}})
		return rep
	})
	code, out, errOut := runIRM(t.Context(), "i", "l", "type", "local")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.HasPrefix(out, "NAME ") || !strings.Contains(out, "local.a  local") {
		t.Errorf("stdout:\n%s", out)
	}
	m := <-reqs
	var f ctrl.IPCPFilter
	if err := json.Unmarshal(m.Body, &f); err != nil || m.Op != ctrl.OpIPCPList || f != (ctrl.IPCPFilter{Type: "local"}) {
		t.Errorf("irmd got %s %s (%v)", m.Op, m.Body, err)
	}
}

func TestRunQuietOnSuccess(t *testing.T) {
	reqs := fakeIRMd(t, func(m *ctrl.Msg) *ctrl.Msg {
		rep, _ := ctrl.Reply(m, nil)
		return rep
	})
	code, out, errOut := runIRM(t.Context(), "name", "create", "srv")
	if code != exitOK || out != "" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	m := <-reqs
	if m.Op != ctrl.OpNameCreate || string(m.Body) != `{"name":"srv","lb":"round-robin"}` {
		t.Errorf("irmd got %s %s", m.Op, m.Body)
	}
}

func TestRunIRMdError(t *testing.T) {
	fakeIRMd(t, func(m *ctrl.Msg) *ctrl.Msg {
		return ctrl.ErrorReply(m, ctrl.Errorf(ctrl.CodeNotSupported, "IPCP type udp4 is not supported yet (this release has: local)"))
	})
	code, out, errOut := runIRM(t.Context(), "i", "b", "n", "u", "l", "udp", "t", "udp4", "ip", "192.0.2.1")
	if code != exitError || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	want := "irm: ipcp bootstrap n u l udp t udp4 ip 192.0.2.1: IPCP type udp4 is not supported yet (this release has: local)\n"
	if errOut != want {
		t.Errorf("stderr %q\nwant   %q", errOut, want)
	}
}

func TestRunInterrupted(t *testing.T) {
	fakeIRMd(t, func(*ctrl.Msg) *ctrl.Msg { return nil }) // never answers
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel) // as SIGINT would
	code, _, errOut := runIRM(ctx, "ipcp", "enroll", "name", "a", "layer", "net")
	if code != exitError || errOut != "irm: ipcp enroll name a layer net: interrupted\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestRunNoIRMd(t *testing.T) {
	t.Setenv(ctrl.EnvRunDir, t.TempDir())
	code, out, errOut := runIRM(t.Context(), "flow", "list")
	if code != exitError || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if !strings.HasPrefix(errOut, "irm: cannot reach irmd at ") || !strings.Contains(errOut, "is irmd running?") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestRunUsage(t *testing.T) {
	t.Setenv(ctrl.EnvRunDir, t.TempDir()) // nothing is sent; make sure of it
	cases := []struct {
		args []string
		code int
		out  string // prefix of stdout
		err  string // prefix of stderr
	}{
		{nil, exitUsage, "", "usage: irm COMMAND"},
		{[]string{"ipcp"}, exitUsage, "", "usage: irm ipcp COMMAND"},
		{[]string{"ipcp", "create", "name", "a"}, exitUsage, "",
			"irm: missing type TYPE\nusage: irm ipcp create name N type TYPE\nRun \"irm help ipcp create\" for details.\n"},
		{[]string{"frob"}, exitUsage, "", "irm: unknown command \"frob\""},
		{[]string{"help"}, exitOK, "usage: irm COMMAND", ""},
		{[]string{"ipcp", "bootstrap", "--help"}, exitOK, "usage: irm ipcp bootstrap", ""},
		{[]string{"--version"}, exitOK, "irm ", ""},
	}
	for _, c := range cases {
		code, out, errOut := runIRM(t.Context(), c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d", c.args, code, c.code)
		}
		if !strings.HasPrefix(out, c.out) || (c.out == "" && out != "") {
			t.Errorf("%q: stdout %q", c.args, out)
		}
		if !strings.HasPrefix(errOut, c.err) || (c.err == "" && errOut != "") {
			t.Errorf("%q: stderr %q", c.args, errOut)
		}
	}
}

func TestCallError(t *testing.T) {
	c := &command{path: "ipcp connect", args: []string{"name", "a", "dst", "b"}, timeout: remoteTimeout}
	cases := []struct {
		err  error
		want string
	}{
		{&ctrl.Error{Code: ctrl.CodeNotFound, Msg: `no IPCP "a": see 'irm ipcp list'`},
			`ipcp connect name a dst b: no IPCP "a": see 'irm ipcp list'`},
		{&ctrl.Error{Code: ctrl.CodeInternal}, "ipcp connect name a dst b: internal"},
		{context.DeadlineExceeded,
			`ipcp connect name a dst b: irmd did not answer within 30s; it may still finish: check with "irm ipcp list"`},
		{context.Canceled, "ipcp connect name a dst b: interrupted"},
		{ctrl.ErrClosed, "ipcp connect name a dst b: ctrl: connection to irmd closed"},
	}
	for _, tc := range cases {
		if got := callError(c, tc.err).Error(); got != tc.want {
			t.Errorf("callError(%v) = %q\nwant %q", tc.err, got, tc.want)
		}
	}
	de := &ctrl.DialError{Path: "/x/irmd.sock", Err: errors.New("boom")}
	if got := callError(c, de); got != de {
		t.Errorf("a DialError is reported as is; got %v", got)
	}
}
