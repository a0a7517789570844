package config

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

// update rewrites docs/ovpn.md's reference from the table: make docs.
var update = flag.Bool("update", false, "rewrite docs/ovpn.md's configuration reference from Options")

// generated matches the part of docs/ovpn.md written by Reference.
var generated = regexp.MustCompile(`(?s)(<!-- ovpn: config -->\n)(.*?)(<!-- end ovpn -->)`)

// TestDocs checks that docs/ovpn.md's configuration reference is the one
// Reference writes, so that the docs say what Load checks. With -update
// (make docs) it rewrites it.
func TestDocs(t *testing.T) {
	const path = "../../docs/ovpn.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	m := generated.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("%s has no <!-- ovpn: config --> ... <!-- end ovpn --> part", path)
	}
	want := Reference()
	if m[2] == want {
		return
	}
	if !*update {
		t.Fatalf("%s: the configuration reference differs from the options; run make docs\n got:\n%s\nwant:\n%s", path, m[2], want)
	}
	out := generated.ReplaceAllLiteralString(doc, m[1]+want+m[3])
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKeys checks that the help's list names every key once.
func TestKeys(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(Keys(), "\n"), "\n")
	opts := Options()
	if len(lines) != len(opts) {
		t.Fatalf("%d lines for %d options:\n%s", len(lines), len(opts), Keys())
	}
	for i, o := range opts {
		if !strings.HasPrefix(lines[i], o.Ref()+": ") || strings.Contains(lines[i], "`") {
			t.Errorf("line %q is not about %s in plain text", lines[i], o.Ref())
		}
	}
	if want := "[interface] mode: tun or tap; default tun"; lines[5] != want {
		t.Errorf("line 6 %q, want %q", lines[5], want)
	}
}
