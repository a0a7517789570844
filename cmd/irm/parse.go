package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// Timeouts for one call to irmd. Enrolment and connection wait for a peer
// across a layer, so they get longer than the local bookkeeping calls.
const (
	defaultTimeout = 10 * time.Second
	remoteTimeout  = 30 * time.Second
)

// command is one parsed irm invocation: a request to send to irmd, or text
// (help, version) to print without contacting it.
type command struct {
	path    string   // the command's keywords in full, such as "ipcp bootstrap"
	args    []string // the arguments after the keywords, as typed
	op      ctrl.Op
	req     any           // the request body
	reply   printer       // receives and shows the reply; nil when there is nothing to show
	timeout time.Duration // how long to wait for irmd
	text    string        // when set, print this and send nothing
	// local, when set, is run instead of a call to irmd: the command works
	// on files of this host and needs no daemon (irm cert).
	local func(stdout io.Writer) error
}

// printer is a reply that irm decodes from irmd's answer and shows.
type printer interface {
	print(w io.Writer) error
}

// usageError is a mistake on the command line. irm prints it with the
// grammar of the command and exits with status 2.
type usageError struct {
	msg   string // what is wrong; "" when the usage text says it all
	usage string // the grammar lines of the command, or a group's help
	path  string // the command's keywords, for "run 'irm help PATH'"
}

func (e *usageError) Error() string {
	if e.msg == "" {
		return "incomplete command"
	}
	return e.msg
}

// parse turns irm's arguments into a command. It follows keywords down the
// command tree, matching each on a unique prefix, and hands the remaining
// arguments to the parser of the command it reaches.
func parse(args []string) (*command, error) {
	root := commandTree()
	if len(args) > 0 && args[0] == "--version" {
		if len(args) > 1 {
			return nil, &usageError{msg: "--version takes no arguments", usage: "usage: irm --version\n"}
		}
		return &command{text: versionText()}, nil
	}
	n := root
	var path []string
	for i := 0; ; i++ {
		rest := args[i:]
		if n.parse != nil {
			return parseLeaf(n, path, rest)
		}
		if len(rest) == 0 {
			return nil, &usageError{usage: n.helpText(path), path: strings.Join(path, " ")}
		}
		if isHelpFlag(rest[0]) {
			return &command{text: n.helpText(path)}, nil
		}
		sub, err := n.find(rest[0])
		if err != nil {
			return nil, &usageError{msg: err.Error(), usage: n.usageText(), path: strings.Join(path, " ")}
		}
		if sub.name == helpName {
			return parseHelp(root, rest[1:])
		}
		n = sub
		path = append(path, sub.name)
	}
}

// parseLeaf runs a command's own parser on its arguments, unless they ask
// for help. Every error a parser returns is a usage error.
func parseLeaf(n *node, path, args []string) (*command, error) {
	p := strings.Join(path, " ")
	if wantsHelp(args) {
		return &command{text: n.helpText(path)}, nil
	}
	c, err := n.parse(args)
	if err != nil {
		return nil, &usageError{msg: err.Error(), usage: n.usageText(), path: p}
	}
	c.path = p
	c.args = args
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	return c, nil
}

// helpUsage is the grammar of "irm help", for its errors.
const helpUsage = "usage: irm help [COMMAND]...\n"

// parseHelp parses "irm help [KEYWORD]...": the help of the command the
// keywords name.
func parseHelp(root *node, args []string) (*command, error) {
	if len(args) == 1 && isHelpFlag(args[0]) {
		args = []string{helpName} // "irm help --help": the help of help
	}
	n := root
	var path []string
	for _, a := range args {
		if isHelpFlag(a) {
			continue // "irm help ipcp -h" asks for nothing more
		}
		if n.subs == nil {
			return nil, &usageError{
				msg:   fmt.Sprintf("'irm %s' has no subcommand %q", strings.Join(path, " "), a),
				usage: helpUsage,
				path:  helpName,
			}
		}
		sub, err := n.find(a)
		if err != nil {
			return nil, &usageError{msg: err.Error(), usage: helpUsage, path: helpName}
		}
		n = sub
		path = append(path, sub.name)
	}
	return &command{text: n.helpText(path)}, nil
}

// isHelpFlag reports whether a reads as a request for help.
func isHelpFlag(a string) bool {
	return a == "-h" || a == "--help" || a == "-help"
}

// wantsHelp reports whether a command's arguments ask for help. Arguments
// after "--" belong to a program, so a "--help" there is not for irm.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// matchError reports a word that names none, or more than one, of the
// keywords allowed where it stands.
type matchError struct {
	what       string   // "command" or "keyword"
	word       string   // as typed
	candidates []string // the keywords it is a prefix of; empty if none
	allowed    []string // every keyword allowed there
}

func (e *matchError) Error() string {
	if len(e.candidates) > 1 {
		return fmt.Sprintf("ambiguous %s %q: could be %s", e.what, e.word, strings.Join(e.candidates, ", "))
	}
	if e.word == "--" {
		return "'--' is only accepted by 'irm bind program', before the program's arguments"
	}
	return fmt.Sprintf("unknown %s %q: want one of %s", e.what, e.word, strings.Join(e.allowed, ", "))
}

// match returns the keyword among words that word names: the keyword itself
// or, failing that, the only keyword it is a prefix of. An exact match wins,
// so "addr" is addr even though it is also a prefix of addr_auth.
func match(what, word string, words []string) (string, error) {
	var cands []string
	for _, w := range words {
		if w == word {
			return w, nil
		}
		if word != "" && strings.HasPrefix(w, word) {
			cands = append(cands, w)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	return "", &matchError{what: what, word: word, candidates: cands, allowed: words}
}

// matchTiered matches word against the keywords of the first tier and,
// only if it names none of those, against the next tier, and so on. A word
// ambiguous within a tier is an error there; an unknown word's error lists
// the keywords of every tier.
func matchTiered(what, word string, tiers ...[]string) (string, error) {
	var all []string
	for _, words := range tiers {
		if len(words) == 0 {
			continue
		}
		all = append(all, words...)
		key, err := match(what, word, words)
		var me *matchError
		if err == nil || !errors.As(err, &me) || len(me.candidates) > 0 {
			return key, err
		}
	}
	return "", &matchError{what: what, word: word, allowed: all}
}

// grammar lists the keywords a command accepts after its name.
type grammar struct {
	values []string // keywords followed by a value
	flags  []string // keywords that stand alone
	repeat []string // value keywords that may be given more than once
	// options are value keywords that a word names only if it names none
	// of the keywords above: the many bootstrap options must not make the
	// everyday abbreviations ambiguous ("l" stays layer, not ls_t_recalc).
	options []string
	// late are value keywords a word names only if it names none of the
	// options either: the identity keywords, so that "c" stays congestion
	// for a unicast IPCP rather than becoming ambiguous with ca and cert.
	late []string
}

// argMap holds a command's keyword arguments: the values given for each
// keyword, in order. A flag maps to one empty value.
type argMap map[string][]string

// scanArgs reads args as a sequence of keywords, each followed by its value
// unless it is a flag. Keywords match on a unique prefix; a keyword given
// twice is an error unless g allows it to repeat.
func scanArgs(args []string, g grammar) (argMap, error) {
	primary := slices.Concat(g.values, g.flags)
	m := make(argMap)
	for i := 0; i < len(args); i++ {
		key, err := matchTiered("keyword", args[i], primary, g.options, g.late)
		if err != nil {
			return nil, err
		}
		if _, dup := m[key]; dup && !slices.Contains(g.repeat, key) {
			return nil, fmt.Errorf("%s is given more than once", key)
		}
		if slices.Contains(g.flags, key) {
			m[key] = append(m[key], "")
			continue
		}
		if i+1 == len(args) {
			return nil, fmt.Errorf("missing value after %s", key)
		}
		i++
		m[key] = append(m[key], args[i])
	}
	return m, nil
}

// get returns the value of key, or "" if it was not given.
func (m argMap) get(key string) string {
	if v := m[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// has reports whether key was given.
func (m argMap) has(key string) bool {
	_, ok := m[key]
	return ok
}

// need returns the value of a required key; meta is the placeholder the
// grammar uses for its value, so that the error reads like the usage line.
func (m argMap) need(key, meta string) (string, error) {
	if !m.has(key) {
		return "", fmt.Errorf("missing %s %s", key, meta)
	}
	v := m.get(key)
	if v == "" {
		return "", fmt.Errorf("empty value for %s", key)
	}
	return v, nil
}

// positional splits off a command's leading positional argument, such as
// the N of "name create N".
func positional(args []string, meta string) (string, []string, error) {
	if len(args) == 0 || args[0] == "" {
		return "", nil, fmt.Errorf("missing %s", meta)
	}
	return args[0], args[1:], nil
}

// oneOf checks that val is one of choices, spelled in full.
func oneOf(key, val string, choices []string) error {
	if slices.Contains(choices, val) {
		return nil
	}
	return fmt.Errorf("bad %s %q: want one of %s", key, val, strings.Join(choices, ", "))
}
