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
// overriding its keys (not those of [[peer]] entries). Errors name the file
// and the key; all that are found are returned, joined, one per line.
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
	given := ld.scalars(v, opts, l)
	ld.peers(v, opts, l)
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

// scalars reads the options outside [[peer]]: their defaults, then the
// file's and the environment's values, and reports unknown keys. It
// returns the options given (by Ref).
func (ld *loader) scalars(v *viper.Viper, opts []Option, l *Link) map[string]bool {
	given := make(map[string]bool)
	byPath := make(map[string]*Option)
	for i := range opts {
		o := &opts[i]
		if o.Section == SectionPeer {
			continue
		}
		byPath[o.path()] = o
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
		given[o.Ref()] = true
		val, err := o.parse(raw, env != "")
		if err != nil {
			ld.fail(o.Ref(), env, err)
			continue
		}
		o.set(target{l: l}, val)
	}
	for i := range opts {
		if o := &opts[i]; o.Required && o.Section != SectionPeer && !given[o.Ref()] {
			ld.fail(o.Ref(), "", fmt.Errorf("missing; set it (or $%s)", o.Env()))
		}
	}
	return given
}

// unknown reports a key that is no option, saying what it may have meant.
func (ld *loader) unknown(k string, val any) {
	section, key, nested := strings.Cut(k, ".")
	switch {
	case k == SectionPeer:
		// the [[peer]] entries: read by peers
	case section == SectionPeer:
		ld.fail("[peer]", "", errors.New("peers are an array of tables: write [[peer]], not [peer]"))
	case !nested && isSection(k):
		ld.fail("["+k+"]", "", wrongType(val, "a table, ["+k+"]"))
	case nested && isSection(section):
		ld.fail("["+section+"] "+quoteKey(key), "", errors.New("unknown key"+suggest(section)))
	case nested:
		ld.fail("["+quoteKey(section)+"]", "", errors.New("unknown table; the tables are [interface], [[peer]] and [accept]"))
	default:
		ld.fail(quoteKey(k), "", errors.New("unknown key"+suggest(SectionTop)))
	}
}

// peers reads the [[peer]] entries.
func (ld *loader) peers(v *viper.Viper, opts []Option, l *Link) {
	raw := v.Get(SectionPeer)
	if raw == nil {
		return
	}
	list, ok := raw.([]any)
	if !ok {
		if _, table := raw.(map[string]any); !table {
			ld.fail("[[peer]]", "", wrongType(raw, "an array of tables, [[peer]]"))
		}
		return // a [peer] table is reported by unknown
	}
	for i, item := range list {
		ref := "[[peer]] " + strconv.Itoa(i+1)
		m, ok := item.(map[string]any)
		if !ok {
			ld.fail(ref, "", wrongType(item, "a table"))
			continue
		}
		var p Peer
		ld.peer(ref, m, opts, &p)
		l.Peers = append(l.Peers, p)
	}
}

// peer reads one [[peer]] entry, numbered ref.
func (ld *loader) peer(ref string, m map[string]any, opts []Option, p *Peer) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := make(map[string]bool)
	for _, k := range keys {
		o := peerOption(opts, k)
		if o == nil {
			ld.fail(ref+" "+quoteKey(k), "", errors.New("unknown key"+suggest(SectionPeer)))
			continue
		}
		seen[k] = true
		val, err := o.parse(m[k], false)
		if err != nil {
			ld.fail(ref+" "+k, "", err)
			continue
		}
		o.set(target{p: p}, val)
	}
	for i := range opts {
		if o := &opts[i]; o.Section == SectionPeer && o.Required && !seen[o.Key] {
			ld.fail(ref+" "+o.Key, "", errors.New("missing; every [[peer]] needs one"))
		}
	}
}

// peerOption returns the [[peer]] option called key, or nil.
func peerOption(opts []Option, key string) *Option {
	for i := range opts {
		if opts[i].Section == SectionPeer && opts[i].Key == key {
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
		keys = append(keys, "[interface]", "[[peer]]", "[accept]")
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
