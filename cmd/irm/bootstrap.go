package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/schema"
)

// The IPCP types and their options are stack/schema's tables, which
// irmd.conf and the IPCPs check against too: irm refuses what they refuse.

// autobindTypes are the types whose IPCPs can be bound to names: only
// these accept flows from other members of their layer.
func autobindTypes() []string {
	var out []string
	for _, t := range schema.Types() {
		if t.Layered {
			out = append(out, t.Name)
		}
	}
	return out
}

// optionKeys returns the options of type typ, or of every type if typ is "",
// in the order of the types' tables.
func optionKeys(typ string) []string {
	if t := schema.Lookup(typ); t != nil {
		return t.Flags()
	}
	var keys []string
	for _, t := range schema.Types() {
		for _, k := range t.Flags() {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// optionTypes returns the types that take option key.
func optionTypes(key string) []string {
	var out []string
	for _, t := range schema.Types() {
		if slices.Contains(t.Flags(), key) {
			out = append(out, t.Name)
		}
	}
	return out
}

// bootstrapType returns the type a bootstrap command names, or "". It runs
// before the arguments are scanned, so that options match on prefixes of
// that type's options only ("d" is dev for eth-llc, dns for udp4). It looks
// for an abbreviation of "type" followed by a type name. A value cannot pass
// for that keyword: the word after a value is a keyword, and no keyword is
// spelled like a type.
func bootstrapType(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] != "" && strings.HasPrefix("type", args[i]) && slices.Contains(ipcpTypes, args[i+1]) {
			return args[i+1]
		}
	}
	return ""
}

func parseIPCPBootstrap(args []string) (*command, error) {
	typ := bootstrapType(args)
	g := grammar{
		values:  []string{"name", "layer", "type"},
		flags:   []string{"autobind"},
		options: optionKeys(typ),
		late:    identityKeys,
		repeat:  []string{"ca"},
	}
	m, err := scanArgs(args, g)
	if err != nil {
		return nil, explainOption(err, typ)
	}
	req := ctrl.IPCPBootstrap{Type: m.get("type"), Autobind: m.has("autobind")}
	if req.Name, err = m.need("name", "N"); err != nil {
		return nil, err
	}
	if req.Layer, err = m.need("layer", "L"); err != nil {
		return nil, err
	}
	if m.has("type") {
		if err := oneOf("type", req.Type, ipcpTypes); err != nil {
			return nil, err
		}
	}
	if req.Autobind && req.Type != "" && !slices.Contains(autobindTypes(), req.Type) {
		return nil, fmt.Errorf("autobind is only for unicast and broadcast IPCPs, not %s", req.Type)
	}
	if req.Options, err = bootstrapValues(m, req.Type); err != nil {
		return nil, err
	}
	if req.Identity, err = identity(m, req.Type); err != nil {
		return nil, err
	}
	if t := schema.Lookup(req.Type); t != nil {
		// What is missing and the rules between options, with the
		// defaults irmd fills in; irmd gets only the options given.
		if _, err := t.Parse(req.Options); err != nil {
			return nil, err
		}
	}
	return &command{op: ctrl.OpIPCPBootstrap, req: req}, nil
}

// bootstrapValues checks the options given and returns them as irmd
// expects them, or nil if there are none. Without a type, a value is
// checked as the first type that takes the option would.
func bootstrapValues(m argMap, typ string) (map[string]string, error) {
	var opts map[string]string
	for _, k := range optionKeys(typ) {
		if !m.has(k) {
			continue
		}
		t := typ
		if t == "" {
			t = optionTypes(k)[0]
		}
		val := m.get(k)
		v, p := schema.Lookup(t).Option(k).Check(typ, val)
		if p != "" {
			return nil, &schema.Error{Type: typ, Name: k, Value: val, Problem: p}
		}
		if opts == nil {
			opts = make(map[string]string)
		}
		opts[k] = v
	}
	return opts, nil
}

// explainOption turns "unknown keyword" for an option of another type into
// an error that says which types take it.
func explainOption(err error, typ string) error {
	var me *matchError
	if !errors.As(err, &me) || typ == "" || len(me.candidates) > 0 {
		return err
	}
	key, kerr := match("keyword", me.word, optionKeys(""))
	if kerr != nil {
		return err
	}
	takes := "no options"
	if keys := optionKeys(typ); len(keys) > 0 {
		takes = "only " + strings.Join(keys, ", ")
	}
	return fmt.Errorf("option %s is for %s IPCPs, not %s (%s takes %s)",
		key, strings.Join(optionTypes(key), ", "), typ, typ, takes)
}
