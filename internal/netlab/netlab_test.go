package netlab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/hostlab"
)

// pair is two nodes joined by one link, numbered in 10.1.0.0/24 and
// fd01::/64.
func pair(t *testing.T) (*Lab, *Node, *Node, *Link) {
	lab := New(t, "")
	a, b := lab.Node("a"), lab.Node("b")
	return lab, a, b, lab.Link(a, b).Subnet("10.1.0.0/24", "fd01::/64")
}

// line is a -- r -- b, with routes through the router r; it returns b's
// address.
func line(t *testing.T) (a, r *Node, dst string) {
	lab := New(t, "")
	a, r, b := lab.Node("a"), lab.Router("r"), lab.Node("b")
	left := lab.Link(a, r).Subnet("10.1.0.0/24")
	right := lab.Link(r, b).Subnet("10.2.0.0/24")
	a.Route("default", left.B.IP4())
	b.Route("default", right.A.IP4())
	return a, r, right.B.IP4().String()
}

// noPing fails the test if one ping from n to dst gets an answer within
// 300 ms.
func noPing(t *testing.T, n *Node, dst, why string) {
	t.Helper()
	if out, err := n.Run("ping", "-n", "-c", "1", "-W", "0.3", dst); err == nil {
		t.Errorf("ping %s from %s answered %s:\n%s", dst, n, why, out)
	}
}

var received = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// pingCount pings dst count times and returns how many replies came back.
func pingCount(t *testing.T, n *Node, dst string, count int) int {
	t.Helper()
	// Below 10 ms: a 10 ms interval comes out at 16 ms.
	out, _ := n.Run("ping", "-n", "-q", "-W", "1", "-i", "0.005", "-c", strconv.Itoa(count), dst)
	m := received.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ping output without statistics:\n%s", out)
	}
	got, _ := strconv.Atoi(m[2])
	return got
}

func TestPingOverVeth(t *testing.T) {
	t.Parallel()
	_, a, b, l := pair(t)
	if l.A.Name != "eth0" || l.B.Name != "eth0" {
		t.Errorf("interfaces %s and %s, want eth0 in both nodes", l.A, l.B)
	}
	if got := l.B.IP4().String(); got != "10.1.0.2" {
		t.Errorf("b's IPv4 address %s, want 10.1.0.2", got)
	}
	a.MustRun("ping", "-c", "1", "-W", "1", l.B.IP4().String())
	b.MustRun("ping", "-c", "1", "-W", "1", l.A.IP4().String())
	// No DAD: IPv6 works at once, without waiting a second.
	a.MustRun("ping", "-6", "-c", "1", "-W", "1", l.B.IP6().String())
	b.MustRun("ping", "-6", "-c", "1", "-W", "1", l.A.IP6().String())
	// The nodes are isolated from the host.
	if out, err := exec.Command("ping", "-c", "1", "-W", "1", l.B.IP4().String()).CombinedOutput(); err == nil {
		t.Errorf("the host reaches a lab node:\n%s", out)
	}
}

func TestRouterLoss(t *testing.T) {
	t.Parallel()
	a, r, to := line(t)
	if got := pingCount(t, a, to, 50); got != 50 {
		t.Fatalf("without loss: %d of 50 replies", got)
	}
	// 50% each way: a round trip succeeds with probability 1/4, so 200
	// pings bring 50 ± 6 replies; the bounds are more than 4 σ away.
	r.Loss(50)
	got := pingCount(t, a, to, 200)
	t.Logf("50%% loss each way: %d of 200 replies (expected 50)", got)
	if got < 25 || got > 80 {
		t.Errorf("50%% loss each way: %d of 200 replies, want about 50", got)
	}
	r.Loss(100)
	noPing(t, a, to, "through a router that drops everything")
	r.Loss(0)
	if got := pingCount(t, a, to, 50); got != 50 {
		t.Errorf("loss removed: %d of 50 replies", got)
	}
}

func TestLinkLossDropsEthernetFrames(t *testing.T) {
	t.Parallel()
	_, a, _, l := pair(t)
	dst := l.B.IP4().String()
	// Ingress loss drops ARP too; make sure a knows b before counting.
	a.MustRun("ping", "-c", "1", "-W", "1", dst)
	l.Loss(30) // 30% each way: 49% of round trips succeed
	got := pingCount(t, a, dst, 200)
	t.Logf("30%% loss each way: %d of 200 replies (expected 98)", got)
	if got < 68 || got > 128 {
		t.Errorf("30%% link loss: %d of 200 replies, want about 98", got)
	}
	l.Loss(0)
	if got := pingCount(t, a, dst, 20); got != 20 {
		t.Errorf("loss removed: %d of 20 replies", got)
	}
}

func TestLinkDownUp(t *testing.T) {
	t.Parallel()
	_, a, _, l := pair(t)
	v4, v6 := l.B.IP4().String(), l.B.IP6().String()
	a.MustRun("ping", "-c", "1", "-W", "1", v4)
	l.Down()
	noPing(t, a, v4, "over a link that is down")
	l.Up()
	a.MustRun("ping", "-c", "1", "-W", "2", v4)
	// IPv6 addresses stay while the link is down, as IPv4 ones do.
	a.MustRun("ping", "-6", "-c", "1", "-W", "2", v6)
	// One end is enough: the other loses carrier.
	l.B.Down()
	noPing(t, a, v4, "to an end that is down")
	l.B.Up()
	a.MustRun("ping", "-c", "1", "-W", "2", v4)
}

func TestSwitch(t *testing.T) {
	t.Parallel()
	lab := New(t, "")
	a, b, c := lab.Node("a"), lab.Node("b"), lab.Node("c")
	sw := lab.Switch("sw", a, b, c).Subnet("10.3.0.0/24", "fd03::/64")
	for _, e := range sw.Ends {
		for _, o := range sw.Ends {
			if e != o {
				e.Node.MustRun("ping", "-c", "1", "-W", "1", o.IP4().String())
				e.Node.MustRun("ping", "-6", "-c", "1", "-W", "1", o.IP6().String())
			}
		}
	}
	sw.Ends[2].Loss(100)
	noPing(t, a, sw.Ends[2].IP4().String(), "from a node that drops everything")
	a.MustRun("ping", "-c", "1", "-W", "1", sw.Ends[1].IP4().String())
}

// TestNAT checks that a server sees the NAT's outside address, and that
// the NAT drops what the outside sends unasked.
func TestNAT(t *testing.T) {
	t.Parallel()
	lab := New(t, "")
	c, nat, s := lab.Node("client"), lab.Router("nat"), lab.Node("server")
	in := lab.Link(c, nat).Subnet("192.168.7.0/24")
	out := lab.Link(nat, s).Subnet("10.9.0.0/24")
	c.Route("default", in.B.IP4())
	nat.Masquerade(out.A)

	// The server answers with the source address it sees.
	var srv *net.UDPConn
	if err := s.Do(func() (err error) {
		srv, err = net.ListenUDP("udp", &net.UDPAddr{Port: 7007})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 100)
		for {
			_, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			srv.WriteToUDPAddrPort([]byte(from.Addr().Unmap().String()), from)
		}
	}()

	var cli *net.UDPConn
	if err := c.Do(func() (err error) {
		cli, err = net.DialUDP("udp", nil, &net.UDPAddr{IP: out.B.IP4().AsSlice(), Port: 7007})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Write([]byte("who am i")); err != nil {
		t.Fatal(err)
	}
	cli.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 100)
	n, err := cli.Read(buf)
	if err != nil {
		t.Fatalf("no answer through the NAT: %v", err)
	}
	if got, want := string(buf[:n]), out.A.IP4().String(); got != want {
		t.Errorf("server saw %s, want the NAT's outside address %s", got, want)
	}

	// Unasked traffic from outside stops at the NAT, even with a route.
	var lis *net.UDPConn
	if err := c.Do(func() (err error) {
		lis, err = net.ListenUDP("udp", &net.UDPAddr{Port: 7008})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	s.Route(in.A.IP4().String()+"/32", out.A.IP4())
	dst := netip.AddrPortFrom(in.A.IP4(), 7008)
	for range 3 {
		srv.WriteToUDPAddrPort([]byte("unasked"), dst)
	}
	lis.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := lis.Read(buf); err == nil {
		t.Errorf("unasked packet crossed the NAT: %q", buf[:n])
	}
}

func TestHosts(t *testing.T) {
	t.Parallel()
	_, a, b, l := pair(t)
	a.Hosts(map[string]string{"peer.example": l.B.IP4().String(), "peer6": l.B.IP6().String()})
	if out := a.MustRun("getent", "hosts", "peer.example"); !strings.Contains(out, "10.1.0.2") {
		t.Errorf("getent hosts peer.example = %q, want 10.1.0.2", out)
	}
	if out := a.MustRun("getent", "hosts", "peer6"); !strings.Contains(out, "fd01::2") {
		t.Errorf("getent hosts peer6 = %q, want fd01::2", out)
	}
	a.MustRun("ping", "-c", "1", "-W", "1", "peer.example")
	if out, err := b.Run("getent", "hosts", "peer.example"); err == nil {
		t.Errorf("b resolves a's hosts entry: %q", out)
	}
	if _, err := os.Stat("/etc/hosts"); err == nil {
		host, _ := os.ReadFile("/etc/hosts")
		if strings.Contains(string(host), "peer.example") {
			t.Error("the host's /etc/hosts changed")
		}
	}
}

func TestRunEnvironmentAndErrors(t *testing.T) {
	t.Parallel()
	lab := New(t, "")
	a := lab.Node("a")
	out := a.MustRun("sh", "-c", `echo "$OUROBOROS_RUNDIR"; ip -o link show | wc -l`)
	if want := a.RunDir + "\n1\n"; out != want {
		t.Errorf("output %q, want run dir %s and one interface (lo)", out, a.RunDir)
	}
	_, err := a.Run("sh", "-c", "exit 3")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(err.Error(), "node a: sh -c exit 3") {
		t.Errorf("Run error %v: want the node, the command and exit status 3", err)
	}
	p := a.Start("sh", "-c", "echo $$; exec sleep 60")
	waitFor(t, "the pid", func() bool { return p.Output() != "" })
	if got := strings.TrimSpace(p.Output()); got != strconv.Itoa(p.PID()) {
		t.Errorf("the program's pid is %s, Proc.PID %d", got, p.PID())
	}
	if !sameNS(t, p.PID(), a) {
		t.Error("the process is not in the node's namespace")
	}
}

// sameNS reports whether process pid is in node n's network namespace.
func sameNS(t *testing.T, pid int, n *Node) bool {
	t.Helper()
	var st1, st2 syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(filepath.Join(netnsRoot, n.NS), &st2); err != nil {
		t.Fatal(err)
	}
	return st1.Ino == st2.Ino && st1.Dev == st2.Dev
}

// needRoot skips tests that do not call New first when not root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netlab needs root")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leftovers is what a lab may leave behind: its namespaces, /etc/netns
// directories, state directory and processes.
type leftovers struct {
	ns    []string
	dir   string
	pids  []int
	links string // the host's interfaces before
}

func record(t *testing.T, lab *Lab, procs ...*Proc) *leftovers {
	lo := &leftovers{dir: lab.dir, links: hostLinks(t)}
	for _, n := range lab.nodes {
		lo.ns = append(lo.ns, n.NS)
	}
	for _, p := range procs {
		lo.pids = append(lo.pids, p.PID())
	}
	return lo
}

func (lo *leftovers) check(t *testing.T) {
	t.Helper()
	for _, ns := range lo.ns {
		for _, p := range []string{filepath.Join(netnsRoot, ns), filepath.Join(etcRoot, ns)} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s is left", p)
			}
		}
	}
	if _, err := os.Stat(lo.dir); err == nil {
		t.Errorf("%s is left", lo.dir)
	}
	for _, pid := range lo.pids {
		if !gone(pid) {
			t.Errorf("process %d is left", pid)
		}
	}
	if got := hostLinks(t); got != lo.links {
		t.Errorf("the host's interfaces changed:\nbefore %s\nafter  %s", lo.links, got)
	}
}

// gone reports whether process pid has ended: it does not exist, or it
// is a zombie that its new parent has not reaped yet.
func gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || strings.HasPrefix(string(stat[i+1:]), " Z")
}

// hostLinks lists the host namespace's interfaces.
func hostLinks(t *testing.T) string {
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, f[1])
		}
	}
	return strings.Join(names, " ")
}

// busyLab makes one of everything, to check that all of it goes.
func busyLab(t testing.TB, lab *Lab) *Proc {
	a, r, b, c := lab.Node("a"), lab.Router("r"), lab.Node("b"), lab.Node("c")
	lab.Link(a, r).Subnet("10.1.0.0/24")
	out := lab.Link(r, b).Subnet("10.2.0.0/24")
	lab.Switch("sw", b, c).Subnet("10.3.0.0/24")
	r.Loss(10)
	r.Masquerade(out.A)
	a.Hosts(map[string]string{"b": "10.2.0.2"})
	return a.Start("sleep", "60")
}

func TestCleanupLeavesNothing(t *testing.T) {
	t.Parallel()
	needRoot(t)
	var lo *leftovers
	t.Run("lab", func(t *testing.T) {
		lab := New(t, "")
		p := busyLab(t, lab)
		lo = record(t, lab, p)
	})
	if lo != nil { // else the subtest failed
		lo.check(t)
	}
}

// TestSignalCleanup interrupts a test binary (this one, running
// TestSignalHelper) that holds a lab and checks that the lab is gone and
// the binary died of SIGINT.
func TestSignalCleanup(t *testing.T) {
	t.Parallel()
	cmd, lo := startHelper(t)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Errorf("helper ended with %v, want death by SIGINT", err)
	}
	lo.check(t)
}

// TestSweepAfterKill kills a test binary that holds a lab, so that it
// cannot clean up, and checks that Sweep removes what it left.
func TestSweepAfterKill(t *testing.T) {
	t.Parallel()
	cmd, lo := startHelper(t)
	cmd.Process.Kill()
	cmd.Wait()
	// Another test's New may sweep first; either way all must go.
	if _, err := Sweep(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the orphaned process to die", func() bool { return gone(lo.pids[0]) })
	lo.check(t)
}

// startHelper runs TestSignalHelper in a child test binary and returns it
// with what its lab would leave behind, once the lab is built.
func startHelper(t *testing.T) (*exec.Cmd, *leftovers) {
	t.Helper()
	needRoot(t)
	lo := &leftovers{links: hostLinks(t)}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "NETLAB_SIGNAL_HELPER=1")
	cmd.Stderr = os.Stderr
	// The helper lives until its stdin closes, which it does at the
	// latest when this process dies.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			fields := strings.Fields(f)
			lo.dir = fields[0]
			pid, _ := strconv.Atoi(fields[1])
			lo.pids = []int{pid}
			lo.ns = fields[2:]
			break
		}
	}
	if lo.dir == "" {
		t.Fatal("the helper did not build its lab")
	}
	go io.Copy(io.Discard, stdout)
	return cmd, lo
}

// TestSignalHelper builds a lab and waits to be interrupted, or for its
// stdin to close. It is not a test of its own: it does its work only as
// startHelper's child process (the helper-process pattern of os/exec's
// tests), and returns at once otherwise.
func TestSignalHelper(t *testing.T) {
	if os.Getenv("NETLAB_SIGNAL_HELPER") == "" {
		return
	}
	lab := New(t, "")
	p := busyLab(t, lab)
	var ns []string
	for _, n := range lab.nodes {
		ns = append(ns, n.NS)
	}
	fmt.Printf("READY %s %d %s\n", lab.dir, p.PID(), strings.Join(ns, " "))
	io.Copy(io.Discard, os.Stdin)
}

// TestSweep fakes what a killed test binary leaves and sweeps it.
func TestSweep(t *testing.T) {
	t.Parallel()
	lab := New(t, "")
	mine := lab.Node("mine")

	// The fake lab's owner lives until its orphan is in the namespace,
	// lest a sweep by another test remove the namespace too early.
	owner := exec.Command("sleep", "60")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	defer owner.Process.Kill()
	id := fmt.Sprintf("%d-abcdef", owner.Process.Pid)
	ns := nsPrefix + id + "-x"
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { removeNS(lab.ip, ns) }) // in case Sweep fails
	for _, d := range []string{filepath.Join(etcRoot, ns), filepath.Join(stateRoot, id, "x")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A process that outlived its test binary, as irmd would.
	orphan := exec.Command("ip", "netns", "exec", ns, "sleep", "60")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- orphan.Wait() }()
	var ino syscall.Stat_t
	syscall.Stat(filepath.Join(netnsRoot, ns), &ino)
	waitFor(t, "the orphan to enter its namespace", func() bool {
		var st syscall.Stat_t
		return syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", orphan.Process.Pid), &st) == nil && st.Ino == ino.Ino
	})
	owner.Process.Kill()
	owner.Wait()

	if _, err := Sweep(); err != nil {
		t.Fatal(err)
	}
	lo := leftovers{ns: []string{ns}, dir: filepath.Join(stateRoot, id), links: hostLinks(t)}
	lo.check(t)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Error("the orphan in the stale namespace is still running")
	}
	if _, err := os.Stat(filepath.Join(netnsRoot, mine.NS)); err != nil {
		t.Errorf("Sweep removed a live lab's namespace: %v", err)
	}
}

// TestIRMd starts an irmd in each of two nodes, with the project's
// binaries, and checks that each answers in its own run directory.
func TestIRMd(t *testing.T) {
	t.Parallel()
	needRoot(t)
	bin, err := hostlab.BuildBinaries(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lab := New(t, bin)
	a, b := lab.Node("a"), lab.Node("b")
	pa := a.StartIRMd()
	b.StartIRMd()
	if !sameNS(t, pa.PID(), a) {
		t.Error("irmd is not in its node's namespace")
	}
	a.MustRun("irm", "ipcp", "bootstrap", "name", "lo", "layer", "local", "type", "local")
	if out := a.MustRun("irm", "ipcp", "list"); !strings.Contains(out, "lo") {
		t.Errorf("a's irmd does not list its IPCP:\n%s", out)
	}
	if out := b.MustRun("irm", "ipcp", "list"); strings.Contains(out, "local") {
		t.Errorf("b's irmd lists a's IPCP:\n%s", out)
	}
}
