// Package netlab builds small networks of Linux network namespaces for
// end-to-end tests: nodes joined by veth pairs or by a bridge, routers that
// drop a share of what they forward, NAT boxes, and one irmd per node with
// its own run directory. It needs root; New skips the test otherwise.
//
// Everything a Lab makes is removed when the test ends, failed or not, and
// also when the test binary gets SIGINT, SIGTERM or SIGHUP. A binary that
// dies without running either (SIGKILL, a -timeout panic) leaves its
// namespaces behind; the next New, or Sweep, removes them once their
// owner's pid is gone.
//
// A test builds what it needs, in a few lines:
//
//	lab := netlab.New(t, bin)             // bin from hostlab.BuildBinaries
//	a, r, b := lab.Node("a"), lab.Router("r"), lab.Node("b")
//	left := lab.Link(a, r).Subnet("10.1.0.0/24", "fd01::/64") // a .1, r .2
//	right := lab.Link(r, b).Subnet("10.2.0.0/24", "fd02::/64")
//	a.Route("default", left.B.IP4())
//	b.Route("default", right.A.IP4())
//	r.Loss(10)                            // 10% of forwarded packets, each way
//	a.Hosts(map[string]string{"b": right.B.IP4().String()})
//	a.StartIRMd()
//	a.MustRun("irm", "ipcp", "list")      // with OUROBOROS_RUNDIR of a
//
// Names never collide between test binaries running side by side: every
// namespace is called nl-PID-RAND-NODE, where PID is the creating process,
// RAND is random per Lab and NODE the name the test chose. Interfaces are
// created directly inside the namespaces (never in the host's), so their
// names only need to be unique per node: eth0, eth1, ... in the order the
// node's links were made.
package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TB is the part of testing.TB a Lab uses; *testing.T and *testing.B
// satisfy it. Fatalf must not return (testing's calls runtime.Goexit).
type TB interface {
	Helper()
	Cleanup(func())
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
}

// Where a Lab keeps its state. Both are tmpfs on Debian, so a reboot
// clears them along with the namespaces.
const (
	stateRoot = "/run/netlab" // one directory per Lab, one run dir per node
	netnsRoot = "/run/netns"  // where `ip netns add` mounts namespaces
	etcRoot   = "/etc/netns"  // per-namespace /etc overrides of `ip netns exec`
	nsPrefix  = "nl-"
)

// labName matches the names of a Lab's namespaces and state directory and
// captures the owner's pid and the Lab's id.
var labName = regexp.MustCompile(`^(?:` + nsPrefix + `)?(([0-9]+)-[0-9a-f]{6})(?:-|$)`)

// nodeName is what a test may call a node: it becomes part of a namespace
// name and of a directory name.
var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// stopGrace is how long processes get between SIGTERM and SIGKILL when a
// Lab is closed, so that irmd can shut down cleanly.
const stopGrace = 3 * time.Second

// Lab is a set of network namespaces and the processes running in them.
// Methods that fail the test (all but Close and the Proc methods) must be
// called from the test's goroutine, as with t.Fatal.
type Lab struct {
	t   TB
	id  string // PID-RAND
	dir string // stateRoot/id
	bin string // project binaries, "" for none
	ip  string // path of iproute2's ip

	// gate is held shared while a namespace is made or a process
	// started, and exclusively to close the Lab, so that a teardown sees
	// everything made and nothing is made after it; closed is guarded by
	// it.
	gate   sync.RWMutex
	closed bool
	torn   chan struct{} // closed once a teardown has finished
	tear   sync.Once

	mu    sync.Mutex // guards what follows
	nodes []*Node
	procs []*Proc
}

// New makes an empty Lab and registers its Close with t.Cleanup. It skips
// the test when not root and fails it when iproute2 is missing. bin is the
// directory of the project's binaries (see hostlab.BuildBinaries); with ""
// nodes run system tools only. New first removes stale labs (see Sweep).
func New(t TB, bin string) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netlab needs root to make network namespaces")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatalf("netlab needs iproute2's ip: %v (apt-get install iproute2)", err)
	}
	if _, err := Sweep(); err != nil {
		t.Logf("netlab: removing stale labs: %v", err)
	}
	var r [3]byte
	rand.Read(r[:])
	id := fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(r[:]))
	l := &Lab{t: t, id: id, dir: filepath.Join(stateRoot, id), bin: bin, ip: ip, torn: make(chan struct{})}
	register(l)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("netlab: cleanup: %v", err)
		}
	})
	if err := l.making(func() error { return os.MkdirAll(l.dir, 0o755) }); err != nil {
		t.Fatalf("netlab: %v", err)
	}
	return l
}

// making runs f, which makes a namespace or starts a process, unless the
// Lab is closed. Callers must not fail the test inside f: failing may run
// Close, which waits for f.
func (l *Lab) making(f func() error) error {
	l.gate.RLock()
	defer l.gate.RUnlock()
	if l.closed {
		return fmt.Errorf("lab %s is closed", l.id)
	}
	return f()
}

// shut closes the gate for good, once everything being made is made, and
// reports whether it was open.
func (l *Lab) shut() bool {
	l.gate.Lock()
	defer l.gate.Unlock()
	was := l.closed
	l.closed = true
	return !was
}

// ID returns the Lab's unique id, PID-RAND, which every namespace name of
// the Lab contains.
func (l *Lab) ID() string { return l.id }

// Close stops every process of the Lab (SIGTERM, then SIGKILL after a
// grace period), kills whatever else runs in its namespaces, and removes
// the namespaces (and with them their interfaces), their /etc/netns
// directories and the nodes' run directories. It is idempotent; New
// registers it with t.Cleanup, so tests rarely call it.
func (l *Lab) Close() error {
	if !l.shut() {
		// Closed already, or a signal handler is at work: the test
		// binary must not exit before it is done.
		<-l.torn
		return nil
	}
	err := l.teardown(stopGrace)
	unregister(l)
	return err
}

// teardown removes everything the Lab made; the gate must be shut. It may
// run twice at once (a signal during Close), so every step tolerates work
// already done.
func (l *Lab) teardown(grace time.Duration) error {
	l.mu.Lock()
	nodes := append([]*Node(nil), l.nodes...)
	procs := append([]*Proc(nil), l.procs...)
	l.mu.Unlock()

	stopProcs(procs, grace)
	var errs []error
	for _, n := range nodes {
		errs = append(errs, removeNS(l.ip, n.NS))
	}
	errs = append(errs, os.RemoveAll(l.dir))
	l.tear.Do(func() { close(l.torn) })
	return errors.Join(errs...)
}

// removeNS kills every process in namespace ns and removes it and its
// /etc/netns directory. A namespace that does not exist is not an error:
// it may never have been made, or another sweep got there first.
func removeNS(ip, ns string) error {
	if _, err := os.Stat(filepath.Join(netnsRoot, ns)); err == nil {
		// Processes would keep the namespace, and its interfaces, alive.
		// Kill until none is left: one may have been forking as we looked.
		for range 20 {
			out, _ := exec.Command(ip, "netns", "pids", ns).Output()
			pids := strings.Fields(string(out))
			if len(pids) == 0 {
				break
			}
			for _, f := range pids {
				var pid int
				if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if out, err := exec.Command(ip, "netns", "delete", ns).CombinedOutput(); err != nil {
			if _, serr := os.Stat(filepath.Join(netnsRoot, ns)); serr == nil {
				return fmt.Errorf("ip netns delete %s: %v: %s", ns, err, bytes.TrimSpace(out))
			}
		}
	}
	return os.RemoveAll(filepath.Join(etcRoot, ns))
}

// cmdTimeout bounds every command the Lab runs for itself and every Run.
const cmdTimeout = time.Minute

// sys runs a system command for the Lab (ip, nft) with stdin, and fails
// the test naming the command and its output if it fails.
func (l *Lab) sys(stdin string, name string, args ...string) string {
	l.t.Helper()
	out, err := runSys(stdin, name, args...)
	if err != nil {
		l.t.Fatalf("netlab: %v", err)
	}
	return out
}

// runSys runs a command and returns its combined output; the error names
// the command and holds its output.
func runSys(stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		line := strings.Join(append([]string{name}, args...), " ")
		if stdin != "" {
			line += " <<EOF\n" + stdin + "EOF"
		}
		return string(out), fmt.Errorf("%s: %v\n%s", line, err, out)
	}
	return string(out), nil
}
