package config

import (
	"strconv"

	"o7s.dev/ouroboros/stack/schema"
)

// This file reads the values of the options stack/schema describes from the
// file's TOML values: it checks that each has the TOML type it needs, and
// leaves the value itself to the schema, as irm and the IPCPs do.

// optionValue checks v as the value of o, spelt k in the file, for an IPCP
// of type typ, and stores it in opts as the IPCP receives it.
func optionValue(t *table, typ string, o *schema.Option, k string, v any, opts map[string]string) {
	if o.Kind == schema.Peers {
		peers(t, typ, o, k, v, opts)
		return
	}
	if s, ok := optionString(t, typ, o, k, v); ok {
		opts[o.Name()] = s
	}
}

// optionString checks v as the value of o, spelt k in the file, for an
// IPCP of type typ ("" if none), and returns it in its canonical form.
func optionString(t *table, typ string, o *schema.Option, k string, v any) (string, bool) {
	var s string
	switch v := v.(type) {
	case int64:
		if o.Kind != schema.Int && o.Kind != schema.Ethertype {
			_, ok := str(t, k, v) // says to quote it
			return "", ok
		}
		s = strconv.FormatInt(v, 10)
	case string:
		if o.Kind == schema.Int {
			// The number's form in the file is part of its value: a
			// quoted number is refused, with a hint to unquote it.
			_, p := o.Check(typ, "")
			hint := ""
			if _, err := strconv.ParseInt(v, 0, 64); err == nil {
				hint = "; write numbers without quotes"
			}
			t.errorf(k, "%s %s%s", show(v), p, hint)
			return "", false
		}
		s = v
	default:
		if o.Kind == schema.Int || o.Kind == schema.Ethertype {
			_, p := o.Check(typ, "")
			t.errorf(k, "%s %s", show(v), p)
			return "", false
		}
		_, ok := str(t, k, v)
		return "", ok
	}
	c, p := o.Check(typ, s)
	if p != "" {
		t.errorf(k, "%s %s", show(v), p)
		return "", false
	}
	return c, true
}

// intOption checks v as the value of the Int option o, spelt k in the file,
// outside the IPCP tables, and returns the number.
func intOption(t *table, o *schema.Option, k string, v any) (int, bool) {
	s, ok := optionString(t, "", o, k, v)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// peers checks a table of peer name = "host[:port]" and stores each as the
// option "peer.NAME"; a peer without a port gets the layer's when the
// defaults are filled in.
func peers(t *table, typ string, o *schema.Option, k string, v any, opts map[string]string) {
	m, ok := v.(map[string]any)
	if !ok {
		t.errorf(k, "%s is not a table of name = \"host[:port]\"; write peers = { NAME = \"HOST\" }", show(v))
		return
	}
	for _, n := range sortedKeys(m) {
		pk := subkey(k, n)
		if p := nameProblem(n); p != "" {
			t.errorf(pk, "the peer name %s", p)
			continue
		}
		s, isStr := str(t, pk, m[n])
		if !isStr {
			continue
		}
		ep, p := o.Check(typ, s)
		if p != "" {
			t.errorf(pk, "%s %s", show(s), p)
			continue
		}
		opts[o.Name()+"."+n] = ep
	}
}
