package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

// These tests play a local unprivileged user (nobody, uid 65534) against
// root's irmd and root's servers on the local layer: the hijack attempts
// get nothing, and holding connections or flows hits the limits while
// root is still served.

const nobodyUID = 65534

// openHost is a host whose run directory other users may reach, as
// /run/ouroboros is, with the local layer; conf is irmd.conf's text.
func openHost(t *testing.T, conf string) *hostlab.Host {
	t.Helper()
	h := hostlab.New(t, bin)
	if err := os.Chmod(h.RunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(h.RunDir, "irmd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	h.StartIRMd("--config", path)
	h.MustRun("irm", "ipcp", "bootstrap", "name", "lo", "layer", "local", "type", "local")
	return h
}

// attacker builds internal/attack/NAME where nobody may run it.
func attacker(t *testing.T, name string) string {
	t.Helper()
	return forNobody(t, hostlab.BuildAttacker(t, name))
}

// forNobody copies the program at path where nobody may run it: the
// binaries under test may be in a directory only root reaches (a 0700
// temporary directory, a clone under /root).
func forNobody(t *testing.T, path string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(out, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// asNobody makes cmd run as nobody, with no supplementary groups.
func asNobody(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID, Groups: []uint32{}}
	return cmd
}

// TestE2ELocalForgedHelloGetsNoFlow: a local user whose hello names root's
// auto-started program gets none of its name's flows: irmd takes the
// program from the kernel, and root's program, auto-started, serves them.
func TestE2ELocalForgedHelloGetsNoFlow(t *testing.T) {
	h := openHost(t, "")
	srv := attacker(t, "sameprog")
	forge := attacker(t, "forgehello")
	h.MustRun("irm", "name", "register", "victim", "layer", "local")
	h.MustRun("irm", "bind", "program", srv, "name", "victim", "auto", "--", "-serve", "-for", "4s")

	thief := h.StartCmd(asNobody(h.Command(forge, "-prog", srv, "-accepts", "2", "-wait", "2s")))
	waitFor(t, 5*time.Second, "the forged hello to be answered", func() bool {
		return strings.Contains(thief.Output(), "forgehello: attached")
	})
	out := h.MustRun(srv, "-alloc", "victim", "-count", "5")
	mustContain(t, out, "5 of 5 flows to victim answered")
	if err := thief.Wait(15 * time.Second); err != nil {
		t.Fatalf("forgehello: %v\n%s", err, thief.Output())
	}
	mustContain(t, thief.Output(), "claimed "+srv+": 0 flows")
	t.Log(strings.TrimSpace(thief.Output()))
}

// TestE2ELocalSameProgramOtherUserGetsNoFlow: the program root bound to a
// round-robin name, run by another user, takes none of its flows, and is
// told why it may not accept.
func TestE2ELocalSameProgramOtherUserGetsNoFlow(t *testing.T) {
	h := openHost(t, "")
	srv := attacker(t, "sameprog")
	h.MustRun("irm", "name", "create", "rr", "lb", "round-robin")
	h.MustRun("irm", "name", "register", "rr", "layer", "local")
	h.MustRun("irm", "bind", "program", srv, "name", "rr")

	root := h.Start(srv, "-serve", "-for", "6s")
	thief := h.StartCmd(asNobody(h.Command(srv, "-serve", "-for", "6s")))
	for _, p := range []*hostlab.Proc{root, thief} {
		waitFor(t, 5*time.Second, "the servers to attach", func() bool { return strings.Contains(p.Output(), "serving") })
	}
	waitFor(t, 5*time.Second, "root's server to accept for rr", func() bool {
		return strings.Contains(h.MustRun("irm", "name", "list"), strconv.Itoa(root.PID()))
	})
	out := h.MustRun(srv, "-alloc", "rr", "-count", "10")
	mustContain(t, out, "10 of 10 flows to rr answered")
	for _, p := range []*hostlab.Proc{root, thief} {
		if err := p.Wait(15 * time.Second); err != nil {
			t.Fatalf("server: %v\n%s", err, p.Output())
		}
	}
	mustContain(t, root.Output(), "uid 0 accepted 10 flows")
	mustContain(t, thief.Output(), "uid 65534 accepted 0 flows", `is bound to "rr" for uid 0's processes, and this one is uid 65534's`)
}

// TestE2ELocalConnectionHogRefused: one user's process holding control
// connections reaches max_conns_per_uid and is refused with the reason,
// connections that never say hello are closed, and irmd keeps serving
// root.
func TestE2ELocalConnectionHogRefused(t *testing.T) {
	h := openHost(t, "[irmd]\nmax_conns_per_uid = 50\nhello_timeout = 1000\n")
	hog := attacker(t, "connhog")
	srv := serve(t, h, "pinger", "oping", "-l")
	_ = srv

	p := h.StartCmd(asNobody(h.Command(hog, "-silent", "1000", "-wait", "3s", "-hold", "30s")))
	waitFor(t, 15*time.Second, "the hog to be refused", func() bool { return strings.Contains(p.Output(), "connhog: held") })
	mustContain(t, p.Output(), "0 of 1000 silent connections still open after 3s",
		"held 50 connections; refused: ", "uid 65534 holds 50 control connections to irmd, the limit (max_conns_per_uid")
	// Root is still served, while the hog holds its connections.
	mustContain(t, h.MustRun("irm", "ipcp", "list"), "lo")
	mustContain(t, h.MustRun("oping", "-n", "pinger", "-c", "3", "-i", "10ms"), "3 packets transmitted, 3 received")
	if h.IRMd().Exited() {
		t.Fatalf("irmd exited:\n%s", h.IRMd().Output())
	}
	t.Log(strings.TrimSpace(p.Output()))
}

// TestE2ELocalFlowHogLimited: one user's process allocating flows without
// closing them reaches max_flows_per_process with the reason, root's
// allocations still succeed, irmd's memory stays bounded and goes back
// down once the hog has gone.
func TestE2ELocalFlowHogLimited(t *testing.T) {
	h := openHost(t, "")
	hog := attacker(t, "holdflows")
	serve(t, h, "sink", "oecho", "-l")
	irmd := h.IRMd().PID()
	before := vmRSS(t, irmd)

	p := h.StartCmd(asNobody(h.Command(hog, "-name", "sink", "-n", "100000", "-stop", "-hold", "60s")))
	waitFor(t, 60*time.Second, "the hog to be refused", func() bool { return strings.Contains(p.Output(), "holding") })
	mustContain(t, p.Output(), "allocated 512 of 100000 flows", "holds 512 flows, the limit (max_flows_per_process")
	peak := vmRSS(t, irmd)
	mustContain(t, h.MustRun("oecho", "-n", "sink", "-m", "root gets through"), "root gets through")
	if peak > 100<<20 {
		t.Errorf("irmd's RSS is %d MB while the hog holds its flows, want under 100 MB", peak>>20)
	}

	p.Signal(syscall.SIGKILL)
	_ = p.Wait(5 * time.Second)
	waitFor(t, 20*time.Second, "the hog's flows to end", func() bool {
		return strings.Count(h.MustRun("irm", "flow", "list"), "sink") < 10
	})
	var after int
	waitFor(t, 10*time.Second, "irmd's memory to go back down", func() bool {
		after = vmRSS(t, irmd)
		return after < before+(peak-before)/2
	})
	t.Logf("irmd RSS: %d MB before, %d MB holding 512 flows, %d MB after", before>>20, peak>>20, after>>20)
}

// vmRSS returns a process's resident set size in bytes.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// TestE2ELocalManagementGroup: [irmd] group lets its members manage irmd
// as root does; other users are refused with the reason. The socket is
// given to the group, and stays open to every user's applications.
func TestE2ELocalManagementGroup(t *testing.T) {
	const gid = 4242
	h := openHost(t, "[irmd]\ngroup = \""+strconv.Itoa(gid)+"\"\n")
	st, err := os.Stat(filepath.Join(h.RunDir, "irmd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Gid != gid || st.Mode().Perm() != 0o666 {
		t.Errorf("socket group %d, mode %v; want %d, 0666", sys.Gid, st.Mode().Perm(), gid)
	}
	irm := forNobody(t, filepath.Join(bin, "irm"))
	member := asNobody(h.Command(irm, "name", "create", "team"))
	member.SysProcAttr.Credential.Groups = []uint32{gid}
	if out, err := member.CombinedOutput(); err != nil {
		t.Fatalf("a member of the management group: %v\n%s", err, out)
	}
	out, err := asNobody(h.Command(irm, "name", "create", "stranger")).CombinedOutput()
	if err == nil {
		t.Fatalf("nobody, not a member, created a name:\n%s", out)
	}
	mustContain(t, string(out), "only root, irmd's user or a member of [irmd] group may change the IRM (you are uid 65534)")
	mustContain(t, h.MustRun("irm", "name", "list"), "team")
}

// TestE2ELocalBindingForAnotherUser: root binds a program for another
// user: that user's process of it serves the name, root's does not.
func TestE2ELocalBindingForAnotherUser(t *testing.T) {
	h := openHost(t, "")
	srv := attacker(t, "sameprog")
	h.MustRun("irm", "name", "register", "svc", "layer", "local")
	h.MustRun("irm", "bind", "program", srv, "name", "svc", "user", "nobody")
	mustContain(t, h.MustRun("irm", "name", "list"), srv+" user 65534")

	user := h.StartCmd(asNobody(h.Command(srv, "-serve", "-for", "4s")))
	root := h.Start(srv, "-serve", "-for", "4s")
	for _, p := range []*hostlab.Proc{root, user} {
		waitFor(t, 5*time.Second, "the servers to attach", func() bool { return strings.Contains(p.Output(), "serving") })
	}
	mustContain(t, h.MustRun(srv, "-alloc", "svc", "-count", "3"), "3 of 3 flows to svc answered")
	for _, p := range []*hostlab.Proc{root, user} {
		if err := p.Wait(10 * time.Second); err != nil {
			t.Fatalf("server: %v\n%s", err, p.Output())
		}
	}
	mustContain(t, user.Output(), "uid 65534 accepted 3 flows")
	mustContain(t, root.Output(), "uid 0 accepted 0 flows", `is bound to "svc" for uid 65534's processes, and this one is uid 0's`)
}
