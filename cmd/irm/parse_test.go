package main

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"o7s.dev/ouroboros/stack/schema"
)

func TestMatch(t *testing.T) {
	words := []string{"create", "connect", "destroy", "disconnect", "list", "addr", "addr_auth"}
	cases := []struct {
		word  string
		want  string
		cands []string // for an error: the candidates reported
		err   bool
	}{
		{word: "create", want: "create"},
		{word: "cr", want: "create"},
		{word: "l", want: "list"},
		{word: "disc", want: "disconnect"},
		{word: "addr", want: "addr"}, // exact beats a longer keyword
		{word: "addr_", want: "addr_auth"},
		{word: "c", cands: []string{"create", "connect"}, err: true},
		{word: "d", cands: []string{"destroy", "disconnect"}, err: true},
		{word: "ad", cands: []string{"addr", "addr_auth"}, err: true},
		{word: "x", err: true},
		{word: "listing", err: true}, // longer than the keyword
		{word: "", err: true},
		{word: "LIST", err: true}, // keywords are lower case
	}
	for _, c := range cases {
		got, err := match("command", c.word, words)
		if c.err {
			var me *matchError
			if !errors.As(err, &me) {
				t.Errorf("match(%q) = %q, %v; want a matchError", c.word, got, err)
				continue
			}
			if !reflect.DeepEqual(me.candidates, c.cands) {
				t.Errorf("match(%q) candidates = %q, want %q", c.word, me.candidates, c.cands)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("match(%q) = %q, %v; want %q", c.word, got, err, c.want)
		}
	}
}

func TestMatchErrorText(t *testing.T) {
	_, err := match("command", "d", []string{"destroy", "disconnect", "list"})
	if got, want := err.Error(), `ambiguous command "d": could be destroy, disconnect`; got != want {
		t.Errorf("ambiguous: %q, want %q", got, want)
	}
	_, err = match("keyword", "x", []string{"name", "type"})
	if got, want := err.Error(), `unknown keyword "x": want one of name, type`; got != want {
		t.Errorf("unknown: %q, want %q", got, want)
	}
}

func TestMatchTiered(t *testing.T) {
	first := []string{"name", "layer", "type", "autobind"}
	second := []string{"ls_t_recalc", "ls_t_update", "ttl", "addr", "addr_auth"}
	cases := []struct {
		word, want string
		err        string
	}{
		{word: "l", want: "layer"}, // not ambiguous with ls_t_*
		{word: "t", want: "type"},  // not ambiguous with ttl
		{word: "a", want: "autobind"},
		{word: "tt", want: "ttl"},
		{word: "ls_t_r", want: "ls_t_recalc"},
		{word: "ad", err: `ambiguous keyword "ad": could be addr, addr_auth`},
		{word: "ls", err: `ambiguous keyword "ls"`},
		{word: "q", err: `unknown keyword "q": want one of name, layer, type, autobind, ls_t_recalc`},
	}
	for _, c := range cases {
		got, err := matchTiered("keyword", c.word, first, second)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("matchTiered(%q) = %q, %v; want error %q", c.word, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("matchTiered(%q) = %q, %v; want %q", c.word, got, err, c.want)
		}
	}
}

// TestMatchTieredLate checks a third tier, the identity keywords: a prefix
// that names an option is the option, and an unknown word lists all tiers.
func TestMatchTieredLate(t *testing.T) {
	first := []string{"name", "layer"}
	second := []string{"congestion", "keepalive"}
	cases := []struct{ word, want, err string }{
		{word: "c", want: "congestion"},
		{word: "ca", want: "ca"},
		{word: "ce", want: "cert"},
		{word: "k", want: "keepalive"},
		{word: "key", want: "key"},
		{word: "x", err: `unknown keyword "x": want one of name, layer, congestion, keepalive, ca, cert, key`},
	}
	for _, c := range cases {
		got, err := matchTiered("keyword", c.word, first, second, identityKeys)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("matchTiered(%q) = %q, %v; want error %q", c.word, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("matchTiered(%q) = %q, %v; want %q", c.word, got, err, c.want)
		}
	}
	// Without the middle tier, "c" is ambiguous among the last.
	if _, err := matchTiered("keyword", "c", first, nil, identityKeys); err == nil || !strings.Contains(err.Error(), "could be ca, cert") {
		t.Errorf("c without options: %v", err)
	}
}

func TestScanArgs(t *testing.T) {
	g := grammar{values: []string{"name", "ipcp", "layer"}, flags: []string{"auto"}, repeat: []string{"ipcp"}}
	cases := []struct {
		args string
		want argMap
		err  string
	}{
		{args: "", want: argMap{}},
		{args: "name x", want: argMap{"name": {"x"}}},
		{args: "n x au", want: argMap{"name": {"x"}, "auto": {""}}},
		{args: "auto name auto", want: argMap{"name": {"auto"}, "auto": {""}}}, // a value is never a keyword
		{args: "i a i b l c", want: argMap{"ipcp": {"a", "b"}, "layer": {"c"}}},
		{args: "name", err: "missing value after name"},
		{args: "name x name y", err: "name is given more than once"},
		{args: "auto auto", err: "auto is given more than once"},
		{args: "a x", err: `unknown keyword "x"`}, // "a" is auto, which takes no value
		{args: "zz x", err: `unknown keyword "zz"`},
		{args: "-- x", err: "'--' is only accepted by 'irm bind program'"},
	}
	for _, c := range cases {
		m, err := scanArgs(strings.Fields(c.args), g)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("scanArgs(%q) = %v, %v; want error %q", c.args, m, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(m, c.want) {
			t.Errorf("scanArgs(%q) = %v, %v; want %v", c.args, m, err, c.want)
		}
	}
}

func TestBootstrapType(t *testing.T) {
	cases := []struct{ args, want string }{
		{"name a layer l type udp4", "udp4"},
		{"n a l l t eth-dix d e", "eth-dix"},
		{"ty local name a", "local"},
		{"name a layer l", ""},
		{"name a layer l type tcp", ""},    // not a type: scanning reports it
		{"name type layer local", ""},      // "type" is a value here, "layer" follows it
		{"name a layer l type", ""},        // no value
		{"name a layer l typed local", ""}, // not an abbreviation of type
	}
	for _, c := range cases {
		if got := bootstrapType(strings.Fields(c.args)); got != c.want {
			t.Errorf("bootstrapType(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

// TestOptionKeys checks that irm takes, for each type, the options of its
// schema table that irm can set, and without a type all of them once.
func TestOptionKeys(t *testing.T) {
	all := optionKeys("")
	seen := map[string]bool{}
	for _, k := range all {
		if seen[k] {
			t.Errorf("option %s listed twice", k)
		}
		seen[k] = true
	}
	for _, typ := range schema.Types() {
		for _, o := range typ.Options {
			if got := slices.Contains(optionKeys(typ.Name), o.Name()); got == o.FileOnly {
				t.Errorf("%s: option %s taken %v, file-only %v", typ.Name, o.Name(), got, o.FileOnly)
			}
			if !o.FileOnly && !seen[o.Name()] {
				t.Errorf("optionKeys(\"\") lacks %s", o.Name())
			}
		}
	}
	if got := optionKeys("broadcast"); len(got) != 0 {
		t.Errorf("broadcast takes %q, want no options", got)
	}
}
