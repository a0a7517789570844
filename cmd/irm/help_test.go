package main

import (
	"strings"
	"testing"

	"o7s.dev/ouroboros/stack/schema"
)

// walk calls f for every node of the tree below root with its path.
func walk(n *node, path []string, f func(n *node, path []string)) {
	for _, s := range n.subs {
		p := append(append([]string(nil), path...), s.name)
		f(s, p)
		walk(s, p, f)
	}
}

// TestHelpEveryCommand asks for the help of every command in each of the
// ways a user can, and checks that it shows the grammar and an example.
func TestHelpEveryCommand(t *testing.T) {
	withProgram(t, "oecho")
	walk(commandTree(), nil, func(n *node, path []string) {
		name := strings.Join(path, " ")
		ways := [][]string{
			append([]string{"help"}, path...),
			append(append([]string(nil), path...), "--help"),
			append(append([]string(nil), path...), "-h"),
		}
		if n.parse != nil {
			// A help flag anywhere among a command's arguments.
			ways = append(ways, append(append([]string(nil), path...), "name", "x", "-h"))
		}
		var first string
		for _, args := range ways {
			c, err := parse(args)
			if err != nil {
				t.Errorf("%q: %v", args, err)
				continue
			}
			if c.text == "" {
				t.Errorf("%q: no help text", args)
				continue
			}
			if first == "" {
				first = c.text
			} else if c.text != first {
				t.Errorf("%q: help differs from %q", args, ways[0])
			}
		}
		if !strings.HasPrefix(first, "usage: irm "+name) && name != helpName {
			t.Errorf("help for %q does not start with its usage:\n%s", name, first)
		}
		if !strings.Contains(first, "\nExample:\n  irm ") {
			t.Errorf("help for %q has no example:\n%s", name, first)
		}
		if n.summary == "" {
			t.Errorf("%q has no summary", name)
		}
	})
}

// TestHelpExamplesParse checks that every example in the help is a valid
// command line.
func TestHelpExamplesParse(t *testing.T) {
	withProgram(t, "oecho")
	root := commandTree()
	examples := root.example
	walk(root, nil, func(n *node, _ []string) { examples = append(examples, n.example...) })
	for _, e := range examples {
		args := strings.Fields(e)
		if args[0] != "irm" {
			t.Errorf("example %q does not start with irm", e)
			continue
		}
		if _, err := parse(args[1:]); err != nil {
			t.Errorf("example %q: %v", e, err)
		}
	}
}

func TestHelpRoot(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"he"}} {
		c, err := parse(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		// The root help lists every command's grammar.
		for _, leaf := range commandTree().leaves() {
			for _, u := range leaf.usage {
				if !strings.Contains(c.text, "  "+u+"\n") {
					t.Errorf("%q: root help lacks %q", args, u)
				}
			}
		}
		for _, want := range []string{"irm --version", "unique prefix", "OUROBOROS_RUNDIR"} {
			if !strings.Contains(c.text, want) {
				t.Errorf("%q: root help lacks %q", args, want)
			}
		}
	}
}

func TestHelpErrors(t *testing.T) {
	cases := []struct{ args, want string }{
		{"help frob", `unknown command "frob"`},
		{"help ipcp d", `ambiguous command "d"`},
		{"help flow list extra", `'irm flow list' has no subcommand "extra"`},
	}
	for _, c := range cases {
		_, err := parse(strings.Fields(c.args))
		ue, ok := err.(*usageError)
		if !ok || !strings.Contains(ue.msg, c.want) {
			t.Errorf("parse(%q) = %v, want %q", c.args, err, c.want)
			continue
		}
		if ue.usage != "usage: irm help [COMMAND]...\n" || ue.path != "help" {
			t.Errorf("parse(%q): usage %q, path %q", c.args, ue.usage, ue.path)
		}
	}
}

// TestHelpBootstrapOptions checks that the bootstrap help names every
// option and hash that irm accepts.
func TestHelpBootstrapOptions(t *testing.T) {
	c, err := parse([]string{"help", "ipcp", "bootstrap"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range optionKeys("") {
		if !strings.Contains(c.text, k) {
			t.Errorf("bootstrap help does not mention %s", k)
		}
	}
	for _, w := range append(schema.Hashes(), ipcpTypes...) {
		if !strings.Contains(c.text, w) {
			t.Errorf("bootstrap help does not mention %s", w)
		}
	}
	if !strings.Contains(c.text, "not supported yet") {
		t.Error("bootstrap help does not say what this release lacks")
	}
}

func TestVersion(t *testing.T) {
	c, err := parse([]string{"--version"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.text, "irm ") || !strings.Contains(c.text, "go1.") {
		t.Errorf("version text %q", c.text)
	}
}
