package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"o7s.dev/ouroboros/overlay/config"
)

// runOvpn runs a command line and returns its exit status and output.
func runOvpn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("OUROBOROS_RUNDIR", t.TempDir())
	var out, errb strings.Builder
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpForms(t *testing.T) {
	code, top, _ := runOvpn(t, "--help")
	if code != exitOK || !strings.Contains(top, "usage: ovpn COMMAND") {
		t.Fatalf("ovpn --help: %d %q", code, top)
	}
	for _, c := range commands() {
		if !strings.Contains(top, c.usage[0]) {
			t.Errorf("ovpn --help does not list %q", c.usage[0])
		}
		_, viaHelp, _ := runOvpn(t, "help", c.name)
		_, viaFlag, _ := runOvpn(t, c.name, "--help")
		_, viaShort, _ := runOvpn(t, c.name, "x", "-h")
		if viaHelp != viaFlag || viaHelp != viaShort {
			t.Errorf("%s: the three help forms differ", c.name)
		}
		for _, want := range []string{"usage: ovpn " + c.name, c.summary, "Examples:\n  ovpn " + c.name} {
			if !strings.Contains(viaHelp, want) {
				t.Errorf("ovpn help %s lacks %q:\n%s", c.name, want, viaHelp)
			}
		}
	}
	for _, args := range [][]string{nil, {"-h"}, {"help"}} {
		if code, out, _ := runOvpn(t, args...); code != exitOK || out != top {
			t.Errorf("ovpn %v: %d, not the overview", args, code)
		}
	}
	if code, out, _ := runOvpn(t, "--version"); code != exitOK || !strings.HasPrefix(out, "ovpn ") {
		t.Errorf("--version: %d %q", code, out)
	}
	code, cfgHelp, _ := runOvpn(t, "help", "config")
	if code != exitOK {
		t.Errorf("help config: %d", code)
	}
	for _, o := range config.Options() {
		if !strings.Contains(cfgHelp, "  "+o.Key+" = ") {
			t.Errorf("help config lacks %s", o.Ref())
		}
	}
	if code, _, _ := runOvpn(t, "help", "nosuch"); code != exitUsage {
		t.Errorf("help nosuch: %d", code)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"up"}, "up: missing CONFIG"},
		{[]string{"up", "a", "b"}, `up: unexpected argument "b"`},
		{[]string{"up", "a", "--json"}, "up: unknown option --json"},
		{[]string{"up", "a", "--foreground=yes"}, "up: unknown option --foreground=yes"},
		{[]string{"up", "a", "--ready-fd", "1"}, "--ready-fd wants a file descriptor"},
		{[]string{"check"}, "check: missing CONFIG"},
		{[]string{"reload"}, "reload: missing NAME"},
		{[]string{"status", "a", "b"}, `status: unexpected argument "b"`},
		{[]string{"down"}, "give a link's NAME or --all"},
		{[]string{"down", "a", "--all"}, "give a link's NAME or --all"},
	} {
		code, _, stderr := runOvpn(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("ovpn %v: %d %q; want exit 2 with %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	inv, err := parse([]string{"up", "-f", "site-a", "--ready-fd=3"})
	if err != nil || inv.args[0] != "site-a" || !inv.flags["foreground"] || inv.readyFD != 3 {
		t.Fatalf("parse = %+v, %v", inv, err)
	}
	inv, err = parse([]string{"status", "--", "-odd-name"})
	if err != nil || inv.args[0] != "-odd-name" {
		t.Fatalf("parse after --: %+v, %v", inv, err)
	}
	inv, err = parse([]string{"status", "-json"})
	if err != nil || !inv.flags["json"] {
		t.Fatalf("single-dash long option: %+v, %v", inv, err)
	}
}

// Commands that talk to a link say so when it is not up, and status with
// no links says there are none.
func TestLinkNotUp(t *testing.T) {
	for _, args := range [][]string{{"down", "a"}, {"reload", "a"}, {"status", "a"}} {
		code, _, stderr := runOvpn(t, args...)
		if code != exitFailure || !strings.Contains(stderr, "link a is not up") {
			t.Errorf("ovpn %v: %d %q", args, code, stderr)
		}
	}
	if code, out, _ := runOvpn(t, "status"); code != exitOK || out != "no links up\n" {
		t.Errorf("status: %d %q", code, out)
	}
	if code, out, _ := runOvpn(t, "status", "--json"); code != exitOK || out != "[]\n" {
		t.Errorf("status --json: %d %q", code, out)
	}
	if code, _, _ := runOvpn(t, "down", "--all"); code != exitOK {
		t.Errorf("down --all with no links: %d", code)
	}
}

const goodConfig = `
name  = "gw.site-a"
layer = "corp"
authenticate = false

[interface]
device  = "ovpn7"
address = ["10.77.0.1/24"]

[[peer]]
name   = "gw.site-b"
routes = ["10.2.0.0/24"]
`

// writeConfig puts text in a temporary NAME.toml and returns its path.
func writeConfig(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheck(t *testing.T) {
	path := writeConfig(t, "site-a", goodConfig)
	code, out, stderr := runOvpn(t, "check", path)
	for _, want := range []string{"ovpn up would:", "link site-a", `register name "gw.site-a" in layer "corp"`,
		`peer "gw.site-b"`, "10.2.0.0/24", "warning: authenticate = false"} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
	if code != exitOK || stderr != "" {
		t.Fatalf("check: %d %q", code, stderr)
	}
}

// A config that does not load is a usage error (status 2) for up and
// check alike, naming the file and the key; up refuses it before anything
// else (no privileges, no irmd needed to say so).
func TestBadConfigExitsTwo(t *testing.T) {
	bad := writeConfig(t, "bad", strings.Replace(goodConfig, `layer = "corp"`, `layer = "corp"
colour = "blue"`, 1))
	for _, cmd := range []string{"check", "up"} {
		code, _, stderr := runOvpn(t, cmd, bad)
		if code != exitUsage || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "colour") {
			t.Errorf("ovpn %s bad.toml: %d %q; want 2 naming the file and the key", cmd, code, stderr)
		}
		code, _, stderr = runOvpn(t, cmd, t.TempDir()+"/missing.toml")
		if code != exitUsage || !strings.Contains(stderr, "missing.toml") {
			t.Errorf("ovpn %s missing.toml: %d %q", cmd, code, stderr)
		}
	}
}
