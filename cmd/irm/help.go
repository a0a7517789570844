package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// helpName is the keyword of "irm help", which parse handles itself
// because it walks the whole tree.
const helpName = "help"

// node is one keyword of the command tree: a group of subcommands, or a
// command with its own parser.
type node struct {
	name    string
	usage   []string // grammar lines, each a full command line
	summary string   // one sentence, for the group's listing
	text    string   // what it does, its options and notes
	example []string // command lines that work as shown
	subs    []*node
	parse   func(args []string) (*command, error) // nil for groups
}

// commandTree returns the root of irm's commands. It is built on each call
// so that nothing in the package is mutable state.
func commandTree() *node {
	return &node{
		usage:   []string{"irm COMMAND [ARGS]..."},
		summary: "Manage the Ouroboros daemon (irmd) on this host.",
		text: `irm manages the IPC resource manager daemon (irmd) on this host: its IPC
processes (IPCPs) and the layers they form, the names applications are
reached by, and which programs and processes answer for each name. "irm
cert" makes and checks the certificates that authenticate names and
layers; it works on files and needs no irmd.`,
		example: []string{"irm ipcp bootstrap name local.ipcp layer local type local", "irm i l"},
		subs: []*node{
			ipcpNode(),
			nameNode(),
			bindNode(),
			unbindNode(),
			flowNode(),
			certNode(),
			{
				name:    helpName,
				usage:   []string{"irm help [COMMAND]..."},
				summary: "Show help for a command.",
				text: `Without a command, lists every command. Keywords may be abbreviated here
too. "irm COMMAND --help" and "irm COMMAND -h" show the same text.`,
				example: []string{"irm help ipcp bootstrap", "irm ipcp bootstrap --help"},
			},
		},
	}
}

// find returns the subcommand that word names.
func (n *node) find(word string) (*node, error) {
	names := make([]string, len(n.subs))
	for i, s := range n.subs {
		names[i] = s.name
	}
	name, err := match("command", word, names)
	if err != nil {
		return nil, err
	}
	return n.subs[slices.IndexFunc(n.subs, func(s *node) bool { return s.name == name })], nil
}

// usageText returns the grammar lines of n, as the first lines of its help.
func (n *node) usageText() string {
	var b strings.Builder
	for i, u := range n.usage {
		if i == 0 {
			b.WriteString("usage: ")
		} else {
			b.WriteString("       ")
		}
		b.WriteString(u)
		b.WriteByte('\n')
	}
	return b.String()
}

// helpText returns the full help of n, which is found at path.
func (n *node) helpText(path []string) string {
	var b strings.Builder
	b.WriteString(n.usageText())
	if n.text != "" {
		b.WriteString("\n" + n.text + "\n")
	}
	switch {
	case len(path) == 0:
		b.WriteString("\nCommands:\n")
		for _, s := range n.subs {
			for _, leaf := range s.leaves() {
				for _, u := range leaf.usage {
					b.WriteString("  " + u + "\n")
				}
			}
		}
		b.WriteString("  irm --version\n")
	case n.subs != nil:
		b.WriteString("\nCommands:\n")
		for _, s := range n.subs {
			for _, u := range s.usage {
				b.WriteString("  " + u + "\n")
			}
			b.WriteString("      " + s.summary + "\n")
		}
	}
	if len(n.example) > 0 {
		b.WriteString("\nExample:\n")
		for _, e := range n.example {
			b.WriteString("  " + e + "\n")
		}
	}
	switch {
	case len(path) == 0:
		b.WriteString(`
Keywords match on any unique prefix: "irm i l" is "irm ipcp list".
Run "irm help COMMAND..." for details, such as "irm help ipcp bootstrap".
irm reaches irmd at $OUROBOROS_RUNDIR/irmd.sock (default /run/ouroboros).
`)
	case n.subs != nil:
		fmt.Fprintf(&b, "\nRun \"irm help %s COMMAND\" for details.\n", strings.Join(path, " "))
	}
	return b.String()
}

// leaves returns the commands under n (n itself if it is one), in order.
func (n *node) leaves() []*node {
	if n.subs == nil {
		return []*node{n}
	}
	var out []*node
	for _, s := range n.subs {
		out = append(out, s.leaves()...)
	}
	return out
}

// version is set at build time with -ldflags "-X main.version=..." (see
// the Makefile); nothing assigns it at run time.
var version = "0.1.0-dev"

// versionText returns what "irm --version" prints.
func versionText() string {
	return fmt.Sprintf("irm %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
