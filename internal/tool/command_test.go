package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func testCommand() (*Command, *string, *bool, *time.Duration) {
	name, flood, wait := "", false, time.Second
	c := NewCommand("otest", "otest tests.\n\nA second paragraph.", "-n NAME [-f]")
	c.String(&name, "n,name", "NAME", "the name", "-n x")
	c.Bool(&flood, "f,flood", "flood", "")
	c.Var(DurationValue(&wait, time.Millisecond), "w", "WAIT", "how long", "-w 2s")
	c.Example("otest -n x", "an example")
	return c, &name, &flood, &wait
}

func TestCommandAliases(t *testing.T) {
	for _, args := range [][]string{{"-n", "x", "-f"}, {"--name", "x", "--flood"}, {"-name=x", "-flood"}, {"--name=x", "-f=true"}} {
		c, name, flood, _ := testCommand()
		if err := c.Parse(args, io.Discard); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if *name != "x" || !*flood {
			t.Errorf("%q: name %q, flood %v", args, *name, *flood)
		}
		if !c.Set("n") || !c.Set("flood") || c.Set("w") {
			t.Errorf("%q: Set reports the wrong options", args)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	for _, args := range [][]string{{"-x"}, {"-w", "later"}, {"positional"}, {"-n"}} {
		c, _, _, _ := testCommand()
		err := c.Parse(args, io.Discard)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

func TestCommandHelpAndVersion(t *testing.T) {
	c, _, _, _ := testCommand()
	var b strings.Builder
	if err := c.Parse([]string{"-h"}, &b); !errors.Is(err, ErrDone) {
		t.Fatalf("-h: %v", err)
	}
	want := `Usage:
  otest -n NAME [-f]

otest tests.

A second paragraph.

Options:
  -n, --name NAME  the name
                   e.g. -n x
  -f, --flood      flood
  -w WAIT          how long (default 1s)
                   e.g. -w 2s
  -h, --help       show this help and exit
      --version    print the version and exit

Examples:
  otest -n x
      an example
`
	if b.String() != want {
		t.Fatalf("help:\n%s\nwant:\n%s", b.String(), want)
	}
	c, _, _, _ = testCommand()
	b.Reset()
	if err := c.Parse([]string{"--version"}, &b); !errors.Is(err, ErrDone) || !strings.HasPrefix(b.String(), "otest ") {
		t.Fatalf("--version: %v, %q", err, b.String())
	}
}

func TestExit(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, ExitOK, ""},
		{ErrDone, ExitOK, ""},
		{Usagef("-s %d is too small", 3), ExitUsage, "otest: -s 3 is too small\nTry 'otest --help' for more information.\n"},
		{errors.New("boom"), ExitFailure, "otest: boom\n"},
		{fmt.Errorf("wait: %w", context.Canceled), ExitFailure, "otest: interrupted\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if code := Exit("otest", tt.err, &b); code != tt.code || b.String() != tt.stderr {
			t.Errorf("Exit(%v) = %d, %q; want %d, %q", tt.err, code, b.String(), tt.code, tt.stderr)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc ddd", 7, "  ")
	if got != "aaa bbb\n  ccc ddd" {
		t.Fatalf("wrap: %q", got)
	}
}
