package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"o7s.dev/ouroboros/stack/schema"
)

// The top-level tables besides the IPCP types.
const (
	groupIrmd = "irmd"
	groupName = "name"
)

// config checks a decoded file and builds its Config. Problems are reported
// in a fixed order: the top level, [irmd], the IPCPs in Config order, the
// names in Config order, then the rules that span several tables. Within a
// table, keys come in sorted order, then the rules between its keys.
func (c *checker) config(doc map[string]any) *Config {
	cfg := &Config{File: c.file}
	types := ipcpTypes()
	for _, k := range sortedKeys(doc) {
		if k != groupIrmd && k != groupName && findType(types, k) == nil {
			c.unknownTop(k, doc[k], types)
		}
	}
	if v, ok := doc[groupIrmd]; ok {
		c.irmd(cfg, v)
	}
	for i := range types {
		for _, m := range c.members(types[i].Name, doc) {
			cfg.IPCPs = append(cfg.IPCPs, c.ipcp(types, &types[i], m.name, m.vals))
		}
	}
	for _, m := range c.members(groupName, doc) {
		nm := c.name(m.name, m.vals)
		if nm.RequireCert && len(cfg.CA) == 0 {
			c.member(groupName, m.name).errorf(keyRequireCert, "needs ca in [irmd]: the CAs a certificate must come from")
		}
		cfg.Names = append(cfg.Names, nm)
	}
	c.acrossIPCPs(cfg.IPCPs)
	return cfg
}

func findType(types []ipcpType, name string) *ipcpType {
	for i := range types {
		if types[i].Name == name {
			return &types[i]
		}
	}
	return nil
}

// option returns typ's option spelt k in the file, or nil.
func (typ *ipcpType) option(k string) *schema.Option {
	for i := range typ.Options {
		if o := &typ.Options[i]; o.Key == k || o.Alias != "" && o.Alias == k {
			return o
		}
	}
	return nil
}

// has reports whether an IPCP table of type typ may hold the type-specific
// key k: an option or, where the layer authenticates, an identity key.
func (typ *ipcpType) has(k string) bool {
	return typ.option(k) != nil || typ.Auth && slices.Contains(identityKeys, k)
}

// keys lists the keys an IPCP table of type typ may hold.
func (typ *ipcpType) keys() []string {
	ks := []string{keyBootstrap}
	if typ.Layered {
		ks = append(ks, keyEnrol, keyAutobind)
	}
	ks = append(ks, keyReg)
	if typ.Connect {
		ks = append(ks, keyConn)
	}
	if typ.Auth {
		ks = append(ks, identityKeys...)
	}
	for _, o := range typ.Options {
		ks = append(ks, o.Key)
	}
	return ks
}

// unknownTop reports a top-level key that is not one of the tables.
func (c *checker) unknownTop(k string, v any, types []ipcpType) {
	groups := []string{groupIrmd, groupName}
	for _, typ := range types {
		groups = append(groups, typ.Name)
	}
	if _, ok := v.(map[string]any); ok {
		msg := "unknown table"
		if near := nearest(k, groups); len(near) > 0 {
			msg += "; did you mean [" + strings.Join(near, "] or [") + "]?"
		} else {
			msg += "; the tables are [irmd], [name.NAME] and [TYPE.NAME] for the IPCP types " + strings.Join(groups[2:], ", ")
		}
		c.report("["+tomlKey(k)+"]", "", "%s", msg)
		return
	}
	switch {
	case k == keyLogLevel:
		c.report("", tomlKey(k), "is an [irmd] key; put it below an [irmd] line")
	case slices.Contains(commonKeys, k):
		c.report("", tomlKey(k), "is an IPCP key; put it below the IPCP's [TYPE.NAME] line")
	default:
		c.report("", tomlKey(k), "unknown key; the top level of the file holds only tables")
	}
}

// member is one [group.NAME] table.
type member struct {
	name string
	vals map[string]any
}

// members returns the [group.NAME] tables of the file, sorted by name.
func (c *checker) members(group string, doc map[string]any) []member {
	v, ok := doc[group]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.report("", group, "%s is not a table; declare each as [%s.NAME], with its keys below it", show(v), group)
		return nil
	}
	var out []member
	for _, n := range sortedKeys(m) {
		vals, ok := m[n].(map[string]any)
		switch {
		case isTableArray(m[n]):
			c.report("["+group+"]", tomlKey(n), "is an array of tables, [%s]; write %s, with single brackets", header(group, n), header(group, n))
			continue
		case !ok:
			c.report("["+group+"]", tomlKey(n), "%s is not a table; declare each as [%s.NAME], with its keys below it", show(m[n]), group)
			continue
		}
		out = append(out, member{n, vals})
	}
	return out
}

// isTableArray reports whether v came from [[double.brackets]].
func isTableArray(v any) bool {
	vs, ok := v.([]any)
	if !ok || len(vs) == 0 {
		return false
	}
	_, ok = vs[0].(map[string]any)
	return ok
}

// irmd checks the [irmd] table and returns its log level.
func (c *checker) irmd(cfg *Config, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		c.report("", groupIrmd, "%s is not a table; write an [irmd] line with log_level = ... below it", show(v))
		return
	}
	t := &table{c: c, head: "[" + groupIrmd + "]"}
	for _, k := range sortedKeys(m) {
		switch o := irmdLimit(k); {
		case o != nil:
			if n, ok := intOption(t, o, k, m[k]); ok {
				if cfg.Limits == nil {
					cfg.Limits = map[string]int{}
				}
				cfg.Limits[k] = n
			}
		case k == keyLogLevel:
			cfg.LogLevel, _ = logLevels.check(t, k, m[k])
		case k == keyCA:
			cfg.CA, _ = list(t, k, m[k], true, program)
		case k == keyCert:
			cfg.Cert, _ = program(t, k, m[k])
		case k == keyKey:
			cfg.Key, _ = program(t, k, m[k])
		case k == keyRevoked:
			cfg.Revoked, _ = list(t, k, m[k], true, fingerprint)
		case k == keyGroup:
			cfg.Group, _ = name(t, k, m[k])
		default:
			t.unknownKey(k, m[k], irmdKeys, "the keys of [irmd] are "+strings.Join(irmdKeys, ", "))
		}
	}
	pairKeys(t, cfg.Cert, cfg.Key)
}

// pairKeys checks that a certificate and its key come together.
func pairKeys(t *table, cert, key string) {
	switch {
	case cert != "" && key == "":
		t.errorf(keyCert, "is set without key, the certificate's private key file")
	case key != "" && cert == "":
		t.errorf(keyKey, "is set without cert, the certificate file")
	}
}

// ipcp checks one [TYPE.NAME] table.
func (c *checker) ipcp(types []ipcpType, typ *ipcpType, n string, vals map[string]any) IPCP {
	t := c.member(typ.Name, n)
	if p := nameProblem(n); p != "" {
		t.errorf("", "the IPCP name %s", p)
	}
	p := IPCP{Name: n, Type: typ.Name}
	set := map[string]string{} // canonical key -> the key as written, for the keys present
	opts := map[string]string{}
	for _, k := range sortedKeys(vals) {
		v := vals[k]
		switch k {
		case keyBootstrap:
			p.Bootstrap, _ = name(t, k, v)
		case keyEnrol:
			p.Enrol, _ = name(t, k, v)
		case keyAutobind:
			p.Autobind, _ = boolean(t, k, v)
		case keyReg:
			p.Reg, _ = list(t, k, v, true, name)
		case keyConn:
			p.Conn, _ = list(t, k, v, true, name)
		case keyCA, keyCert, keyKey:
			if !typ.Auth {
				c.unknownIPCPKey(t, types, typ, k, v)
				continue
			}
			p.identity(t, k, v)
		default:
			o := typ.option(k)
			if o == nil {
				c.unknownIPCPKey(t, types, typ, k, v)
				continue
			}
			if prev, dup := set[o.Key]; dup {
				t.errorf(k, "%s is set too; they are the same key, keep one", prev)
				continue
			}
			set[o.Key] = k
			before := len(c.errs)
			optionValue(t, typ.Name, o, k, v, opts)
			if o.NotYet != "" && !c.later && len(c.errs) == before {
				// Bootstrap refuses it: so must the check, so that a
				// file that passes starts.
				t.errorf(k, "(%s) is not supported yet", o.NotYet)
			}
			continue
		}
		set[k] = k
	}
	c.ipcpRules(t, typ, set)
	p.Options = map[string]string{}
	if _, boot := set[keyBootstrap]; boot {
		p.Options = opts
		typ.finish(t, set, opts)
	}
	if !c.supported(typ.Name) {
		t.errorf("", "IPCP type %s is not supported yet", typ.Name)
	}
	return p
}

// identity checks k, one of the keys that authenticate an IPCP to its
// layer, and stores its value in p.
func (p *IPCP) identity(t *table, k string, v any) {
	switch k {
	case keyCA:
		p.CA, _ = paths(t, k, v)
	case keyCert:
		p.Cert, _ = program(t, k, v)
	case keyKey:
		p.Key, _ = program(t, k, v)
	}
}

// finish fills in the defaults of a bootstrapping IPCP's options, and the
// options that follow from others, then checks the rules between them. set
// holds the keys present, as written: an option whose value was refused
// is neither defaulted nor checked against the others.
func (typ *ipcpType) finish(t *table, set, opts map[string]string) {
	written := func(name string) string {
		if o := typ.Option(name); o != nil {
			return set[o.Key]
		}
		return ""
	}
	given := func(name string) bool { return written(name) != "" }
	typ.Finish(opts, given)
	for _, rule := range typ.Rules {
		if name, p := rule(opts, given); p != "" {
			k := written(name)
			if k == "" {
				k = typ.Option(name).Key
			}
			t.errorf(k, "%s", p)
		}
	}
}

// unknownIPCPKey reports a key that typ does not have, naming the types
// that do have it, since putting a key in the wrong table is a likely slip.
func (c *checker) unknownIPCPKey(t *table, types []ipcpType, typ *ipcpType, k string, v any) {
	var owners []string
	for i := range types {
		if types[i].has(k) {
			owners = append(owners, types[i].Name)
		}
	}
	if len(owners) > 0 {
		t.errorf(k, "is not a key of %s IPCPs, only of %s", typ.Name, strings.Join(owners, ", "))
		return
	}
	t.unknownKey(k, v, typ.keys(), "the keys of "+typ.Name+" IPCPs are "+strings.Join(typ.keys(), ", "))
}

// ipcpRules checks the rules between the keys of an IPCP table, set being
// the keys present.
func (c *checker) ipcpRules(t *table, typ *ipcpType, set map[string]string) {
	_, boot := set[keyBootstrap]
	_, enrol := set[keyEnrol]
	switch {
	case boot && enrol:
		t.errorf(keyEnrol, "bootstrap is set too: an IPCP either bootstraps a new layer or enrols in an existing one")
	case enrol && !typ.Layered:
		t.errorf(keyEnrol, "%s IPCPs do not enrol; use bootstrap = \"LAYER\"", typ.Name)
	case enrol && !c.enrol:
		t.errorf(keyEnrol, "enrolment is not supported yet")
	}
	if _, ok := set[keyAutobind]; ok {
		switch {
		case !typ.Layered:
			t.errorf(keyAutobind, "only unicast and broadcast IPCPs autobind")
		case !boot && !enrol:
			t.errorf(keyAutobind, "needs bootstrap or enrol: the IPCP binds to its layer's name")
		}
	}
	if _, ok := set[keyReg]; ok && !boot && !enrol {
		t.errorf(keyReg, "needs bootstrap or enrol: names are registered in the IPCP's layer")
	}
	// The identity is not a bootstrap option: an enrolling IPCP needs its
	// own certificate. set holds the keys as written, so a pair whose
	// value was refused is not reported as missing a half.
	pairKeys(t, set[keyCert], set[keyKey])
	// A member both shows a certificate and checks the others' against
	// the layer's CA: one without the other cannot join the layer.
	_, hasCA := set[keyCA]
	_, hasCert := set[keyCert]
	switch {
	case !boot && !enrol: // said below
	case hasCA && !hasCert:
		t.errorf(keyCA, "needs cert and key: the IPCP's own certificate, which the other members check")
	case hasCert && !hasCA:
		t.errorf(keyCert, "needs ca: the layer's CA, against which the IPCP checks the other members")
	}
	for _, k := range identityKeys {
		if _, ok := set[k]; ok && !boot && !enrol {
			t.errorf(k, "needs bootstrap or enrol: it authenticates the IPCP to its layer")
		}
	}
	if _, ok := set[keyConn]; ok {
		switch {
		case !typ.Connect:
			t.errorf(keyConn, "only unicast IPCPs connect to neighbours")
		case !enrol && !boot:
			t.errorf(keyConn, "needs bootstrap or enrol: an IPCP connects to its neighbours once it is in a layer")
		case !c.enrol:
			t.errorf(keyConn, "connecting to neighbours is not supported yet")
		}
	}
	for _, o := range typ.Options {
		k, ok := set[o.Key]
		switch {
		case ok && enrol && !boot:
			t.errorf(k, "is a bootstrap option; an enrolling IPCP takes it from its layer")
		case ok && !boot:
			t.errorf(k, "is a bootstrap option, but bootstrap is not set")
		case !ok && boot && o.Required:
			t.errorf(o.Key, "is missing; %s IPCPs need it to bootstrap: %s", typ.Name, o.Help)
		}
	}
}

// acrossIPCPs checks the rules between IPCP tables: an IPCP name names one
// IPCP, and a host bootstraps a layer once.
func (c *checker) acrossIPCPs(ipcps []IPCP) {
	owner := map[string]string{}
	layer := map[string]string{}
	for _, p := range ipcps {
		head := header(p.Type, p.Name)
		if prev, ok := owner[p.Name]; ok {
			c.report(head, "", "%s has the same name; IPCP names are unique on a host", prev)
		} else {
			owner[p.Name] = head
		}
		if p.Bootstrap == "" {
			continue
		}
		if prev, ok := layer[p.Bootstrap]; ok {
			c.report(head, keyBootstrap, "%s bootstraps layer %s too; a host bootstraps a layer once, other IPCPs enrol in it", prev, tomlString(p.Bootstrap))
		} else {
			layer[p.Bootstrap] = head
		}
	}
}

// name checks one [name.NAME] table.
func (c *checker) name(n string, vals map[string]any) Name {
	t := c.member(groupName, n)
	if p := nameProblem(n); p != "" {
		t.errorf("", "the name %s", p)
	}
	nm := Name{Name: n, LB: LBSpillover}
	progsOK := true
	for _, k := range sortedKeys(vals) {
		v := vals[k]
		switch {
		case k == keyProg:
			nm.Progs, progsOK = list(t, k, v, true, program)
		case k == keyArgs:
			nm.Args, _ = list(t, k, v, false, anyString)
			nm.Auto = true
		case k == keyLB:
			if s, ok := optionString(t, "", &lbPolicy, k, v); ok {
				nm.LB = s
			}
		case k == keyEncryption:
			nm.Encryption, _ = encryptions.check(t, k, v)
		case k == keyCipher:
			nm.Cipher, _ = ciphers.check(t, k, v)
		case k == keyKEX:
			nm.KEX, _ = kexes.check(t, k, v)
		case k == keyCert:
			nm.Cert, _ = program(t, k, v)
		case k == keyKey:
			nm.Key, _ = program(t, k, v)
		case k == keyRequireCert:
			nm.RequireCert, _ = boolean(t, k, v)
		case k == keyMaxFlows:
			nm.MaxFlows, _ = intOption(t, &maxFlows, k, v)
		case k == keyUser:
			nm.User, _ = name(t, k, v)
		case k == keyGroup:
			nm.Group, _ = name(t, k, v)
		case slices.Contains(laterNameKeys, k):
			t.errorf(k, "is not supported yet")
		default:
			t.unknownKey(k, v, nameKeys, "the keys of a name are "+strings.Join(nameKeys, ", "))
		}
	}
	pairKeys(t, nm.Cert, nm.Key)
	if nm.Auto && progsOK && len(nm.Progs) == 0 {
		t.errorf(keyArgs, "is set, but there is no prog to start with it")
	}
	for _, k := range []string{keyUser, keyGroup} {
		if _, set := vals[k]; set && progsOK && len(nm.Progs) == 0 {
			t.errorf(k, "is set, but there is no prog whose processes it would allow")
		}
	}
	return nm
}

// unknownKey reports k as unknown: with the nearest known key if one is
// close enough to be a typo, else with the list of keys (say).
func (t *table) unknownKey(k string, v any, known []string, say string) {
	msg := "unknown key"
	if near := nearest(k, known); len(near) > 0 {
		msg += "; did you mean " + strings.Join(near, " or ") + "?"
	} else {
		msg += "; " + say
	}
	if _, ok := v.(map[string]any); ok && t.name != "" {
		// [name.a.b] is the name "a" with a table "b": a name with a
		// dot in it needs quotes.
		dotted := t.name + "." + k
		msg += fmt.Sprintf(" (if %s is one name, quote it: %s)", tomlString(dotted), header(t.group, dotted))
	}
	t.errorf(tomlKey(k), "%s", msg)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
