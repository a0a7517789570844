package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestSecurityDocNamesRealTests: every test that docs/security.md names
// as backing a claim exists in the module, so that a claim cannot outlive
// its test.
func TestSecurityDocNamesRealTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)`").FindAllSubmatch(doc, -1)
	if len(names) < 20 {
		t.Fatalf("docs/security.md names %d tests: the claims lost their tests", len(names))
	}
	for _, n := range names {
		out, err := exec.Command("grep", "-rlq", "--include=*_test.go", "func "+string(n[1])+"(", root).CombinedOutput()
		if err != nil {
			t.Errorf("docs/security.md names %s, which no _test.go file defines (%v%s)", n[1], err, out)
		}
	}
}
