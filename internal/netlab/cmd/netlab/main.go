// Command netlab builds a netlab topology by hand, for debugging, and
// removes labs that crashed test binaries left behind.
//
//	netlab sweep                  remove labs whose owner process is gone
//	netlab list                   list lab namespaces and their owners
//	netlab line [-loss N] [-nat] [-bin DIR]
//	                              build a -- r -- b, print how to reach the
//	                              nodes, and tear down on Enter or Ctrl-C
//
// It needs root.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"

	"o7s.dev/ouroboros/internal/netlab"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "sweep":
		removed, err := netlab.Sweep()
		for _, ns := range removed {
			fmt.Println("removed", ns)
		}
		if err != nil {
			fatal(err)
		}
	case "list":
		list()
	case "line":
		line(os.Args[2:])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: netlab sweep | list | line [-loss N] [-nat] [-bin DIR]")
	os.Exit(2)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "netlab:", err)
	os.Exit(1)
}

var owner = regexp.MustCompile(`^nl-([0-9]+)-`)

func list() {
	ents, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		fatal(err)
	}
	for _, e := range ents {
		m := owner.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		state := "owner alive"
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			state = "stale (owner gone)"
		}
		fmt.Printf("%s\tpid %d\t%s\n", e.Name(), pid, state)
	}
}

// line builds client a and server b on two subnets joined by router r.
func line(args []string) {
	fs := flag.NewFlagSet("line", flag.ExitOnError)
	loss := fs.Int("loss", 0, "percent of forwarded packets r drops in each direction")
	nat := fs.Bool("nat", false, "r masquerades a's traffic towards b; b has no route back to a")
	bin := fs.String("bin", "", "directory of the project's binaries, for irmd and friends")
	fs.Parse(args)
	if *bin != "" {
		abs, err := filepath.Abs(*bin)
		if err != nil {
			fatal(err)
		}
		*bin = abs
	}

	t := &cliTB{}
	defer t.runCleanups()
	lab := netlab.New(t, *bin)
	a, r, b := lab.Node("a"), lab.Router("r"), lab.Node("b")
	left := lab.Link(a, r).Subnet("10.1.0.0/24", "fd01::/64")
	right := lab.Link(r, b).Subnet("10.2.0.0/24", "fd02::/64")
	a.Route("default", left.B.IP4())
	a.Route("default", left.B.IP6())
	if *nat {
		r.Masquerade(right.A)
	} else {
		b.Route("default", right.A.IP4())
		b.Route("default", right.A.IP6())
	}
	if *loss > 0 {
		r.Loss(*loss)
	}
	a.Hosts(map[string]string{"b": right.B.IP4().String(), "b6": right.B.IP6().String()})

	fmt.Printf("lab %s: a %s -- %s r %s -- %s b\n", lab.ID(), addrs(left.A), addrs(left.B), addrs(right.A), addrs(right.B))
	for _, n := range []*netlab.Node{a, r, b} {
		fmt.Printf("  %s: ip netns exec %s bash   (OUROBOROS_RUNDIR=%s)\n", n.Name, n.NS, n.RunDir)
	}
	fmt.Println("a resolves b and b6. Press Enter (or Ctrl-C) to tear down.")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

func addrs(e *netlab.End) string {
	return fmt.Sprintf("%s[%s %s]", e.Name, e.IP4(), e.IP6())
}

// cliTB lets a Lab run outside a test: failures end the program after
// running the cleanups.
type cliTB struct{ cleanups []func() }

func (c *cliTB) Helper()                           {}
func (c *cliTB) Cleanup(f func())                  { c.cleanups = append(c.cleanups, f) }
func (c *cliTB) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (c *cliTB) Errorf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (c *cliTB) Skip(args ...any)                  { c.Fatalf("%s", fmt.Sprint(args...)) }

func (c *cliTB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	c.runCleanups()
	os.Exit(1)
}

func (c *cliTB) runCleanups() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
	c.cleanups = nil
}
