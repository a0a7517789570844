package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file writes the tables for people: irm's help and the docs' option
// tables, so that they say what Check and Parse do.

// phrase is what o sets, with its unit: "seconds between link-state updates".
func (o *Option) phrase() string {
	if o.Unit != "" {
		return o.Unit + " " + o.Help
	}
	return o.Help
}

// or joins words as "a, b or c", each through quote.
func or(words []string, quote func(string) string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quote(w)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func plain(s string) string { return s }
func code(s string) string  { return "`" + s + "`" }

// values describes the values o takes, in words; word and num write a word
// and a number as the reader types them.
func (o *Option) values(typ string, word, num func(string) string) string {
	ip, host := "an address of the type's IP version", "another host's address, of the type's IP version"
	if v := version(typ); v != 0 {
		ip, host = fmt.Sprintf("an IPv%d address", v), fmt.Sprintf("another host's IPv%d address", v)
	}
	switch o.Kind {
	case Word:
		return or(o.Words, word)
	case Int:
		if len(o.Words) > 0 {
			return or(o.Words, num)
		}
		return num(strconv.FormatInt(o.Lo, 10)) + " to " + num(strconv.FormatInt(o.Hi, 10))
	case BindAddr:
		return ip
	case HostAddr:
		return host
	case Device:
		return "1 to 15 ASCII characters, no / : or spaces"
	case Ethertype:
		return "0x0600 to 0xFFFE, hex or decimal"
	case Peers:
		return "host[:port]"
	}
	return ""
}

// irmLine is one line of the lists of irm's options: an option of a group
// of types, or, with o nil, a group that takes none.
type irmLine struct {
	names []string // the group's types, on its first line only
	typ   string   // the type to describe values for ("" for both IP versions)
	o     *Option
}

// irmLines lists the options irm ipcp bootstrap takes, by group of types.
func irmLines() []irmLine {
	var out []irmLine
	for _, g := range groups() {
		names := g.names
		if len(g.typ.Flags()) == 0 {
			out = append(out, irmLine{names: names})
			continue
		}
		for i := range g.typ.Options {
			if o := &g.typ.Options[i]; !o.FileOnly {
				out = append(out, irmLine{names: names, typ: g.typName(), o: o})
				names = nil
			}
		}
	}
	return out
}

// summary says what o sets, the values it takes (words and numbers written
// by word and num) and its default (written by dflt) or required.
func (o *Option) summary(typ string, word, num, dflt func(string) string, required string) string {
	text := o.phrase() + ": " + o.values(typ, word, num)
	switch {
	case o.Required:
		text += required
	case o.Default != "":
		text += dflt(o.Default)
	}
	if o.NotYet != "" {
		text += " (not supported yet)"
	}
	return text
}

// HelpOptions writes the option lines of irm ipcp bootstrap's help: every
// type with the options irm takes, one line each, wrapped to 79 columns.
func HelpOptions() string {
	var b strings.Builder
	b.WriteString("Options, by type (defaults in brackets):\n")
	for _, l := range irmLines() {
		label := strings.Join(l.names, "/")
		if l.o == nil {
			fmt.Fprintf(&b, "  %-10s no options\n", label)
			continue
		}
		text := l.o.summary(l.typ, plain, plain, func(d string) string { return " [" + d + "]" }, ", required")
		writeWrapped(&b, fmt.Sprintf("  %-10s %-18s ", label, l.o.Name()+" "+l.o.Arg), text, 79)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// writeWrapped writes text after head, wrapping at width under the
// column where the text starts.
func writeWrapped(b *strings.Builder, head, text string, width int) {
	indent := strings.Repeat(" ", len(head))
	line := head
	for i, w := range strings.Fields(text) {
		if i > 0 && len(line)+1+len(w) > width {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		} else if i > 0 {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}

// group is a run of types with the same options, shown together.
type group struct {
	names []string
	typ   Type
}

// typName is the type to describe values for: none (either IP version)
// when the group has several.
func (g group) typName() string {
	if len(g.names) > 1 {
		return ""
	}
	return g.typ.Name
}

// groups returns the types, with those of the same options (udp4 and udp6)
// in one group.
func groups() []group {
	var out []group
	for _, t := range Types() {
		if n := len(out); n > 0 && sameOptions(out[n-1].typ, t) {
			out[n-1].names = append(out[n-1].names, t.Name)
			continue
		}
		out = append(out, group{names: []string{t.Name}, typ: t})
	}
	return out
}

func sameOptions(a, b Type) bool {
	return slices.EqualFunc(a.Options, b.Options, func(x, y Option) bool {
		return x.Key == y.Key && x.Kind == y.Kind && x.Default == y.Default && x.Range() == y.Range()
	})
}

// ConfigTable writes the Markdown table of the keys of the IPCP tables of
// the group of types whose first is first (udp4 for udp4 and udp6) in
// irmd.conf, for docs/config.md; "" for no such group or one without
// options.
func ConfigTable(first string) string {
	i := slices.IndexFunc(groups(), func(g group) bool { return g.names[0] == first })
	if i < 0 {
		return ""
	}
	g := groups()[i]
	t := &g.typ
	if len(t.Options) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| Key | Value | irm option | Default |\n|-----|-------|------------|---------|\n")
	for i := range t.Options {
		o := &t.Options[i]
		key := code(o.Key)
		if o.Alias != "" {
			key += " (or " + code(o.Alias) + ")"
		}
		value := o.phrase() + ": " + o.tomlValues(g.typName())
		if o.NotYet != "" {
			value += "; not supported yet: refused"
		}
		flag := code(o.Name())
		switch {
		case o.Kind == Peers:
			flag = code(o.Name()+".NAME") + ", from this file only"
		case o.FileOnly:
			flag = "none"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", key, value, flag, o.tomlDefault())
	}
	return b.String()
}

// tomlValues describes the values o takes as they are written in irmd.conf.
func (o *Option) tomlValues(typ string) string {
	switch o.Kind {
	case Word, Int:
		return o.values(typ, func(s string) string { return "`\"" + s + "\"`" }, code)
	case Ethertype:
		return "`0x0600` to `0xFFFE`, as a TOML integer (`0xA000`, `40960`) or a string (`\"0xA000\"`)"
	case Peers:
		return "a table of peer name = `\"host[:port]\"`"
	case Device:
		return "a string of 1 to 15 ASCII characters, no `/`, `:` or spaces"
	}
	return "a string, " + o.values(typ, code, code)
}

// tomlDefault writes o's default as irmd.conf would spell it.
func (o *Option) tomlDefault() string {
	switch {
	case o.Required:
		return "required"
	case o.Default == "":
		return "unset"
	case o.Kind == Word:
		return "`\"" + o.Default + "\"`"
	}
	return "`" + o.Default + "`"
}

// BootstrapTable writes the Markdown table of irm ipcp bootstrap's options
// of every type, for docs/irm.md.
func BootstrapTable() string {
	var b strings.Builder
	b.WriteString("| Type | Option | Value (default) |\n|------|--------|-----------------|\n")
	for _, l := range irmLines() {
		label := strings.Join(mapSlice(l.names, code), ", ")
		if l.o == nil {
			fmt.Fprintf(&b, "| %s | | no options |\n", label)
			continue
		}
		text := l.o.summary(l.typ, code, plain, func(d string) string { return " (" + code(d) + ")" }, "; required")
		fmt.Fprintf(&b, "| %s | %s | %s |\n", label, code(l.o.Name()), text)
	}
	return b.String()
}

func mapSlice(ss []string, f func(string) string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// ParamTable writes the Markdown table of type typ's options with both
// spellings side by side, for the guide; "" for an unknown type.
func ParamTable(typ string) string {
	t := Lookup(typ)
	if t == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("| irm option | irmd.conf key | default | range | meaning |\n|---|---|---|---|---|\n")
	for i := range t.Options {
		o := &t.Options[i]
		rng := strings.ReplaceAll(o.Range(), "-", "–")
		if o.Kind == Word || len(o.Words) > 0 {
			rng = strings.Join(mapSlice(o.Words, code), ", ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", code(o.Name()), code(o.Key), code(o.Default), rng, o.phrase())
	}
	return b.String()
}

// LimitsTable writes the Markdown table of the keys that limit arriving
// flows, [irmd]'s and a name's, for docs/config.md.
func LimitsTable() string {
	var b strings.Builder
	b.WriteString("| Table | Key | Value | Default | Meaning |\n|-------|-----|-------|---------|---------|\n")
	row := func(table string, o *Option) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", table, code(o.Key), o.tomlValues(""), o.tomlDefault(), o.Help)
	}
	for _, o := range IrmdLimits() {
		row("`[irmd]`", &o)
	}
	o := MaxFlows()
	row("`[name.NAME]`", &o)
	return b.String()
}
