package netlab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
)

// Node is one network namespace with its own run directory, the host of
// at most one irmd. Its fields must not be changed.
type Node struct {
	Name   string // as given to Lab.Node
	NS     string // the namespace's name, for `ip netns exec NS ...` by hand
	RunDir string // OUROBOROS_RUNDIR of everything started in the node

	lab  *Lab
	nifs int // interfaces made so far, to name the next ethN; guarded by lab.mu
}

// Node makes a node: a new namespace with lo up, IPv6 duplicate address
// detection off (addresses are usable at once) and IPv6 addresses kept
// while a link is down, as IPv4 ones are. Names are unique within a Lab
// and match [A-Za-z0-9][A-Za-z0-9_.-]{0,31}.
func (l *Lab) Node(name string) *Node {
	l.t.Helper()
	n := l.addNode(name)
	l.sys("", l.ip, "-n", n.NS, "link", "set", "lo", "up")
	// Interfaces made later inherit "default"; "all" covers lo.
	for _, c := range []string{"all", "default"} {
		n.Sysctl("net.ipv6.conf."+c+".accept_dad", "0")
		n.Sysctl("net.ipv6.conf."+c+".keep_addr_on_down", "1")
	}
	if err := os.MkdirAll(n.RunDir, 0o755); err != nil {
		l.t.Fatalf("netlab: %v", err)
	}
	return n
}

// addNode records a new node and makes its namespace.
func (l *Lab) addNode(name string) *Node {
	l.t.Helper()
	if !nodeName.MatchString(name) {
		l.t.Fatalf("netlab: bad node name %q: want [A-Za-z0-9][A-Za-z0-9_.-]{0,31}", name)
	}
	n := &Node{
		Name:   name,
		NS:     nsPrefix + l.id + "-" + name,
		RunDir: filepath.Join(l.dir, name),
		lab:    l,
	}
	err := l.making(func() error {
		if err := l.add(n); err != nil {
			return err
		}
		_, err := runSys("", l.ip, "netns", "add", n.NS)
		return err
	})
	if err != nil {
		l.t.Fatalf("netlab: %v", err)
	}
	return n
}

// add adds n to the Lab's nodes unless its name is taken.
func (l *Lab) add(n *Node) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.nodes {
		if o.Name == n.Name {
			return fmt.Errorf("node %q exists", n.Name)
		}
	}
	l.nodes = append(l.nodes, n)
	return nil
}

// Router makes a node that forwards IPv4 and IPv6 between its links.
func (l *Lab) Router(name string) *Node {
	l.t.Helper()
	n := l.Node(name)
	n.Sysctl("net.ipv4.ip_forward", "1")
	n.Sysctl("net.ipv6.conf.all.forwarding", "1")
	return n
}

// String returns the node's name.
func (n *Node) String() string { return n.Name }

// Do runs f on an OS thread that is inside the node's namespace, and
// returns its error. Sockets that f opens stay in the namespace and may be
// used from any goroutine afterwards, which lets a test run small Go
// servers and clients in a node without helper programs. f runs on
// another goroutine (so it must not call t.Fatal), should not start
// goroutines that open sockets (they would run in the host's namespace),
// and should dial IP literals: name resolution may happen elsewhere.
func (n *Node) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer home.Close()
		if err := n.enter(); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = f()
		// A thread that cannot go home must not run other goroutines:
		// staying locked makes the runtime end it with this goroutine.
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// enter moves the calling thread into the node's namespace.
func (n *Node) enter() error {
	f, err := os.Open(filepath.Join(netnsRoot, n.NS))
	if err != nil {
		return fmt.Errorf("netlab: node %s: %w", n.Name, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netlab: node %s: setns: %w", n.Name, err)
	}
	return nil
}

// Sysctl sets a networking sysctl, like net.ipv4.ip_forward, inside the
// node; it fails the test if it cannot. Keys missing from the kernel (for
// example net.bridge.* without br_netfilter) are an error too.
func (n *Node) Sysctl(key, value string) {
	n.lab.t.Helper()
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	// /proc/sys/net shows the namespace of the thread that opens it.
	err := n.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) })
	if err != nil {
		n.lab.t.Fatalf("netlab: node %s: sysctl %s=%s: %v", n.Name, key, value, err)
	}
}

// Route adds (or replaces) a route to dst, a prefix or "default", via the
// gateway via; the gateway's family picks IPv4 or IPv6.
func (n *Node) Route(dst string, via netip.Addr) {
	n.lab.t.Helper()
	fam := "-4"
	if via.Is6() {
		fam = "-6"
	}
	n.lab.sys("", n.lab.ip, "-n", n.NS, fam, "route", "replace", dst, "via", via.String())
}

// Etc writes file (a name like "hosts" or "resolv.conf") into
// /etc/netns/NS, which `ip netns exec` mounts over /etc/file for every
// process it starts in the node. Processes already running do not see it.
func (n *Node) Etc(file, content string) {
	n.lab.t.Helper()
	dir := filepath.Join(etcRoot, n.NS)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.lab.t.Fatalf("netlab: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		n.lab.t.Fatalf("netlab: %v", err)
	}
}

// Hosts gives the node its own /etc/hosts (see Etc): localhost plus one
// line per name, mapping it to an address. The C library and Go's
// resolver of processes started afterwards both read it.
func (n *Node) Hosts(names map[string]string) {
	n.lab.t.Helper()
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, k := range keys {
		if _, err := netip.ParseAddr(names[k]); err != nil {
			n.lab.t.Fatalf("netlab: node %s: hosts: %s: %v", n.Name, k, err)
		}
		fmt.Fprintf(&b, "%s\t%s\n", names[k], k)
	}
	n.Etc("hosts", b.String())
}

// Loss makes the node drop percent (0 to 100) of the packets it forwards,
// in each direction, at random (nftables numgen in the forward hook). A
// round trip through the node thus succeeds with probability
// (1-p/100)². Loss(0) removes the rule. It acts only on routed IP
// traffic; End.Loss drops any frame.
func (n *Node) Loss(percent int) {
	n.lab.t.Helper()
	checkPercent(n.lab.t, percent)
	n.nft(lossScript("inet", "forward_loss", "hook forward", percent))
}

// Masquerade makes the node a NAT box with out as its outside interface:
// connections routed out through out get out's address as their source,
// and packets that arrive on out are forwarded only when they belong to
// such a connection, as on a home router. It covers IPv4 and IPv6.
// The node must be a Router; call Masquerade once per outside interface.
func (n *Node) Masquerade(out *End) {
	n.lab.t.Helper()
	if out.Node != n {
		n.lab.t.Fatalf("netlab: node %s: Masquerade on %s, an interface of node %s", n.Name, out.Name, out.Node.Name)
	}
	n.nft(fmt.Sprintf(`add table inet netlab
add chain inet netlab nat_post { type nat hook postrouting priority srcnat; }
add rule inet netlab nat_post oifname %[1]q masquerade
add chain inet netlab nat_filter { type filter hook forward priority filter; }
add rule inet netlab nat_filter iifname %[1]q ct state established,related accept
add rule inet netlab nat_filter iifname %[1]q drop
`, out.Name))
}

// lossScript is an nftables script that makes chain (in table netlab of
// family fam, attached by hook) drop percent of packets, replacing
// whatever it held.
func lossScript(fam, chain, hook string, percent int) string {
	s := fmt.Sprintf(`add table %[1]s netlab
add chain %[1]s netlab %[2]s { type filter %[3]s priority 0; }
flush chain %[1]s netlab %[2]s
`, fam, chain, hook)
	switch {
	case percent >= 100: // numgen's values are 0 to 99: "< 100" is refused
		s += fmt.Sprintf("add rule %s netlab %s drop\n", fam, chain)
	case percent > 0:
		s += fmt.Sprintf("add rule %s netlab %s numgen random mod 100 < %d drop\n", fam, chain, percent)
	}
	return s
}

// nft runs an nftables script in the node.
func (n *Node) nft(script string) {
	n.lab.t.Helper()
	nft, err := exec.LookPath("nft")
	if err != nil {
		n.lab.t.Fatalf("netlab: node %s needs nftables' nft: %v (apt-get install nftables)", n.Name, err)
	}
	n.lab.sys(script, n.lab.ip, "netns", "exec", n.NS, nft, "-f", "-")
}

// Command returns a command that runs name in the node with
// OUROBOROS_RUNDIR set to the node's run directory. name is one of the
// project's binaries when the Lab's bin directory holds it, else a path or
// a program found in $PATH. It starts through `ip netns exec`, which execs
// in place (the process's pid is name's pid) after mounting the node's
// /etc/netns files. The command gets its own process group, killed when a
// context given to CommandContext is done.
func (n *Node) Command(name string, args ...string) *exec.Cmd {
	return n.CommandContext(context.Background(), name, args...)
}

// CommandContext is Command with a context.
func (n *Node) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := name
	if n.lab.bin != "" && !strings.Contains(name, "/") {
		if p := filepath.Join(n.lab.bin, name); isFile(p) {
			path = p
		}
	}
	argv := append([]string{"netns", "exec", n.NS, path}, args...)
	cmd := exec.CommandContext(ctx, n.lab.ip, argv...)
	cmd.Env = append(os.Environ(), ctrl.EnvRunDir+"="+n.RunDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Run runs a command (see Command) to completion, within a minute, and
// returns its combined output. The error names the node and the command.
func (n *Node) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := n.CommandContext(ctx, name, args...)
	// One writer for both streams: os/exec then writes from one goroutine
	// at a time, so a plain buffer is safe.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := n.lab.making(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		err = fmt.Errorf("node %s: %s: %w", n.Name, strings.Join(append([]string{name}, args...), " "), err)
	}
	return out.String(), err
}

// MustRun is Run that fails the test, showing the output, when the command
// fails.
func (n *Node) MustRun(name string, args ...string) string {
	n.lab.t.Helper()
	out, err := n.Run(name, args...)
	if err != nil {
		n.lab.t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// Start starts a command (see Command) in the background; it is stopped
// when the Lab closes.
func (n *Node) Start(name string, args ...string) *Proc {
	n.lab.t.Helper()
	return n.StartCmd(n.Command(name, args...))
}

// StartCmd starts a command made by Command, whose stdin and stdout the
// caller may have set; output not redirected is captured (Proc.Output).
// It is stopped when the Lab closes.
func (n *Node) StartCmd(cmd *exec.Cmd) *Proc {
	l := n.lab
	l.t.Helper()
	var p *Proc
	err := l.making(func() (err error) {
		p, err = startProc(n, cmd)
		if err == nil {
			l.mu.Lock()
			l.procs = append(l.procs, p)
			l.mu.Unlock()
		}
		return err
	})
	if err != nil {
		l.t.Fatalf("netlab: node %s: starting %s: %v", n.Name, strings.Join(cmd.Args, " "), err)
	}
	return p
}

// StartIRMd starts the project's irmd (from the Lab's bin directory) in
// the node with args and waits until its control socket answers. Without
// a --config argument irmd gets an empty configuration, so that
// /etc/ouroboros/irmd.conf does not leak into tests.
func (n *Node) StartIRMd(args ...string) *Proc {
	n.lab.t.Helper()
	if n.lab.bin == "" {
		n.lab.t.Fatalf("netlab: node %s: StartIRMd needs the project's binaries: pass their directory to New", n.Name)
	}
	if !hasArg(args, "--config") {
		empty := filepath.Join(n.RunDir, "empty.conf")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			n.lab.t.Fatalf("netlab: %v", err)
		}
		args = append(args, "--config", empty)
	}
	p := n.Start("irmd", append([]string{"--stdout"}, args...)...)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := ctrl.Dial(n.RunDir); err == nil {
			c.Close()
			return p
		}
		if p.Exited() {
			n.lab.t.Fatalf("netlab: node %s: irmd exited at start: %v\n%s", n.Name, p.Wait(0), p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.lab.t.Fatalf("netlab: node %s: irmd did not answer within 10 s:\n%s", n.Name, p.Output())
	return nil
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a || strings.HasPrefix(x, a+"=") {
			return true
		}
	}
	return false
}

// newIf returns the name of the node's next interface.
func (n *Node) newIf(prefix string) string {
	l := n.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	name := fmt.Sprintf("%s%d", prefix, n.nifs)
	n.nifs++
	return name
}
