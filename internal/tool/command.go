package tool

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Exit codes shared by the tools.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // runtime error: irmd, the flow, the peer, I/O
	ExitUsage   = 2 // bad command line
)

// ErrDone is returned by Command.Parse after it printed the help or the
// version: the program should exit with ExitOK.
var ErrDone = errors.New("done")

// UsageError is a bad command line; Exit prints it with a pointer to --help
// and returns ExitUsage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// Exit prints err (if any) to stderr, prefixed by the tool's name, and
// returns the exit code for it.
func Exit(name string, err error, stderr io.Writer) int {
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, ErrDone):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", name, ue.Msg, name)
		return ExitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", name)
		return ExitFailure
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return ExitFailure
}

// option is one documented option, under one or two names.
type option struct {
	names   []string // as given: short first, then long
	arg     string   // metavariable; "" for a boolean option
	usage   string
	example string
}

// Command parses a tool's command line and writes its --help. Options have a
// short and a long name ("n,name"); both are accepted with one or two dashes,
// as the flag package does.
type Command struct {
	name     string
	about    string
	synopsis []string
	examples [][2]string
	fs       *flag.FlagSet
	opts     []option
	help     bool
	version  bool
}

// NewCommand returns a command called name. about is a paragraph saying what
// the tool does; synopsis lists its forms, without the name.
func NewCommand(name, about string, synopsis ...string) *Command {
	c := &Command{name: name, about: about, synopsis: synopsis,
		fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	// Errors are reported by Exit, in one format for parse and validation errors.
	c.fs.SetOutput(io.Discard)
	c.fs.Usage = func() {}
	c.fs.BoolVar(&c.help, "h", false, "")
	c.fs.BoolVar(&c.help, "help", false, "")
	c.fs.BoolVar(&c.version, "version", false, "")
	return c
}

// Example adds an example command line, with a comment, to --help.
func (c *Command) Example(cmdline, comment string) {
	c.examples = append(c.examples, [2]string{cmdline, comment})
}

// Bool adds a boolean option.
func (c *Command) Bool(p *bool, names, usage, example string) {
	for _, n := range c.add(names, "", usage, example) {
		c.fs.BoolVar(p, n, *p, usage)
	}
}

// String adds an option with a string argument called arg in --help.
func (c *Command) String(p *string, names, arg, usage, example string) {
	for _, n := range c.add(names, arg, usage, example) {
		c.fs.StringVar(p, n, *p, usage)
	}
}

// Int adds an option with an integer argument.
func (c *Command) Int(p *int, names, arg, usage, example string) {
	for _, n := range c.add(names, arg, usage, example) {
		c.fs.IntVar(p, n, *p, usage)
	}
}

// Var adds an option whose argument v parses.
func (c *Command) Var(v flag.Value, names, arg, usage, example string) {
	for _, n := range c.add(names, arg, usage, example) {
		c.fs.Var(v, n, usage)
	}
}

func (c *Command) add(names, arg, usage, example string) []string {
	ns := strings.Split(names, ",")
	c.opts = append(c.opts, option{names: ns, arg: arg, usage: usage, example: example})
	return ns
}

// Parse parses args (without the program name). After -h/--help or
// --version it writes the answer to stdout and returns ErrDone; a bad
// command line gives a *UsageError. Positional arguments are refused: every
// tool takes options only.
func (c *Command) Parse(args []string, stdout io.Writer) error {
	if err := c.fs.Parse(args); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	switch {
	case c.help:
		c.WriteHelp(stdout)
		return ErrDone
	case c.version:
		fmt.Fprintln(stdout, Version(c.name))
		return ErrDone
	case c.fs.NArg() > 0:
		return Usagef("unexpected argument %q (every value goes with an option)", c.fs.Arg(0))
	}
	return nil
}

// Set reports whether the option called name was given on the command line,
// under any of its names.
func (c *Command) Set(name string) bool {
	var names []string
	for _, o := range c.opts {
		for _, n := range o.names {
			if n == name {
				names = o.names
			}
		}
	}
	set := false
	c.fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			set = set || f.Name == n
		}
	})
	return set
}

// WriteHelp writes the usage, every option with its default and an example,
// and the examples.
func (c *Command) WriteHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, s := range c.synopsis {
		fmt.Fprintf(&b, "  %s %s\n", c.name, s)
	}
	for _, para := range strings.Split(c.about, "\n\n") {
		fmt.Fprintf(&b, "\n%s\n", wrap(para, 78, ""))
	}
	b.WriteString("\nOptions:\n")

	opts := append(slices.Clip(c.opts),
		option{names: []string{"h", "help"}, usage: "show this help and exit"},
		option{names: []string{"version"}, usage: "print the version and exit"})
	lefts := make([]string, len(opts))
	width := 0
	for i, o := range opts {
		lefts[i] = optionLabel(o)
		width = max(width, len(lefts[i]))
	}
	indent := strings.Repeat(" ", width+4)
	for i, o := range opts {
		text := o.usage
		if def := c.defaultOf(o); def != "" {
			// A NUL instead of the space keeps "(default X)" on one line.
			text += " (default\x00" + def + ")"
		}
		text = strings.ReplaceAll(wrap(text, 78-len(indent), indent), "\x00", " ")
		fmt.Fprintf(&b, "  %-*s  %s\n", width, lefts[i], text)
		if o.example != "" {
			fmt.Fprintf(&b, "%se.g. %s\n", indent, o.example)
		}
	}
	if len(c.examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range c.examples {
			fmt.Fprintf(&b, "  %s\n      %s\n", e[0], wrap(e[1], 72, "      "))
		}
	}
	io.WriteString(w, b.String())
}

// defaultOf returns the option's default as shown in --help, "" to show none.
func (c *Command) defaultOf(o option) string {
	f := c.fs.Lookup(o.names[0])
	if f == nil {
		return ""
	}
	switch f.DefValue {
	case "", "0", "0s", "false":
		return ""
	}
	return f.DefValue
}

// optionLabel renders "-n, --name NAME" ("    --version" without a short name).
func optionLabel(o option) string {
	var parts []string
	short := ""
	for _, n := range o.names {
		if len(n) == 1 {
			short = "-" + n
		} else {
			parts = append(parts, "--"+n)
		}
	}
	label := strings.Join(parts, ", ")
	switch {
	case short != "" && label != "":
		label = short + ", " + label
	case short != "":
		label = short
	default:
		label = "    " + label
	}
	if o.arg != "" {
		label += " " + o.arg
	}
	return label
}

// wrap breaks text into lines of at most width characters, indenting every
// line after the first.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		if i > 0 && n+1+len(word) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}
