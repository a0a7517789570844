package schema

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// TestTables checks each type's table on its own terms: names unique,
// every default a value the option accepts, as written, and a required
// option without a default.
func TestTables(t *testing.T) {
	if got, want := strings.Join(Names(), " "), "local eth-llc eth-dix udp4 udp6 broadcast unicast"; got != want {
		t.Errorf("types %q, want lower layers first: %q", got, want)
	}
	for i, typ := range Types() {
		if Names()[i] != typ.Name || Rank(typ.Name) != i {
			t.Errorf("type %d is %s, named %s, ranked %d", i, typ.Name, Names()[i], Rank(typ.Name))
		}
		keys, names := map[string]bool{}, map[string]bool{}
		for _, o := range typ.Options {
			if keys[o.Key] || names[o.Name()] || o.Alias != "" && keys[o.Alias] {
				t.Errorf("%s: %s is in the table twice", typ.Name, o.Key)
			}
			keys[o.Key], names[o.Name()] = true, true
			if o.Alias != "" {
				keys[o.Alias] = true
			}
			if o.Help == "" || o.Arg == "" && !o.FileOnly {
				t.Errorf("%s %s: no help or no placeholder for irm's help", typ.Name, o.Key)
			}
			switch {
			case o.Required && o.Default != "":
				t.Errorf("%s %s: required, with a default", typ.Name, o.Key)
			case o.Default != "":
				if v, p := o.Check(typ.Name, o.Default); p != "" || v != o.Default {
					t.Errorf("%s %s: default %q reads as %q, %s", typ.Name, o.Key, o.Default, v, p)
				}
			}
		}
	}
	lb := LB()
	if v, p := lb.Check("", lb.Default); p != "" || v != LBSpillover {
		t.Errorf("lb default %q: %q %s", lb.Default, v, p)
	}
}

// TestParseDefaults checks that a type bootstrapped without options gets
// every default, and passes its own rules.
func TestParseDefaults(t *testing.T) {
	got, err := Lookup(Unicast).Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got["addr"] != "4" || got["ls_t_timeo"] != "60" || got["routing"] != RoutingLinkState || len(got) != len(Lookup(Unicast).Options) {
		t.Errorf("unicast defaults: %v", got)
	}
	got, err = Lookup(UDP6).Parse(map[string]string{"ip": "::", "port": "9000", "peer.a": "[2001:db8::1]", "peer.b": "h.example:7"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ip": "::", "port": "9000", "keepalive": "5", "silence": "15", "peer.a": "[2001:db8::1]:9000", "peer.b": "h.example:7"}
	if !maps.Equal(got, want) {
		t.Errorf("udp6: %v, want %v (a peer without a port gets the layer's)", got, want)
	}
}

// TestParseRefuses checks the errors Parse gives, which the IPCPs pass on
// to irm with their name in front.
func TestParseRefuses(t *testing.T) {
	for _, c := range []struct {
		typ  string
		opts map[string]string
		want string
	}{
		{UDP4, map[string]string{}, "missing ip: a udp4 IPCP needs it (the address to listen on"},
		{EthLLC, map[string]string{}, "missing dev: an eth-llc IPCP needs it"},
		{UDP4, map[string]string{"ip": "0.0.0.0", "keepalive": "3601"}, `bad keepalive: "3601" is out of range (1-3600 seconds)`},
		{UDP4, map[string]string{"ip": "0.0.0.0", "keepalive": "25s"}, `bad keepalive: "25s" is not a whole number (1-3600 seconds)`},
		{UDP4, map[string]string{"ip": "0.0.0.0", "port": "0"}, `bad port: "0" is not a port number (1-65535)`},
		{UDP4, map[string]string{"ip": "::"}, `bad ip: "::" is not an IPv4 address; use a udp6 IPCP for IPv6`},
		{UDP4, map[string]string{"ip": "0.0.0.0", "dns": "0.0.0.0"}, "is the wildcard address; name a host"},
		{UDP4, map[string]string{"ip": "0.0.0.0", "peer": "x"}, "option peer does not apply to a udp4 IPCP; it takes ip, port, dns, peer.NAME, keepalive, silence"},
		{UDP4, map[string]string{"ip": "0.0.0.0", "peer.a": "h:0"}, `bad peer.a: "h:0" has a bad port "0" (1-65535)`},
		{Unicast, map[string]string{"dht_k": "21"}, `bad dht_k: "21" is out of range (1-20)`},
		{Unicast, map[string]string{"routing": "LFA"}, `bad routing: "LFA" is not one of link_state, lfa, ecmp; did you mean "lfa"?`},
		{Unicast, map[string]string{"addr": "6"}, `bad addr: "6" is not one of 4, 8`},
		{Unicast, map[string]string{"ls_t_timeo": "10"}, "ls_t_timeo (10 seconds) must be longer than ls_t_update (15 seconds)"},
		{Unicast, map[string]string{"ls_t_update": "60"}, "ls_t_timeo (60 seconds, the default) must be longer"},
		{EthDIX, map[string]string{"dev": "e", "ethertype": "0x86dd"}, `bad ethertype: "0x86dd" is IPv6's Ethernet type`},
		{EthDIX, map[string]string{"dev": "e", "ethertype": "0o7000"}, "is not an Ethernet type"},
		{Broadcast, map[string]string{"hash": "SHA3_256"}, "option hash does not apply to a broadcast IPCP; it takes no options"},
	} {
		_, err := Lookup(c.typ).Parse(c.opts)
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want an *Error with %q", c.typ, c.opts, err, c.want)
		}
	}
}

// TestCheckCanonical checks the forms values reach the IPCP in.
func TestCheckCanonical(t *testing.T) {
	u := Lookup(Unicast)
	for _, c := range []struct {
		typ, opt, in, want string
	}{
		{Unicast, "hash", "sha3_512", "SHA3_512"},
		{Unicast, "directory", "dht", "DHT"},
		{Unicast, "routing", "link-state", RoutingLinkState},
		{EthDIX, "ethertype", "1536", "0x0600"},
		{EthDIX, "ethertype", "0xa007", "0xA007"},
		{UDP6, "ip", "2001:DB8::1", "2001:db8::1"},
		{UDP6, "peer", "2001:db8::2", "[2001:db8::2]"},
		{UDP4, "port", "007", "7"},
	} {
		o := Lookup(c.typ).Option(c.opt)
		if got, p := o.Check(c.typ, c.in); got != c.want || p != "" {
			t.Errorf("%s %s %q: %q %s, want %q", c.typ, c.opt, c.in, got, p, c.want)
		}
	}
	if v, p := u.Option("addr").Check(Unicast, "8"); v != "8" || p != "" {
		t.Errorf("addr 8: %q %s", v, p)
	}
	// Without a type, an address of either version passes.
	if _, p := Lookup(UDP4).Option("ip").Check("", "2001:db8::1"); p != "" {
		t.Errorf("ip without a type: %s", p)
	}
}

// TestHelpFits checks that irm's option lines fit a terminal and name
// every option irm takes.
func TestHelpFits(t *testing.T) {
	h := HelpOptions()
	for _, l := range strings.Split(h, "\n") {
		if len(l) > 79 {
			t.Errorf("help line longer than 79 columns: %q", l)
		}
	}
	for _, typ := range Types() {
		for _, f := range typ.Flags() {
			if !strings.Contains(h, " "+f+" ") {
				t.Errorf("help lacks %s", f)
			}
		}
	}
}

// FuzzCheckIdempotent checks that the canonical form of a value, which irm
// and irmd.conf hand on to the IPCP, is accepted again, unchanged: the
// IPCP checks the value a second time.
func FuzzCheckIdempotent(f *testing.F) {
	for _, s := range []string{"0xA000", "1536", "sha3_512", "link-state", "2001:DB8::1", "h.example", "[::1]:9", "007", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range Types() {
			for i := range typ.Options {
				o := &typ.Options[i]
				c, p := o.Check(typ.Name, s)
				if p != "" {
					continue
				}
				if again, p := o.Check(typ.Name, c); p != "" || again != c {
					t.Errorf("%s %s: %q reads as %q, which reads as %q, %s", typ.Name, o.Name(), s, c, again, p)
				}
			}
		}
	})
}
