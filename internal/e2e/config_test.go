package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"o7s.dev/ouroboros/internal/hostlab"
)

func writeConfig(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "irmd.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestE2EConfigSetsUpHost starts irmd from a configuration that builds a
// local layer, registers a name and binds a program to it with auto-start:
// the first flow to the name must start the program and reach it.
func TestE2EConfigSetsUpHost(t *testing.T) {
	conf := writeConfig(t, `
[name.Echo]
prog = ["`+filepath.Join(bin, "oecho")+`"]
args = ["-l"]
lb = "round-robin"

[local.lo]
bootstrap = "local"
reg = ["Echo"]
`)
	h := hostlab.New(t, bin)
	mustContain(t, h.MustRun("irmd", "--config", conf, "--check"), conf+": ok (1 IPCP, 1 name)")
	h.StartIRMd("--config", conf)
	mustContain(t, h.MustRun("oecho", "-n", "Echo", "-m", "configured"), "configured")
	mustContain(t, h.MustRun("irm", "name", "list"), "Echo", "round-robin", "lo")
}

func TestE2EBadConfigNamesFileAndKey(t *testing.T) {
	conf := writeConfig(t, `
[local.lo]
bootstrap = "local"
colour = "blue"
`)
	h := hostlab.New(t, bin)
	for _, args := range [][]string{{"--config", conf, "--check"}, {"--config", conf, "--stdout"}} {
		out, err := h.Run("irmd", args...)
		if err == nil {
			t.Fatalf("irmd %v accepted a bad configuration:\n%s", args, out)
		}
		mustContain(t, out, conf, "colour")
	}
}

// TestE2ECheckVerifiesWhatStartNeeds: a file that is well formed but names
// a program this host does not have fails --check as it fails start, with
// the same line (issue 11: a file that passes --check starts).
func TestE2ECheckVerifiesWhatStartNeeds(t *testing.T) {
	conf := writeConfig(t, `
[name.srv]
prog = ["/nonexistent/srv"]

[local.lo]
bootstrap = "local"
reg = ["srv"]
`)
	h := hostlab.New(t, bin)
	want := conf + ": [name.srv] prog: program /nonexistent/srv does not exist"
	for _, args := range [][]string{{"--config", conf, "--check"}, {"--config", conf, "--stdout"}} {
		out, err := h.Run("irmd", args...)
		if err == nil {
			t.Fatalf("irmd %v accepted a program that is not there:\n%s", args, out)
		}
		mustContain(t, out, want)
	}
}

func TestE2EIRMErrorsAreClear(t *testing.T) {
	h := localHost(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ipcp", "bootstrap", "name", "u", "layer", "wan", "type", "broadcast"}, "not supported yet"},
		{[]string{"ipcp", "bootstrap", "name", "lo", "layer", "other"}, "already"},
		{[]string{"name", "register", "x", "layer", "nowhere"}, "nowhere"},
		{[]string{"bind", "process", "999999999", "name", "x"}, "no process"},
		{[]string{"bind", "program", "/nonexistent/prog", "name", "x"}, "program /nonexistent/prog does not exist"},
		{[]string{"ipcp", "enroll", "name", "lo", "dst", "x"}, "unicast"},
		{[]string{"frobnicate"}, "frobnicate"},
	}
	for _, c := range cases {
		out, err := h.Run("irm", c.args...)
		if err == nil {
			t.Fatalf("irm %v succeeded:\n%s", c.args, out)
		}
		mustContain(t, out, c.want)
	}
	mustContain(t, h.MustRun("irm", "i", "l"), "lo", "local", "bootstrapped")
}
