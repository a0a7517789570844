package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EReadmeTutorial runs the README's five-minute tutorial verbatim
// (but for `make build`, done already) in bash, so that it cannot rot.
func TestE2EReadmeTutorial(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := tutorial(t, string(readme))
	script = strings.Replace(script, "make build\n", "", 1)
	script = strings.ReplaceAll(script, "$PWD/bin", bin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The trap stops what the tutorial left running; under -e a failed kill
	// there (a job that just ended) must not fail the run.
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"+script)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tutorial failed: %v\n%s", err, out)
	}
	mustContain(t, string(out), "3 packets transmitted, 3 received, 0% packet loss", "identical", "hello", "bootstrapped")
}

// tutorial extracts the first sh block after the tutorial's heading.
func tutorial(t *testing.T, readme string) string {
	i := strings.Index(readme, "## Five-minute tutorial")
	if i < 0 {
		t.Fatal("README has no tutorial section")
	}
	rest := readme[i:]
	start := strings.Index(rest, "```sh\n")
	end := strings.Index(rest[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("README tutorial has no sh block")
	}
	return rest[start+6 : start+6+end]
}

// TestE2EDemo runs make demo's script, the README's first command, against
// the binaries under test, so that it cannot rot either: as root it also
// sets up its three hosts and the authenticated routed layer.
func TestE2EDemo(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "internal/demo/demo.sh"))
	cmd.Env = append(os.Environ(), "BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out)
	}
	want := []string{"5 packets transmitted, 5 received, 0% packet loss", "identical"}
	if os.Geteuid() == 0 {
		want = append(want, "identical: 20971520 bytes across the link", "peer certificate required", "CA corp.ca")
	}
	mustContain(t, string(out), want...)
}
