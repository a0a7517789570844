// Command ovpn maps tun (IP) and tap (Ethernet) interfaces onto encrypted
// Ouroboros flows between named endpoints: site-to-site links, laptop
// clients and L2 bridges. Each link is one configuration file; `ovpn up`
// brings it up and keeps it up in the background. Run "ovpn help" for the
// commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"o7s.dev/ouroboros/internal/tool"
	"o7s.dev/ouroboros/stack/ctrl"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the link, irmd, the device or the system refused
	exitUsage   = 2 // the command line or the configuration is wrong
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// invocation is one parsed command line.
type invocation struct {
	cmd     *command
	args    []string        // positional arguments
	flags   map[string]bool // boolean options given, by long name
	readyFD int             // up --ready-fd: where a background child reports
	rundir  string
	stdout  io.Writer
	stderr  io.Writer
}

// run executes one ovpn command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	inv, err := parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "ovpn: %v\n", err)
		if inv != nil && inv.cmd != nil {
			fmt.Fprintf(stderr, "%sRun 'ovpn help %s' for details.\n", inv.cmd.usageText(), inv.cmd.name)
		} else {
			fmt.Fprintln(stderr, "Run 'ovpn help' for the commands.")
		}
		return exitUsage
	}
	if inv.cmd.run == nil { // help and version
		return inv.cmd.local(inv, stdout)
	}
	inv.rundir, inv.stdout, inv.stderr = ctrl.RunDir(), stdout, stderr
	return inv.cmd.run(ctx, inv)
}

// parse reads a command line: a command, then options and arguments in
// any order; "--" ends the options. -h and --help anywhere ask for the
// command's help.
func parse(args []string) (*invocation, error) {
	cmds := commands()
	if len(args) == 0 {
		return &invocation{cmd: helpCommand(cmds, nil)}, nil
	}
	switch args[0] {
	case "-h", "--help", "-help":
		return &invocation{cmd: helpCommand(cmds, nil)}, nil
	case "--version", "-version", "version":
		return &invocation{cmd: versionCommand()}, nil
	case "help":
		return &invocation{cmd: helpCommand(cmds, args[1:])}, nil
	}
	c := findCommand(cmds, args[0])
	if c == nil {
		return nil, fmt.Errorf("unknown command %q", args[0])
	}
	inv := &invocation{cmd: c, flags: map[string]bool{}}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			inv.args = append(inv.args, rest[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			inv.args = append(inv.args, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = c.long(name)
		switch {
		case name == "help":
			return &invocation{cmd: helpCommand(cmds, []string{c.name})}, nil
		case name == "ready-fd" && c.name == "up":
			if !hasVal && i+1 < len(rest) {
				i++
				val, hasVal = rest[i], true
			}
			fd, err := strconv.Atoi(val)
			if !hasVal || err != nil || fd < 3 {
				return inv, fmt.Errorf("--ready-fd wants a file descriptor number from 3 up")
			}
			inv.readyFD = fd
		case c.hasFlag(name) && !hasVal:
			inv.flags[name] = true
		default:
			return inv, fmt.Errorf("%s: unknown option %s", c.name, a)
		}
	}
	if len(inv.args) < c.minArgs || len(inv.args) > c.maxArgs {
		return inv, c.argError(inv)
	}
	return inv, nil
}

// findCommand returns the command called name, nil if there is none.
func findCommand(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// versionCommand prints the version.
func versionCommand() *command {
	return &command{name: "version", local: func(_ *invocation, w io.Writer) int {
		fmt.Fprintln(w, tool.Version("ovpn"))
		return exitOK
	}}
}
