package main

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
)

func bindNode() *node {
	return &node{
		name:    "bind",
		usage:   []string{"irm bind {program|process|ipcp} ..."},
		summary: "Say which programs, processes or IPCPs answer for a name.",
		text: `A flow to a name goes to a process bound to it (directly, or through its
program) that accepts flows. Bindings are local to this host.`,
		example: []string{"irm bind program oecho name oecho"},
		subs: []*node{
			{
				name:    "program",
				usage:   []string{"irm bind program P name N [user U] [group G] [auto] [-- ARGS...]"},
				summary: "Bind a program: its processes of the binding's user answer for the name.",
				text: `Binds program P to name N: each process started from P by the binding's
user may accept flows to N. The user is the one running irm bind (root,
for irmd.conf), or U; with group G, processes of G's members may too.
A process of P run by anyone else does not get N's flows: irmd knows a
process's user and program from the kernel, not from the process.

P is found like a shell finds it: a path is used as given (relative to
the current directory if it does not start with /), a bare name is
looked up in $PATH; irmd receives the absolute path, and refuses one that
is not an executable file. With auto, irmd starts P with ARGS when a flow
for N arrives and no process accepts it; P then runs as irmd's user
(root). Arguments after -- are for the program, so they may start with -.`,
				example: []string{"irm bind program oecho name oecho auto -- --listen", "irm bind program /usr/bin/myserver name printer user lp"},
				parse:   parseBindProgram,
			},
			{
				name:    "process",
				usage:   []string{"irm bind process PID name N"},
				summary: "Bind a running process to a name.",
				text: `Binds process PID to name N until the process exits or is unbound.
irmd records the process's user: a later process of another user that
gets the same pid does not answer for N.`,
				example: []string{"irm bind process 4242 name oping.server"},
				parse:   parseBindProcess,
			},
			{
				name:    "ipcp",
				usage:   []string{"irm bind ipcp I name N"},
				summary: "Bind an IPCP to a name, so that its peers can reach it.",
				text: `Binds IPCP I to name N, which lets the other members of I's layer enroll
or connect through it by that name ("autobind" does this for the IPCP's
own name and its layer's name).`,
				example: []string{"irm bind ipcp net.a name net"},
				parse:   parseBindIPCP,
			},
		},
	}
}

func unbindNode() *node {
	return &node{
		name:    "unbind",
		usage:   []string{"irm unbind {program|process|ipcp} ..."},
		summary: "Remove bindings made with irm bind.",
		text:    `Undoes "irm bind". Processes already running keep the flows they have.`,
		example: []string{"irm unbind program oecho"},
		subs: []*node{
			{
				name:    "program",
				usage:   []string{"irm unbind program P [name N]"},
				summary: "Unbind a program from one name, or from all of its names.",
				text: `Unbinds program P from name N, or from every name without "name N". P is
resolved as for "irm bind program"; give the path shown by "irm name
list" if the program is no longer installed.`,
				example: []string{"irm unbind program /usr/bin/oecho name oecho"},
				parse:   parseUnbindProgram,
			},
			{
				name:    "process",
				usage:   []string{"irm unbind process PID name N"},
				summary: "Unbind a process from a name.",
				text:    `Unbinds process PID from name N.`,
				example: []string{"irm unbind process 4242 name oping.server"},
				parse:   parseUnbindProcess,
			},
			{
				name:    "ipcp",
				usage:   []string{"irm unbind ipcp I name N"},
				summary: "Unbind an IPCP from a name.",
				text:    `Unbinds IPCP I from name N.`,
				example: []string{"irm unbind ipcp net.a name net"},
				parse:   parseUnbindIPCP,
			},
		},
	}
}

func parseBindProgram(args []string) (*command, error) {
	args, progArgs, dashes := splitDashes(args)
	prog, rest, err := positional(args, "program P")
	if err != nil {
		return nil, err
	}
	m, err := scanArgs(rest, grammar{values: []string{"name", "user", "group"}, flags: []string{"auto"}})
	if err != nil {
		return nil, err
	}
	req := ctrl.BindProgram{Auto: m.has("auto"), User: m.get("user"), Group: m.get("group")}
	if req.Name, err = m.need("name", "N"); err != nil {
		return nil, err
	}
	if dashes && !req.Auto {
		// irmd passes ARGS only when it starts the program itself.
		return nil, errors.New("arguments after -- are only used with auto: add auto, or drop them")
	}
	if req.Prog, err = resolveProgram(prog); err != nil {
		return nil, err
	}
	if len(progArgs) > 0 {
		req.Args = progArgs
	}
	return &command{op: ctrl.OpBindProgram, req: req}, nil
}

func parseUnbindProgram(args []string) (*command, error) {
	prog, rest, err := positional(args, "program P")
	if err != nil {
		return nil, err
	}
	m, err := scanArgs(rest, grammar{values: []string{"name"}})
	if err != nil {
		return nil, err
	}
	req := ctrl.BindProgram{Name: m.get("name")}
	if m.has("name") && req.Name == "" {
		return nil, errors.New("empty value for name: leave out \"name N\" to unbind every name")
	}
	if req.Prog, err = resolveProgram(prog); err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpUnbindProgram, req: req}, nil
}

func parseBindProcess(args []string) (*command, error) {
	req, err := processRequest(args)
	if err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpBindProcess, req: req}, nil
}

func parseUnbindProcess(args []string) (*command, error) {
	req, err := processRequest(args)
	if err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpUnbindProcess, req: req}, nil
}

// processRequest reads "PID name N".
func processRequest(args []string) (ctrl.BindProcess, error) {
	var req ctrl.BindProcess
	pid, rest, err := positional(args, "process PID")
	if err != nil {
		return req, err
	}
	if req.PID, err = strconv.Atoi(pid); err != nil || req.PID <= 0 {
		return req, fmt.Errorf("bad PID %q: want a process id such as 4242", pid)
	}
	m, err := scanArgs(rest, grammar{values: []string{"name"}})
	if err != nil {
		return req, err
	}
	req.Name, err = m.need("name", "N")
	return req, err
}

func parseBindIPCP(args []string) (*command, error) {
	req, err := ipcpBindRequest(args)
	if err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpBindIPCP, req: req}, nil
}

func parseUnbindIPCP(args []string) (*command, error) {
	req, err := ipcpBindRequest(args)
	if err != nil {
		return nil, err
	}
	return &command{op: ctrl.OpUnbindIPCP, req: req}, nil
}

// ipcpBindRequest reads "I name N".
func ipcpBindRequest(args []string) (ctrl.BindIPCP, error) {
	var req ctrl.BindIPCP
	ipcp, rest, err := positional(args, "IPCP I")
	if err != nil {
		return req, err
	}
	m, err := scanArgs(rest, grammar{values: []string{"name"}})
	if err != nil {
		return req, err
	}
	req.IPCP = ipcp
	req.Name, err = m.need("name", "N")
	return req, err
}

// splitDashes splits args at the first "--": irm's arguments before it, the
// program's after it. dashes reports whether there was one.
func splitDashes(args []string) (before, after []string, dashes bool) {
	i := slices.Index(args, "--")
	if i < 0 {
		return args, nil, false
	}
	return args[:i], args[i+1:], true
}

// resolveProgram returns the absolute path of the program a shell would run
// for prog: irmd starts programs itself, with neither irm's working
// directory nor its $PATH.
func resolveProgram(prog string) (string, error) {
	if filepath.IsAbs(prog) {
		return filepath.Clean(prog), nil
	}
	p, err := exec.LookPath(prog)
	// A shell runs a program found through "." in $PATH; Go reports it as
	// ErrDot for safety, but the user asked for it by typing its name.
	if err != nil && !errors.Is(err, exec.ErrDot) {
		if !strings.Contains(prog, "/") {
			return "", fmt.Errorf("program %q not found in $PATH: give its path, such as /usr/bin/%s", prog, prog)
		}
		return "", fmt.Errorf("program %q is not an executable file", prog)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("program %q: %v", prog, err)
	}
	return abs, nil
}
