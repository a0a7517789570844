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
