package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"o7s.dev/ouroboros/stack/crypt/cert"
)

// maxName is the longest name, IPCP name or layer name, in bytes, as in the
// reference implementation.
const maxName = 255

// nameProblem says what is wrong with s as a name, IPCP name or layer name,
// or returns "". Names are opaque, case-sensitive identifiers; they need
// only be printable, since irm prints them and takes them as arguments.
func nameProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > maxName:
		return fmt.Sprintf("is longer than %d bytes", maxName)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains a control character"
		}
		if unicode.IsSpace(r) {
			return "contains white space"
		}
	}
	return ""
}

// str checks that v is a string.
func str(t *table, k string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		hint := ""
		switch v.(type) {
		case int64, float64, bool:
			hint = "; write it in quotes"
		}
		t.errorf(k, "%s is not a string%s", show(v), hint)
	}
	return s, ok
}

// name checks that v is a valid name.
func name(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if !ok {
		return "", false
	}
	if p := nameProblem(s); p != "" {
		t.errorf(k, "%s %s", show(v), p)
		return "", false
	}
	return s, true
}

// boolean checks that v is true or false.
func boolean(t *table, k string, v any) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		hint := ""
		if s, isStr := v.(string); isStr && (s == "true" || s == "false") {
			hint = "; write it without quotes"
		}
		t.errorf(k, "%s is not a boolean (true or false)%s", show(v), hint)
	}
	return b, ok
}

// list checks that v is a list of strings, each accepted by elem, which
// reports its problems under the key k[i]. With unique, an element may
// appear only once.
func list(t *table, k string, v any, unique bool, elem func(t *table, k string, v any) (string, bool)) ([]string, bool) {
	vs, ok := v.([]any)
	if !ok {
		hint := ""
		if _, isStr := v.(string); isStr {
			hint = fmt.Sprintf("; write %s = [%s]", k, show(v))
		}
		t.errorf(k, "%s is not a list of strings%s", show(v), hint)
		return nil, false
	}
	var out []string
	seen := map[string]bool{}
	for i, e := range vs {
		ek := fmt.Sprintf("%s[%d]", k, i)
		s, good := elem(t, ek, e)
		switch {
		case !good:
			ok = false
		case unique && seen[s]:
			t.errorf(ek, "%s is listed twice", show(s))
			ok = false
		default:
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, ok
}

// anyString accepts any string, for program arguments.
func anyString(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if ok && strings.IndexByte(s, 0) >= 0 {
		t.errorf(k, "%s contains a NUL byte", show(v))
		return "", false
	}
	return s, ok
}

// program accepts an absolute path: irmd runs under systemd, where neither
// the working directory nor PATH is the administrator's.
func program(t *table, k string, v any) (string, bool) {
	s, ok := anyString(t, k, v)
	switch {
	case !ok:
		return "", false
	case !filepath.IsAbs(s):
		t.errorf(k, "%s is not an absolute path", show(v))
		return "", false
	case len(s) > 4095:
		t.errorf(k, "is longer than 4095 bytes")
		return "", false
	}
	return s, true
}

// paths accepts an absolute path or a list of them, each listed once.
func paths(t *table, k string, v any) ([]string, bool) {
	switch v.(type) {
	case string:
		s, ok := program(t, k, v)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	case []any:
		return list(t, k, v, true, program)
	}
	t.errorf(k, "%s is not a path or a list of paths", show(v))
	return nil, false
}

// choice accepts one of a fixed set of words, and also the aliases it
// maps to them (such as the reference's "link-state" for "link_state").
type choice struct {
	words   []string
	aliases map[string]string
	// fold accepts the words in any case, as irm does for the values the
	// reference spells in capitals (SHA3_256, DHT).
	fold bool
}

func (c choice) check(t *table, k string, v any) (string, bool) {
	s, ok := str(t, k, v)
	if !ok {
		return "", false
	}
	for _, w := range c.words {
		if s == w || c.fold && strings.EqualFold(s, w) {
			return w, true
		}
	}
	if w, ok := c.aliases[s]; ok {
		return w, true
	}
	hint := ""
	for _, w := range c.words {
		if strings.EqualFold(s, w) {
			hint = fmt.Sprintf("; did you mean %s?", tomlString(w))
		}
	}
	t.errorf(k, "%s is not one of %s%s", show(v), strings.Join(c.words, ", "), hint)
	return "", false
}

// fingerprint accepts a certificate's SHA-256 fingerprint as irm cert show
// prints it, and returns it in that form.
func fingerprint(t *table, k string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		t.errorf(k, "%s is not a string", show(v))
		return "", false
	}
	fp, err := cert.ParseFingerprint(s)
	if err != nil {
		t.errorf(k, "%v", err)
		return "", false
	}
	return cert.FormatFingerprint(fp), true
}
