package schema

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Error is a problem with one option given to an IPCP.
type Error struct {
	Type  string // the IPCP type
	Name  string // the option, as irm spells it ("peer.NAME" for a peer)
	Value string // the value given
	// Problem is what is wrong: phrased to follow the value, or, for an
	// option that is missing or unknown (Whole), the whole message.
	Problem string
	Whole   bool
}

func (e *Error) Error() string {
	if e.Whole {
		return e.Problem
	}
	return fmt.Sprintf("bad %s: %q %s", e.Name, e.Value, e.Problem)
}

// Parse checks the options an IPCP of type t is bootstrapped with, keyed as
// irm spells them (peers as "peer.NAME"), and returns them as the IPCP
// uses them: each value in its canonical form, every default filled in, and
// the rules between options checked. The error is an *Error naming the
// first option at fault, in table order.
func (t *Type) Parse(opts map[string]string) (map[string]string, error) {
	keys := slices.Sorted(maps.Keys(opts))
	for _, k := range keys {
		if t.optionOf(k) == nil {
			return nil, t.unknown(k)
		}
	}
	out := make(map[string]string, len(t.Options)+len(opts))
	for i := range t.Options {
		o := &t.Options[i]
		name := o.Name()
		for _, k := range keys {
			if k != name && !(o.Kind == Peers && strings.HasPrefix(k, name+".")) {
				continue
			}
			v, p := o.Check(t.Name, opts[k])
			if p != "" {
				return nil, &Error{Type: t.Name, Name: k, Value: opts[k], Problem: p}
			}
			out[k] = v
		}
		if _, ok := opts[name]; !ok && o.Required {
			return nil, &Error{Type: t.Name, Name: name, Problem: t.Missing(o), Whole: true}
		}
	}
	given := func(name string) bool { _, ok := opts[name]; return ok }
	t.Finish(out, given)
	for _, r := range t.Rules {
		if name, p := r(out, given); p != "" {
			return nil, &Error{Type: t.Name, Name: name, Value: out[name], Problem: p, Whole: true}
		}
	}
	return out, nil
}

// Finish fills in the defaults of the options not given and then the
// options that depend on others (Complete).
func (t *Type) Finish(opts map[string]string, given func(name string) bool) {
	for i := range t.Options {
		if o := &t.Options[i]; o.Default != "" && !given(o.Name()) {
			opts[o.Name()] = o.Default
		}
	}
	if t.Complete != nil {
		t.Complete(opts)
	}
}

// Missing says that a required option o is missing.
func (t *Type) Missing(o *Option) string {
	return fmt.Sprintf("missing %s: %s %s IPCP needs it (%s)", o.Name(), t.article(), t.Name, o.Help)
}

// optionOf returns the option that the key k of the IPCP's options sets.
func (t *Type) optionOf(k string) *Option {
	if o := t.Option(k); o != nil && o.Kind != Peers {
		return o
	}
	if name, peer, ok := strings.Cut(k, "."); ok && peer != "" {
		if o := t.Option(name); o != nil && o.Kind == Peers {
			return o
		}
	}
	return nil
}

// unknown reports an option that t does not have.
func (t *Type) unknown(k string) error {
	var names []string
	for i := range t.Options {
		n := t.Options[i].Name()
		if t.Options[i].Kind == Peers {
			n += ".NAME"
		}
		names = append(names, n)
	}
	takes := "it takes no options"
	if len(names) > 0 {
		takes = "it takes " + strings.Join(names, ", ")
	}
	return &Error{Type: t.Name, Name: k, Problem: fmt.Sprintf("option %s does not apply to %s %s IPCP; %s", k, t.article(), t.Name, takes), Whole: true}
}

// article is "a" or "an", as English puts it before t's name.
func (t *Type) article() string {
	if strings.HasPrefix(t.Name, "e") {
		return "an"
	}
	return "a"
}
