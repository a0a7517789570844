package schema

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// update rewrites the generated parts of the docs: make docs.
var update = flag.Bool("update", false, "rewrite the option tables in docs/ from the schema")

// generated matches a part of a doc written from the schema: between
// <!-- schema: WHAT --> and <!-- end schema --> lines.
var generated = regexp.MustCompile(`(?s)(<!-- schema: ([^>]*?) -->\n)(.*?)(<!-- end schema -->)`)

// render writes the part called what.
func render(what string) (string, error) {
	switch f := strings.Fields(what); {
	case len(f) == 2 && f[0] == "config" && ConfigTable(f[1]) != "":
		return ConfigTable(f[1]), nil
	case len(f) == 2 && f[0] == "params" && ParamTable(f[1]) != "":
		return ParamTable(f[1]), nil
	case len(f) == 1 && f[0] == "bootstrap":
		return BootstrapTable(), nil
	case len(f) == 1 && f[0] == "limits":
		return LimitsTable(), nil
	case len(f) == 1 && f[0] == "irmd-local":
		return IrmdLocalTable(), nil
	}
	return "", fmt.Errorf("unknown part %q: want \"config TYPE\", \"params TYPE\", \"bootstrap\", \"limits\" or \"irmd-local\"", what)
}

// TestDocs checks that the option tables of the docs are the ones the
// schema writes, so that the docs say what irm, irmd.conf and the IPCPs
// check. With -update (make docs) it rewrites them.
func TestDocs(t *testing.T) {
	want := map[string]bool{"config.md": true, "irm.md": true, "guide.md": true} // docs that must have parts
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	parts := map[string]int{}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		var failed bool
		out := generated.ReplaceAllStringFunc(doc, func(m string) string {
			g := generated.FindStringSubmatch(m)
			parts[g[2]]++
			text, err := render(g[2])
			if err != nil {
				t.Errorf("%s: %v", path, err)
				failed = true
				return m
			}
			if g[3] != text && !*update {
				t.Errorf("%s: the %q table differs from the schema; run make docs\n got:\n%s\nwant:\n%s", path, g[2], g[3], text)
			}
			return g[1] + text + g[4]
		})
		if want[filepath.Base(path)] && out == doc && !generated.MatchString(doc) {
			t.Errorf("%s has no table from the schema", path)
		}
		if *update && !failed && out != doc {
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, g := range groups() {
		if len(g.typ.Options) == 0 {
			continue
		}
		if what := "config " + g.names[0]; parts[what] == 0 {
			t.Errorf("no doc has the %q table", what)
		}
	}
	if parts["bootstrap"] == 0 {
		t.Error("no doc has the bootstrap table")
	}
	if parts["irmd-local"] == 0 {
		t.Error("no doc has the irmd-local table")
	}
}

// TestDocsLB checks the lb row of config.md's [name.NAME] table, which is
// written by hand among the other keys of a name, against LB.
func TestDocsLB(t *testing.T) {
	b, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "| `lb` |") {
			row = l
		}
	}
	lb := LB()
	words := append(append([]string(nil), lb.Words...), lb.Default)
	for a := range lb.Aliases {
		words = append(words, a)
	}
	for _, w := range words {
		if !strings.Contains(row, `"`+w+`"`) {
			t.Errorf("config.md's lb row %q does not name %q", row, w)
		}
	}
}
