package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"o7s.dev/ouroboros/internal/hostlab"
)

func writeConfig(t *testing.T, text string) string {
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
	h.MustRun("irmd", "--config", conf, "--check")
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
