package shim

import "testing"

// TestBecause: a peer's reason reads as it is, unless it could pass for
// another log line or a terminal sequence.
func TestBecause(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "",
		`flows to "srv" are encrypted`: `; there: flows to "srv" are encrypted`,
		"line\nfake log line":          `; there: "line\nfake log line"`,
		"\x1b[2Jcleared":               `; there: "\x1b[2Jcleared"`,
	} {
		if got := because(in); got != want {
			t.Errorf("because(%q) = %q, want %q", in, got, want)
		}
	}
}
