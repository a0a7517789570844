package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/viper"
)

// maxFile bounds what Load reads: a link's file is a few hundred bytes.
const maxFile = 1 << 20

// Error is one problem with a file: the key it is about (as Option.Ref
// names it, with the peer's number: "[[peer]] 2 routes"; "" for the
// file as a whole) and what is wrong.
type Error struct {
	File string
	Key  string
	Env  string // the environment variable the value came from, or ""
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	if e.Env != "" {
		b.WriteString(" (from $" + e.Env + ")")
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads and checks the file at path, with the OVPN_* environment
// overriding its keys (not those of [[peer]] and [[publish]] entries, and
// those of [dns] only when the file has a [dns] table). Errors name the
// file and the key; all that are found are returned, joined, one per line.
func Load(path string) (*Link, error) {
	link, err := linkName(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Err: openProblem(err)}
	}
	defer f.Close()
	if err := checkOwner(f); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if len(data) > maxFile {
		return nil, &Error{File: path, Err: fmt.Errorf("larger than %d bytes; is it the right file?", maxFile)}
	}
	return parse(path, link, data)
}

// openProblem says why a file could not be opened, without repeating its
// path.
func openProblem(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no such file; a bare NAME means %s/NAME.toml", Dir)
	}
	return err
}

// loader collects the problems of one file.
type loader struct {
	file string
	errs []error
	seen map[string]bool // the problems reported, to say each once
}

// fail reports a problem, once: a [peer] table's keys each lead to the
// same one.
func (ld *loader) fail(key, env string, err error) {
	e := &Error{File: ld.file, Key: key, Env: env, Err: err}
	if ld.seen == nil {
		ld.seen = make(map[string]bool)
	}
	if msg := e.Error(); !ld.seen[msg] {
		ld.seen[msg] = true
		ld.errs = append(ld.errs, e)
	}
}

// parse reads the file's bytes (and the environment) into a checked Link.
func parse(file, link string, data []byte) (*Link, error) {
	ld := &loader{file: file}
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, &Error{File: file, Err: tomlProblem(err)}
	}
	if ld.upperKeys(data); len(ld.errs) > 0 {
		return nil, errors.Join(ld.errs...)
	}
	opts := Options()
	for i := range opts {
		if env := opts[i].Env(); env != "" {
			if err := v.BindEnv(opts[i].path(), env); err != nil {
				return nil, &Error{File: file, Err: err}
			}
		}
	}
	l := &Link{File: file, Link: link}
	if _, ok := v.Get(SectionDNS).(map[string]any); ok {
		l.DNS = &DNS{} // an empty [dns] table too: the bridge with its defaults
	}
	given := ld.scalars(v, opts, l)
	ld.entries(v, SectionPeer, func(ref string, m map[string]any) {
		var p Peer
		ld.entry(ref, SectionPeer, m, opts, target{p: &p})
		l.Peers = append(l.Peers, p)
	})
	ld.entries(v, SectionPublish, func(ref string, m map[string]any) {
		var p Publish
		ld.entry(ref, SectionPublish, m, opts, target{pub: &p})
		l.Publish = append(l.Publish, p)
	})
	if len(ld.errs) == 0 {
		ld.check(l, given)
	}
	if len(ld.errs) > 0 {
		return nil, errors.Join(ld.errs...)
	}
	return l, nil
}

// tomlProblem turns a TOML syntax error into "line L, column C: problem".
func tomlProblem(err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("line %d, column %d: %s", row, col, strings.TrimPrefix(de.Error(), "toml: "))
	}
	return err
}

// scalars reads the options outside [[peer]] and [[publish]]: their
// defaults, then the file's and the environment's values, and reports
// unknown keys. [dns] keys count only when the file has a [dns] table
// (l.DNS is set); a variable of one without it is noted for Warnings. It
// returns the options given (by Ref).
func (ld *loader) scalars(v *viper.Viper, opts []Option, l *Link) map[string]bool {
	given := make(map[string]bool)
	byPath := make(map[string]*Option)
	for i := range opts {
		o := &opts[i]
		if isEntries(o.Section) {
			continue
		}
		byPath[o.path()] = o
		if o.Section == SectionDNS && l.DNS == nil {
			continue
		}
		if o.Default != "" {
			val, err := o.parse(o.Default, true)
			if err != nil {
				ld.fail(o.Ref(), "", fmt.Errorf("default: %w", err))
				continue
			}
			o.set(target{l: l}, val)
		}
	}
	keys := v.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		raw := v.Get(k)
		if raw == nil {
			continue // bound to an unset variable, and not in the file
		}
		o := byPath[k]
		if o == nil {
			ld.unknown(k, raw)
			continue
		}
		env := o.Env()
		if s, ok := os.LookupEnv(env); !ok || s == "" {
			env = "" // viper, like us, takes an empty variable as unset
		}
		if o.Section == SectionDNS && l.DNS == nil {
			if env != "" { // without a [dns] table, only a variable gets here
				l.ignoredEnv = append(l.ignoredEnv, env)
			}
			continue
		}
		given[o.Ref()] = true
		val, err := o.parse(raw, env != "")
		if err != nil {
			ld.fail(o.Ref(), env, err)
			continue
		}
		o.set(target{l: l}, val)
	}
	for i := range opts {
		if o := &opts[i]; o.Required && !isEntries(o.Section) && !given[o.Ref()] {
			ld.fail(o.Ref(), "", fmt.Errorf("missing; set it (or $%s)", o.Env()))
		}
	}
	return given
}

// unknown reports a key that is no option, saying what it may have meant.
func (ld *loader) unknown(k string, val any) {
	section, key, nested := strings.Cut(k, ".")
	switch {
	case isEntries(k):
		// the [[peer]] and [[publish]] entries: read by entries
	case nested && isEntries(section):
		ld.fail("["+section+"]", "", fmt.Errorf("%s: write [[%s]], not [%s]", entriesAre(section), section, section))
	case !nested && isSection(k):
		ld.fail("["+k+"]", "", wrongType(val, "a table, ["+k+"]"))
	case nested && isSection(section):
		ld.fail("["+section+"] "+quoteKey(key), "", errors.New("unknown key"+suggest(section)))
	case nested:
		ld.fail("["+quoteKey(section)+"]", "", errors.New("unknown table; the tables are [interface], [[peer]], [accept], [dns] and [[publish]]"))
	default:
		ld.fail(quoteKey(k), "", errors.New("unknown key"+suggest(SectionTop)))
	}
}

// entriesAre says what the entries of an array of tables are.
func entriesAre(section string) string {
	if section == SectionPeer {
		return "peers are an array of tables"
	}
	return "published hosts are an array of tables"
}

// entries calls read with each table of the array section ([[peer]],
// [[publish]]), numbered from 1 in ref: "[[peer]] 2".
func (ld *loader) entries(v *viper.Viper, section string, read func(ref string, m map[string]any)) {
	raw := v.Get(section)
	if raw == nil {
		return
	}
	list, ok := raw.([]any)
	if !ok {
		if _, table := raw.(map[string]any); !table {
			ld.fail("[["+section+"]]", "", wrongType(raw, "an array of tables, [["+section+"]]"))
		}
		return // a [peer] table is reported by unknown
	}
	for i, item := range list {
		ref := "[[" + section + "]] " + strconv.Itoa(i+1)
		m, ok := item.(map[string]any)
		if !ok {
			ld.fail(ref, "", wrongType(item, "a table"))
			continue
		}
		read(ref, m)
	}
}

// entry reads one table of the array section, numbered ref, into t.
func (ld *loader) entry(ref, section string, m map[string]any, opts []Option, t target) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := make(map[string]bool)
	for _, k := range keys {
		o := sectionOption(opts, section, k)
		if o == nil {
			ld.fail(ref+" "+quoteKey(k), "", errors.New("unknown key"+suggest(section)))
			continue
		}
		seen[k] = true
		val, err := o.parse(m[k], false)
		if err != nil {
			ld.fail(ref+" "+k, "", err)
			continue
		}
		o.set(t, val)
	}
	for i := range opts {
		if o := &opts[i]; o.Section == section && o.Required && !seen[o.Key] {
			ld.fail(ref+" "+o.Key, "", fmt.Errorf("missing; every [[%s]] needs one", section))
		}
	}
}

// sectionOption returns the option of section called key, or nil.
func sectionOption(opts []Option, section, key string) *Option {
	for i := range opts {
		if opts[i].Section == section && opts[i].Key == key {
			return &opts[i]
		}
	}
	return nil
}

// suggest names the keys of a section, for an unknown key in it.
func suggest(section string) string {
	var keys []string
	for _, o := range Options() {
		if o.Section == section {
			keys = append(keys, o.Key)
		}
	}
	if section == SectionTop {
		keys = append(keys, "[interface]", "[[peer]]", "[accept]", "[dns]", "[[publish]]")
	}
	return "; the keys here are " + strings.Join(keys, ", ")
}

// quoteKey writes a key from the file so that odd bytes cannot forge lines.
func quoteKey(k string) string {
	for _, r := range k {
		if !(r == '_' || r == '-' || alnum(r)) {
			return strconv.Quote(k)
		}
	}
	return k
}
