package config

import (
	"strings"
	"testing"
)

// FuzzLoad feeds the loader random bytes as a file: it never panics, and
// every line of an error names the file; what loads passes its own checks
// again (Plan and Warnings do not panic either).
func FuzzLoad(f *testing.F) {
	for _, s := range []string{example, base, tapBase, serverBase, clientBase, "", "name = ", "[[peer]]\n[[peer]]\n", "peer = [1, {a = 2}]\n", "[dns]\n", "[[publish]]\n[[publish]]\nname = 1\n"} {
		f.Add([]byte(s))
	}
	for _, c := range badCases[:10] {
		f.Add([]byte(strings.Replace(c.base, c.old, c.new, 1)))
	}
	const file = "/fuzz/gw.toml"
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parse(file, "gw", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, file+": ") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		if l.Name == "" || l.Layer == "" || l.Interface.Device == "" || len(l.Plan()) < 3 {
			t.Fatalf("loaded an incomplete link: %+v", l)
		}
		_ = l.Warnings()
	})
}
