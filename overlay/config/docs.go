package config

import (
	"fmt"
	"strings"
	"time"
)

// sections are the tables of a file in the order of the reference, with
// the heading each has there.
func sections() [][2]string {
	return [][2]string{
		{SectionTop, "Top level"},
		{SectionInterface, "`[interface]`"},
		{SectionPeer, "`[[peer]]` (one per peer; not from the environment)"},
		{SectionAccept, "`[accept]`"},
		{SectionDNS, "`[dns]` (the DNS bridge runs when the file has this table, an empty one too; `OVPN_DNS_*` apply only then; tun only)"},
		{SectionPublish, "`[[publish]]` (one per host behind this end that it names in the layer; not from the environment; tun only)"},
	}
}

// Reference writes the reference of the file's keys in Markdown, one table
// per section: what docs/ovpn.md holds between its ovpn-config markers.
func Reference() string {
	var b strings.Builder
	opts := Options()
	for i, s := range sections() {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s:\n\n", s[1])
		b.WriteString("| key | value | default | environment | meaning |\n|---|---|---|---|---|\n")
		for _, o := range opts {
			if o.Section != s[0] {
				continue
			}
			env := "—"
			if o.Env() != "" {
				env = "`" + o.Env() + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o.Key, o.Values(), o.DefaultText(), env, o.Help)
		}
	}
	return b.String()
}

// Values describes the values the option takes.
func (o *Option) Values() string {
	switch o.Kind {
	case KindWord:
		w := make([]string, len(o.Words))
		for i, x := range o.Words {
			w[i] = "`" + x + "`"
		}
		return orList(w)
	case KindInt:
		s := fmt.Sprintf("%d to %d", o.Lo, o.Hi)
		if o.Zero != "" {
			s = "0 (" + o.Zero + ") or " + s
		}
		return s
	case KindDuration:
		return fmt.Sprintf("duration, %s to %s", durString(time.Duration(o.Lo)), durString(time.Duration(o.Hi)))
	case KindName:
		return "an Ouroboros name"
	case KindBool:
		return "`true` or `false`"
	case KindDevice:
		return "interface name, at most 15 bytes"
	case KindAddrs:
		return "list of addresses with their prefix lengths, such as `\"10.77.0.1/24\"`"
	case KindPrefixes:
		return "list of prefixes, such as `\"10.2.0.0/24\"`"
	case KindGlobs:
		return "list of name patterns, such as `\"laptop.*\"`"
	case KindFingerprint:
		return "SHA-256 fingerprint, `AB:CD:…` (32 bytes)"
	case KindDir:
		return "absolute path"
	case KindAddrPorts:
		return "list of addresses, each with an optional port (53 if none), such as `\"10.77.0.1\"` or `\"[fd77::1]:5353\"`"
	case KindDomain:
		return "DNS name without the trailing dot: lower-case letters, digits, `-` and `.`"
	case KindHosts:
		return "an address or a list of them, such as `\"10.2.0.5\"` or `[\"10.2.0.5\", \"fd02::5\"]`"
	}
	return o.Kind.String()
}

// DefaultText describes the option's default, or says it is required.
func (o *Option) DefaultText() string {
	switch {
	case o.Required:
		return "required"
	case o.DefaultDoc != "":
		return o.DefaultDoc
	case o.Default != "":
		return "`" + o.Default + "`"
	case o.Kind.list():
		return "empty"
	}
	return "none"
}

// Keys writes the file's keys as plain text, one per line with its values
// and default, for the command's help (`ovpn help check`); the full
// reference is docs/ovpn.md's.
func Keys() string {
	var b strings.Builder
	for _, o := range Options() {
		def := o.DefaultText()
		if !o.Required {
			def = "default " + def
		}
		line := fmt.Sprintf("%s: %s; %s\n", o.Ref(), o.Values(), def)
		b.WriteString(strings.ReplaceAll(line, "`", ""))
	}
	return b.String()
}
