package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
)

// Error is one problem found in a configuration file.
type Error struct {
	File  string // the file's name, as given to Load or Parse
	Line  int    // line of a TOML syntax error, from 1; 0 for other problems
	Col   int    // column of a TOML syntax error, from 1
	Table string // the table as written in the file, such as "[udp4.wan]"; "" for the top level
	Key   string // the key, such as "port", "prog[1]" or "peers.office"; "" for a whole table
	Msg   string // what is wrong, and what to do about it
}

// Error formats e as "FILE: [TABLE] KEY: MSG", or "FILE:LINE:COL: MSG" for a
// syntax error, the forms editors and grep understand.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	where := e.Table
	if e.Key != "" {
		if where != "" {
			where += " "
		}
		where += e.Key
	}
	if where != "" {
		b.WriteString(where)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// syntaxError turns a TOML decoding error into an *Error that keeps the
// position go-toml found, since "line 12" is what the user needs most.
func syntaxError(file string, err error) error {
	e := &Error{File: file, Msg: err.Error()}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		e.Line, e.Col = de.Position()
		e.Msg = strings.TrimPrefix(de.Error(), "toml: ")
	}
	return e
}

// checker walks a decoded file and collects its problems. It keeps going
// after a problem so that one run reports them all.
type checker struct {
	file      string
	supported func(typ string) bool // Supported, but for tests
	enrol     bool                  // enrolSupported, but for tests
	later     bool                  // accept the options this release refuses (tests of the files to come)
	errs      []error
}

func (c *checker) report(table, key, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Table: table, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// table is the table being checked: where problems are reported.
type table struct {
	c    *checker
	head string // as written in the file: "[udp4.wan]"
	// group and name are the parts of a [group.name] table's header.
	group, name string
}

// member returns the table [group.name].
func (c *checker) member(group, name string) *table {
	return &table{c: c, head: header(group, name), group: group, name: name}
}

func (t *table) errorf(key, format string, args ...any) {
	t.c.report(t.head, key, format, args...)
}

// header writes the table [group.name] as it would appear in the file.
func header(group, name string) string {
	return "[" + group + "." + tomlKey(name) + "]"
}

// subkey writes the key parent.child, quoting child where TOML needs it.
func subkey(parent, child string) string {
	return parent + "." + tomlKey(child)
}

// tomlKey writes k as a TOML key: bare if it can be, else as a basic string.
func tomlKey(k string) string {
	if k != "" && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == "" {
		return k
	}
	return tomlString(k)
}

// tomlString quotes s as a TOML basic string, which differs from Go's
// quoting in the escapes it allows.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// maxShown bounds how much of a bad value an error message repeats.
const maxShown = 64

// show writes a value from the file for an error message, as TOML would.
func show(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > maxShown {
			cut := maxShown
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			return tomlString(v[:cut]) + "..."
		}
		return tomlString(v)
	case map[string]any:
		return "a table"
	case []any:
		return "a list"
	case float64:
		return fmt.Sprintf("%g", v)
	default:
		return fmt.Sprint(v)
	}
}
