package config

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const file = "/etc/ouroboros/irmd.conf"

// parseAll parses doc with every IPCP type, enrol and conn turned on, to
// check how the tables this release refuses are read.
func parseAll(doc string) (*Config, error) {
	all := func(string) bool { return true }
	return parse(&checker{file: file, supported: all, enrol: true, later: true}, []byte(doc))
}

// problems splits a joined error into its *Error parts.
func problems(t *testing.T, err error) []*Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]*Error, len(errs))
	for i, e := range errs {
		if !errors.As(e, &out[i]) {
			t.Fatalf("error %q is a %T, not an *Error", e, e)
		}
	}
	return out
}

// defaults are the Options of a bootstrapped IPCP of each type with no
// option set, as docs/config.md documents them.
var defaults = map[string]map[string]string{
	TypeLocal:     {"hash": "SHA3_256"},
	TypeEthLLC:    {"hash": "SHA3_256", "dev": "eth0", "silence": "15"},
	TypeEthDIX:    {"hash": "SHA3_256", "dev": "eth0", "ethertype": "0xA000", "silence": "15"},
	TypeUDP4:      {"ip": "0.0.0.0", "port": "3435", "keepalive": "5", "silence": "15"},
	TypeUDP6:      {"ip": "::", "port": "3435", "keepalive": "5", "silence": "15"},
	TypeBroadcast: {},
	TypeUnicast: {
		"addr": "4", "eid": "8", "ttl": "60", "addr_auth": "flat",
		"routing": "link_state", "congestion": "mb-ecn", "directory": "DHT",
		"hash": "SHA3_256", "dht_alpha": "3", "dht_k": "8",
		"dht_t_expire": "86400", "dht_t_refresh": "900", "dht_t_replicate": "900",
		"ls_t_recalc": "4", "ls_t_update": "15", "ls_t_timeo": "60", "ls_t_dead": "1000",
	},
}

// required are the keys a bootstrapping IPCP of each type must have, with
// the values defaults assumes.
var required = map[string]string{
	TypeEthLLC: `dev = "eth0"`,
	TypeEthDIX: `dev = "eth0"`,
	TypeUDP4:   `ip = "0.0.0.0"`,
	TypeUDP6:   `ip = "::"`,
}

// bootstrapped returns the table [typ.x] bootstrapping layer L, with its
// required keys and the lines given.
func bootstrapped(typ string, lines ...string) string {
	doc := "[" + typ + ".x]\nbootstrap = \"L\"\n"
	if r := required[typ]; r != "" {
		doc += r + "\n"
	}
	return doc + strings.Join(lines, "\n") + "\n"
}

// with returns typ's default Options with kv (key, value, ...) set.
func with(typ string, kv ...string) map[string]string {
	m := maps.Clone(defaults[typ])
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestOptionsAcceptValidValues(t *testing.T) {
	tests := []struct {
		typ  string
		line string
		want map[string]string
	}{
		{TypeLocal, ``, with(TypeLocal)},
		{TypeLocal, `hash = "SHA3_224"`, with(TypeLocal, "hash", "SHA3_224")},
		{TypeLocal, `hash = "SHA3_256"`, with(TypeLocal, "hash", "SHA3_256")},
		{TypeLocal, `hash = "SHA3_384"`, with(TypeLocal, "hash", "SHA3_384")},
		{TypeLocal, `hash = "SHA3_512"`, with(TypeLocal, "hash", "SHA3_512")},
		{TypeLocal, `hash = "sha3_384"`, with(TypeLocal, "hash", "SHA3_384")},

		{TypeEthLLC, ``, with(TypeEthLLC)},
		{TypeEthLLC, `hash = "SHA3_512"`, with(TypeEthLLC, "hash", "SHA3_512")},

		{TypeEthDIX, ``, with(TypeEthDIX)},
		{TypeEthDIX, `ethertype = 0xA007`, with(TypeEthDIX, "ethertype", "0xA007")},
		{TypeEthDIX, `ethertype = "0xa007"`, with(TypeEthDIX, "ethertype", "0xA007")},
		{TypeEthDIX, `ethertype = "0XA007"`, with(TypeEthDIX, "ethertype", "0xA007")},
		{TypeEthDIX, `ethertype = 1536`, with(TypeEthDIX, "ethertype", "0x0600")},
		{TypeEthDIX, `ethertype = 0xFFFE`, with(TypeEthDIX, "ethertype", "0xFFFE")},
		{TypeEthDIX, `hash = "SHA3_224"`, with(TypeEthDIX, "hash", "SHA3_224")},

		{TypeUDP4, ``, with(TypeUDP4)},
		{TypeUDP4, `port = 1`, with(TypeUDP4, "port", "1")},
		{TypeUDP4, `port = 65535`, with(TypeUDP4, "port", "65535")},
		{TypeUDP4, `dns = "192.0.2.53"`, with(TypeUDP4, "dns", "192.0.2.53")},
		{TypeUDP4, `keepalive = 1`, with(TypeUDP4, "keepalive", "1")},
		{TypeUDP4, `keepalive = 3600`, with(TypeUDP4, "keepalive", "3600")},
		{TypeUDP4, `silence = 3`, with(TypeUDP4, "silence", "3")},
		{TypeEthDIX, `silence = 60`, with(TypeEthDIX, "silence", "60")},
		{TypeUDP4, `peers = { office = "office.example.com" }`, with(TypeUDP4, "peer.office", "office.example.com:3435")},
		{TypeUDP4, `peers = { lab = "192.0.2.10:9000", Lab = "host." }`, with(TypeUDP4, "peer.lab", "192.0.2.10:9000", "peer.Lab", "host.:3435")},
		{TypeUDP4, `peers = { "a.b" = "[192.0.2.1]:7" }`, with(TypeUDP4, "peer.a.b", "192.0.2.1:7")},
		{TypeUDP4, `peers = {}`, with(TypeUDP4)},
		{TypeUDP4, "[udp4.x.peers]\noffice = \"office.example.com\"\nlab = \"192.0.2.10:9000\"",
			with(TypeUDP4, "peer.office", "office.example.com:3435", "peer.lab", "192.0.2.10:9000")},
		{TypeUDP4, "port = 9000\npeers = { a = \"h\", b = \"192.0.2.1\", c = \"h:1\" }",
			with(TypeUDP4, "port", "9000", "peer.a", "h:9000", "peer.b", "192.0.2.1:9000", "peer.c", "h:1")},

		{TypeUDP6, ``, with(TypeUDP6)},
		{TypeUDP6, `dns = "2001:db8::53"`, with(TypeUDP6, "dns", "2001:db8::53")},
		{TypeUDP6, `peers = { b = "[2001:DB8::2]:9000" }`, with(TypeUDP6, "peer.b", "[2001:db8::2]:9000")},
		{TypeUDP6, `peers = { b = "2001:db8::2" }`, with(TypeUDP6, "peer.b", "[2001:db8::2]:3435")},
		{TypeUDP6, `peers = { b = "[2001:db8::2]" }`, with(TypeUDP6, "peer.b", "[2001:db8::2]:3435")},
		{TypeUDP6, `peers = { c = "host6.example:1" }`, with(TypeUDP6, "peer.c", "host6.example:1")},
		{TypeUDP6, "peers.d = \"fe80::1%eth0\"\nport = 7", with(TypeUDP6, "port", "7", "peer.d", "[fe80::1%eth0]:7")},

		{TypeBroadcast, ``, with(TypeBroadcast)},

		{TypeUnicast, ``, with(TypeUnicast)},
		{TypeUnicast, `addr_size = 4`, with(TypeUnicast)},
		{TypeUnicast, `addr_size = 8`, with(TypeUnicast, "addr", "8")},
		{TypeUnicast, `eid_size = 8`, with(TypeUnicast)},
		{TypeUnicast, `max_ttl = 1`, with(TypeUnicast, "ttl", "1")},
		{TypeUnicast, `max_ttl = 255`, with(TypeUnicast, "ttl", "255")},
		{TypeUnicast, `addr_auth = "flat"`, with(TypeUnicast)},
		{TypeUnicast, `addr-auth = "flat"`, with(TypeUnicast)},
		{TypeUnicast, `addr_auth = "FLAT"`, with(TypeUnicast)},
		{TypeUnicast, `routing = "link_state"`, with(TypeUnicast)},
		{TypeUnicast, `routing = "link-state"`, with(TypeUnicast)},
		{TypeUnicast, `routing = "lfa"`, with(TypeUnicast, "routing", "lfa")},
		{TypeUnicast, `routing = "ecmp"`, with(TypeUnicast, "routing", "ecmp")},
		{TypeUnicast, `congestion = "none"`, with(TypeUnicast, "congestion", "none")},
		{TypeUnicast, `congestion = "mb-ecn"`, with(TypeUnicast)},
		{TypeUnicast, `directory = "dht"`, with(TypeUnicast)},
		{TypeUnicast, `directory = "DHT"`, with(TypeUnicast)},
		{TypeUnicast, `hash = "SHA3_512"`, with(TypeUnicast, "hash", "SHA3_512")},
		{TypeUnicast, `hash = "sha3_256"`, with(TypeUnicast)},
		{TypeUnicast, `dht_alpha = 1`, with(TypeUnicast, "dht_alpha", "1")},
		{TypeUnicast, `dht_alpha = 10`, with(TypeUnicast, "dht_alpha", "10")},
		{TypeUnicast, `dht_k = 1`, with(TypeUnicast, "dht_k", "1")},
		{TypeUnicast, `dht_k = 20`, with(TypeUnicast, "dht_k", "20")},
		{TypeUnicast, `dht_t_expire = 10`, with(TypeUnicast, "dht_t_expire", "10")},
		{TypeUnicast, `dht_t_refresh = 3`, with(TypeUnicast, "dht_t_refresh", "3")},
		{TypeUnicast, `dht_t_refresh = 3600`, with(TypeUnicast, "dht_t_refresh", "3600")},
		{TypeUnicast, `dht_t_replicate = 3600`, with(TypeUnicast, "dht_t_replicate", "3600")},
		{TypeUnicast, `ls_t_recalc = 1`, with(TypeUnicast, "ls_t_recalc", "1")},
		{TypeUnicast, `ls_t_update = 30`, with(TypeUnicast, "ls_t_update", "30")},
		{TypeUnicast, `ls_t_timeo = 3600`, with(TypeUnicast, "ls_t_timeo", "3600")},
		{TypeUnicast, "ls_t_update = 1000\nls_t_timeo = 1001", with(TypeUnicast, "ls_t_update", "1000", "ls_t_timeo", "1001")},
		{TypeUnicast, `ls_t_dead = 100`, with(TypeUnicast, "ls_t_dead", "100")},
		{TypeUnicast, `ls_t_dead = 60000`, with(TypeUnicast, "ls_t_dead", "60000")},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.line, func(t *testing.T) {
			cfg, err := parseAll(bootstrapped(tt.typ, tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.IPCPs) != 1 {
				t.Fatalf("got %d IPCPs, want 1", len(cfg.IPCPs))
			}
			p := cfg.IPCPs[0]
			if p.Name != "x" || p.Type != tt.typ || p.Bootstrap != "L" {
				t.Errorf("got %s %s bootstrap %q", p.Type, p.Name, p.Bootstrap)
			}
			if !reflect.DeepEqual(p.Options, tt.want) {
				t.Errorf("Options:\n got %v\nwant %v", p.Options, tt.want)
			}
		})
	}
}

func TestUDPWildcardsAndZones(t *testing.T) {
	tests := []struct{ typ, ip, want string }{
		{TypeUDP4, "0.0.0.0", "0.0.0.0"},
		{TypeUDP4, "192.0.2.1", "192.0.2.1"},
		{TypeUDP6, "::", "::"},
		{TypeUDP6, "2001:DB8:0:0::1", "2001:db8::1"},
		{TypeUDP6, "fe80::1%eth0", "fe80::1%eth0"},
	}
	for _, tt := range tests {
		cfg, err := parseAll("[" + tt.typ + ".x]\nbootstrap = \"L\"\nip = \"" + tt.ip + "\"\n")
		if err != nil {
			t.Errorf("%s ip %s: %v", tt.typ, tt.ip, err)
			continue
		}
		if got := cfg.IPCPs[0].Options["ip"]; got != tt.want {
			t.Errorf("%s ip %s: got %q, want %q", tt.typ, tt.ip, got, tt.want)
		}
	}
}

func TestCommonKeys(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want IPCP
	}{{
		"created only",
		"[local.a]\n",
		IPCP{Name: "a", Type: TypeLocal, Options: map[string]string{}},
	}, {
		"bootstrap and reg",
		"[local.a]\nbootstrap = \"L\"\nreg = [\"oping\", \"Oping\"]\n",
		IPCP{Name: "a", Type: TypeLocal, Bootstrap: "L", Reg: []string{"oping", "Oping"}, Options: with(TypeLocal)},
	}, {
		"empty reg",
		"[local.a]\nbootstrap = \"L\"\nreg = []\n",
		IPCP{Name: "a", Type: TypeLocal, Bootstrap: "L", Options: with(TypeLocal)},
	}, {
		"autobind broadcast",
		"[broadcast.b]\nbootstrap = \"bc\"\nautobind = true\n",
		IPCP{Name: "b", Type: TypeBroadcast, Bootstrap: "bc", Autobind: true, Options: map[string]string{}},
	}, {
		"autobind false unicast",
		"[unicast.u]\nbootstrap = \"net\"\nautobind = false\n",
		IPCP{Name: "u", Type: TypeUnicast, Bootstrap: "net", Options: with(TypeUnicast)},
	}, {
		"enrol broadcast",
		"[broadcast.b]\nenrol = \"bc1\"\nautobind = true\nreg = [\"x\"]\n",
		IPCP{Name: "b", Type: TypeBroadcast, Enrol: "bc1", Autobind: true, Reg: []string{"x"}, Options: map[string]string{}},
	}, {
		"enrol and conn unicast",
		"[unicast.u]\nenrol = \"lan1\"\nconn = [\"lan1\", \"lan3\"]\n",
		IPCP{Name: "u", Type: TypeUnicast, Enrol: "lan1", Conn: []string{"lan1", "lan3"}, Options: map[string]string{}},
	}, {
		"bootstrap and conn unicast",
		"[unicast.u]\nbootstrap = \"net\"\nautobind = true\nconn = [\"lan2\"]\nls_t_dead = 500\n",
		IPCP{Name: "u", Type: TypeUnicast, Bootstrap: "net", Autobind: true, Conn: []string{"lan2"},
			Options: with(TypeUnicast, "ls_t_dead", "500")},
	}, {
		"authenticated bootstrap",
		"[unicast.u]\nbootstrap = \"net\"\nca = \"/etc/o/ca.crt\"\ncert = \"/etc/o/u.crt\"\nkey = \"/etc/o/u.key\"\n",
		IPCP{Name: "u", Type: TypeUnicast, Bootstrap: "net", CA: []string{"/etc/o/ca.crt"},
			Cert: "/etc/o/u.crt", Key: "/etc/o/u.key", Options: with(TypeUnicast)},
	}, {
		"authenticated enrol",
		"[unicast.u]\nenrol = \"net\"\nca = [\"/etc/o/ca1.crt\", \"/etc/o/ca2.crt\"]\ncert = \"/etc/o/u.crt\"\nkey = \"/etc/o/u.key\"\n",
		IPCP{Name: "u", Type: TypeUnicast, Enrol: "net", CA: []string{"/etc/o/ca1.crt", "/etc/o/ca2.crt"},
			Cert: "/etc/o/u.crt", Key: "/etc/o/u.key", Options: map[string]string{}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseAll(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.IPCPs, []IPCP{tt.want}) {
				t.Errorf("got  %+v\nwant %+v", cfg.IPCPs, []IPCP{tt.want})
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		doc  string
		want Name
	}{
		{"[name.a]\n", Name{Name: "a", LB: LBSpillover}},
		{"[name.a]\nprog = [\"/usr/bin/oping\", \"/opt/o7s/bin/oecho\"]\n",
			Name{Name: "a", Progs: []string{"/usr/bin/oping", "/opt/o7s/bin/oecho"}, LB: LBSpillover}},
		{"[name.a]\nprog = [\"/usr/bin/oping\"]\nargs = [\"--listen\", \"-v\", \"-v\", \"two words\"]\n",
			Name{Name: "a", Progs: []string{"/usr/bin/oping"}, Args: []string{"--listen", "-v", "-v", "two words"}, Auto: true, LB: LBSpillover}},
		{"[name.a]\nprog = [\"/usr/bin/oping\"]\nargs = []\n",
			Name{Name: "a", Progs: []string{"/usr/bin/oping"}, Auto: true, LB: LBSpillover}},
		{"[name.a]\nlb = \"round-robin\"\n", Name{Name: "a", LB: LBRoundRobin}},
		{"[name.a]\nlb = \"spillover\"\n", Name{Name: "a", LB: LBSpillover}},
		{"[name.a]\nlb = \"spill\"\n", Name{Name: "a", LB: LBSpillover}},
		{"[name.a]\nlb = \"rr\"\n", Name{Name: "a", LB: LBRoundRobin}}, // irmd's alias, one list of policies
		{"[name.\"printer.office.ouro\"]\n", Name{Name: "printer.office.ouro", LB: LBSpillover}},
		{"name.\"a.b\".lb = \"spill\"\n", Name{Name: "a.b", LB: LBSpillover}},
		{"[name.'*.ouro']\n", Name{Name: "*.ouro", LB: LBSpillover}},
		{"[name.\"ünïcødé\"]\n", Name{Name: "ünïcødé", LB: LBSpillover}},
		{"[name.a]\nencryption = \"off\"\n", Name{Name: "a", LB: LBSpillover, Encryption: EncryptionOff}},
		{"[name.a]\ncert = \"/etc/o/a.crt\"\nkey = \"/etc/o/a.key\"\n", Name{Name: "a", LB: LBSpillover, Cert: "/etc/o/a.crt", Key: "/etc/o/a.key"}},
		{"[name.a]\ncipher = \"ChaCha20-Poly1305\"\nkex = \"x25519-mlkem768\"\n",
			Name{Name: "a", LB: LBSpillover, Cipher: "chacha20-poly1305", KEX: "x25519-mlkem768"}},
	}
	for _, tt := range tests {
		cfg, err := Parse(file, []byte(tt.doc))
		if err != nil {
			t.Errorf("%q: %v", tt.doc, err)
			continue
		}
		if !reflect.DeepEqual(cfg.Names, []Name{tt.want}) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.doc, cfg.Names, []Name{tt.want})
		}
	}
}

func TestLogLevel(t *testing.T) {
	for _, level := range []string{"debug", "info", "warn", "error"} {
		cfg, err := Parse(file, []byte("[irmd]\nlog_level = \""+level+"\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LogLevel != level {
			t.Errorf("got %q, want %q", cfg.LogLevel, level)
		}
	}
	cfg, err := Parse(file, []byte("[irmd]\n"))
	if err != nil || cfg.LogLevel != "" {
		t.Errorf("empty [irmd]: %q, %v", cfg.LogLevel, err)
	}
}

// TestLimits: the [irmd] limits on arriving flows and a name's max_flows
// are read as numbers; those not set are absent.
func TestLimits(t *testing.T) {
	doc := "[irmd]\nmax_flows_per_source = 10\nkex_rate = 100\n[name.srv]\nmax_flows = 5\n"
	cfg, err := Parse(file, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"max_flows_per_source": 10, "kex_rate": 100}
	if !reflect.DeepEqual(cfg.Limits, want) {
		t.Errorf("limits %v, want %v", cfg.Limits, want)
	}
	if len(cfg.Names) != 1 || cfg.Names[0].MaxFlows != 5 {
		t.Errorf("names %+v: want srv with max_flows 5", cfg.Names)
	}
}

// TestLocalLimits: [irmd]'s management group and limits on local
// processes are read, checked against the schema's ranges.
func TestLocalLimits(t *testing.T) {
	cfg, err := Parse(file, []byte("[irmd]\ngroup = \"ouroboros\"\nmax_flows_per_uid = 64\nhello_timeout = 2000\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"max_flows_per_uid": 64, "hello_timeout": 2000}
	if cfg.Group != "ouroboros" || !reflect.DeepEqual(cfg.Limits, want) {
		t.Errorf("group %q, limits %v; want ouroboros, %v", cfg.Group, cfg.Limits, want)
	}
	_, err = Parse(file, []byte("[irmd]\nmax_conns_per_uid = 0\nhello_timeout = \"3000\"\n"))
	for _, s := range []string{"[irmd] max_conns_per_uid: 0 ", "[irmd] hello_timeout: ", "write numbers without quotes"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v: want it to mention %q", err, s)
		}
	}
}

// TestNameUserGroup: a name's user and group are read, and need a prog.
func TestNameUserGroup(t *testing.T) {
	cfg, err := Parse(file, []byte("[name.a]\nprog = [\"/usr/bin/a\"]\nuser = \"alice\"\ngroup = \"staff\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.Names[0]; n.User != "alice" || n.Group != "staff" {
		t.Errorf("user %q, group %q; want alice, staff", n.User, n.Group)
	}
	_, err = Parse(file, []byte("[name.a]\nuser = \"alice\"\n"))
	if err == nil || !strings.Contains(err.Error(), "[name.a] user: is set, but there is no prog") {
		t.Errorf("user without prog: %v", err)
	}
}

// TestRevoked: fingerprints are read in any case, with or without colons,
// and kept as irm cert show prints them.
func TestRevoked(t *testing.T) {
	colons := strings.Repeat("AB:", 31) + "CD"
	doc := "[irmd]\nrevoked = [\"" + colons + "\", \"" + strings.Repeat("ef", 32) + "\"]\n"
	cfg, err := Parse(file, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{colons, strings.Repeat("EF:", 31) + "EF"}
	if !reflect.DeepEqual(cfg.Revoked, want) {
		t.Errorf("revoked %q, want %q", cfg.Revoked, want)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n\n"} {
		cfg, err := Parse(file, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		want := &Config{File: file}
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("got %+v, want %+v", cfg, want)
		}
	}
}

// TestCasePreserved checks that names and IPCP names that differ only in
// case are distinct, and keep their case everywhere they appear.
func TestCasePreserved(t *testing.T) {
	doc := `
[name.Printer]
prog = ["/usr/bin/Printer"]
lb = "round-robin"

[name.printer]

[name."Office.Printer"]

[local.MyLocal]
bootstrap = "MyLayer"
reg = ["Printer", "printer"]

[local.mylocal]
bootstrap = "mylayer"
`
	cfg, err := Parse(file, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: file,
		IPCPs: []IPCP{
			{Name: "MyLocal", Type: TypeLocal, Bootstrap: "MyLayer", Reg: []string{"Printer", "printer"}, Options: with(TypeLocal)},
			{Name: "mylocal", Type: TypeLocal, Bootstrap: "mylayer", Options: with(TypeLocal)},
		},
		Names: []Name{
			{Name: "Office.Printer", LB: LBSpillover},
			{Name: "Printer", Progs: []string{"/usr/bin/Printer"}, LB: LBRoundRobin},
			{Name: "printer", LB: LBSpillover},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

// TestKeysAreCaseSensitive checks that keys, unlike with viper, keep their
// case: Bootstrap is not bootstrap, and the error says so.
func TestKeysAreCaseSensitive(t *testing.T) {
	_, err := Parse(file, []byte("[local.a]\nBootstrap = \"L\"\n"))
	want := file + ": [local.a] Bootstrap: unknown key; did you mean bootstrap?"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestOrder(t *testing.T) {
	doc := `
[unicast.z]
[unicast.a]
[broadcast.b]
[udp6.c]
[udp4.d]
[eth-dix.e]
[eth-llc.f]
[local.g]
[local.B]
[name.b]
[name.B]
[name.a]
`
	cfg, err := parseAll(doc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.IPCPs {
		got = append(got, p.Type+"."+p.Name)
	}
	for _, n := range cfg.Names {
		got = append(got, n.Name)
	}
	want := []string{
		"local.B", "local.g", "eth-llc.f", "eth-dix.e", "udp4.d", "udp6.c",
		"broadcast.b", "unicast.a", "unicast.z", "B", "a", "b",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// TestBadInput checks that each mistake is reported once, naming the file,
// the table and the key.
// idPair is an IPCP's certificate and key, for tests of its other keys.
const idPair = "cert = \"/etc/o/x.crt\"\nkey = \"/etc/o/x.key\"\n"

func TestBadInput(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		where string // "[table] key", "[table]" or "key"
		msg   string // a part of the message
	}{
		// The top level and [irmd].
		{"unknown table", "[foo]\n", "[foo]", "unknown table; the tables are [irmd], [name.NAME] and [TYPE.NAME]"},
		{"udp table", "[udp.x]\n", "[udp]", "unknown table; did you mean [udp4] or [udp6]?"},
		{"typo table", "[nmae.x]\n", "[nmae]", "did you mean [name]?"},
		{"top key", "foo = 1\n", "foo", "unknown key; the top level of the file holds only tables"},
		{"top log_level", "log_level = \"info\"\n", "log_level", "is an [irmd] key"},
		{"top bootstrap", "bootstrap = \"L\"\n", "bootstrap", "is an IPCP key"},
		{"irmd not table", "irmd = 1\n", "irmd", "1 is not a table"},
		{"irmd unknown key", "[irmd]\nlevel = 1\n", "[irmd] level", "unknown key; the keys of [irmd] are log_level, ca, cert, key, revoked, group, max_flows_per_source, kex_rate, kex_rate_per_source, max_conns_per_uid, max_flows_per_uid, max_flows_per_process, hello_timeout"},
		{"irmd kex_rate zero", "[irmd]\nkex_rate = 0\n", "[irmd] kex_rate", "is not key exchanges a second (1-1048576)"},
		{"irmd max flows quoted", "[irmd]\nmax_flows_per_source = \"10\"\n", "[irmd] max_flows_per_source", "write numbers without quotes"},
		{"name max_flows negative", "[name.srv]\nmax_flows = -1\n", "[name.srv] max_flows", "is not a number of flows (0-1048576)"},
		{"irmd revoked short", "[irmd]\nrevoked = [\"AB:CD\"]\n", "[irmd] revoked[0]", "want 64 hex digits"},
		{"irmd revoked not a list", "[irmd]\nrevoked = \"AB\"\n", "[irmd] revoked", "is not a list of strings"},
		{"irmd revoked twice", "[irmd]\nrevoked = [\"" + strings.Repeat("ab", 32) + "\", \"" + strings.Repeat("AB", 32) + "\"]\n", "[irmd] revoked[1]", "is listed twice"},
		{"irmd cert alone", "[irmd]\ncert = \"/etc/o/h.crt\"\n", "[irmd] cert", "is set without key"},
		{"irmd ca relative", "[irmd]\nca = [\"ca.crt\"]\n", "[irmd] ca[0]", "is not an absolute path"},
		{"name key alone", "[name.a]\nkey = \"/etc/o/a.key\"\n", "[name.a] key", "is set without cert"},
		{"require_cert type", "[name.a]\nrequire_cert = \"yes\"\n", "[name.a] require_cert", "is not"},
		{"require_cert without ca", "[name.a]\nrequire_cert = true\n", "[name.a] require_cert", "needs ca in [irmd]"},
		{"log level", "[irmd]\nlog_level = \"verbose\"\n", "[irmd] log_level", `"verbose" is not one of debug, info, warn, error`},
		{"log level case", "[irmd]\nlog_level = \"Info\"\n", "[irmd] log_level", `did you mean "info"?`},
		{"log level table", "[irmd]\nlog_level = { a = 1 }\n", "[irmd] log_level", "a table is not a string"},
		{"log level type", "[irmd]\nlog_level = 1\n", "[irmd] log_level", "1 is not a string"},
		{"group not table", "local = 1\n", "local", "1 is not a table; declare each as [local.NAME]"},
		{"member not table", "[local]\nbootstrap = \"L\"\n", "[local] bootstrap", `"L" is not a table; declare each as [local.NAME]`},
		{"array of tables", "[[local.a]]\n", "[local] a", "is an array of tables, [[local.a]]; write [local.a]"},
		{"names not table", "name = [\"a\"]\n", "name", "a list is not a table"},

		// Names.
		{"encryption", "[name.a]\nencryption = \"none\"\n", "[name.a] encryption", `"none" is not one of required, off`},
		{"cipher", "[name.a]\ncipher = \"aes-128-gcm\"\n", "[name.a] cipher", `"aes-128-gcm" is not one of aes-256-gcm, chacha20-poly1305`},
		{"kex", "[name.a]\nkex = \"p256\"\n", "[name.a] kex", `"p256" is not one of x25519, x25519-mlkem768`},
		{"prog not list", "[name.a]\nprog = \"/bin/x\"\n", "[name.a] prog", `"/bin/x" is not a list of strings; write prog = ["/bin/x"]`},
		{"prog relative", "[name.a]\nprog = [\"/bin/x\", \"bin/x\"]\n", "[name.a] prog[1]", `"bin/x" is not an absolute path`},
		{"prog not string", "[name.a]\nprog = [1]\n", "[name.a] prog[0]", "1 is not a string"},
		{"prog long", "[name.a]\nprog = [\"/" + strings.Repeat("p", 4095) + "\"]\n", "[name.a] prog[0]", "is longer than 4095 bytes"},
		{"prog twice", "[name.a]\nprog = [\"/bin/x\", \"/bin/x\"]\n", "[name.a] prog[1]", `"/bin/x" is listed twice`},
		{"prog NUL", "[name.a]\nprog = [\"/bin/\\u0000\"]\n", "[name.a] prog[0]", "contains a NUL byte"},
		{"args without prog", "[name.a]\nargs = [\"-l\"]\n", "[name.a] args", "there is no prog to start"},
		{"args empty prog", "[name.a]\nprog = []\nargs = [\"-l\"]\n", "[name.a] args", "there is no prog to start"},
		{"args not list", "[name.a]\nprog = [\"/bin/x\"]\nargs = \"-l\"\n", "[name.a] args", `"-l" is not a list of strings; write args = ["-l"]`},
		{"args not strings", "[name.a]\nprog = [\"/bin/x\"]\nargs = [1]\n", "[name.a] args[0]", "1 is not a string"},
		{"lb", "[name.a]\nlb = \"random\"\n", "[name.a] lb", `"random" is not one of round-robin, spillover`},
		{"lb type", "[name.a]\nlb = true\n", "[name.a] lb", "true is not a string"},
		{"name key typo", "[name.a]\nprogs = []\n", "[name.a] progs", "unknown key; did you mean prog?"},
		{"name key unknown", "[name.a]\nfoo = 1\n", "[name.a] foo", "unknown key; the keys of a name are prog, args, lb"},
		{"security later", "[name.a]\nserver_crt_file = \"/x\"\n", "[name.a] server_crt_file", "is not supported yet"},
		{"dotted name", "[name.a.b]\n", "[name.a] b", `(if "a.b" is one name, quote it: [name."a.b"])`},
		{"empty name", "[name.\"\"]\n", `[name.""]`, "the name is empty"},
		{"name space", "[name.\"a b\"]\n", `[name."a b"]`, "the name contains white space"},
		{"name control", "[name.\"a\\u0007\"]\n", `[name."a\u0007"]`, "the name contains a control character"},
		{"name quote", "[name.'a\"\\']\nx = 1\n", `[name."a\"\\"] x`, "unknown key"},
		{"name newline", "[name.\"a\\nb\\tc\"]\n", `[name."a\nb\tc"]`, "the name contains a control character"},
		{"name long", "[name." + strings.Repeat("n", 256) + "]\n", "[name." + strings.Repeat("n", 256) + "]", "the name is longer than 255 bytes"},

		// Keys common to IPCPs.
		{"bootstrap type", "[local.a]\nbootstrap = 1\n", "[local.a] bootstrap", "1 is not a string"},
		{"bootstrap empty", "[local.a]\nbootstrap = \"\"\n", "[local.a] bootstrap", `"" is empty`},
		{"bootstrap and enrol", "[unicast.a]\nbootstrap = \"L\"\nenrol = \"b\"\n", "[unicast.a] enrol", "bootstrap is set too"},
		{"enrol local", "[local.a]\nenrol = \"b\"\n", "[local.a] enrol", `local IPCPs do not enrol; use bootstrap = "LAYER"`},
		{"enrol udp4", "[udp4.a]\nenrol = \"b\"\n", "[udp4.a] enrol", "udp4 IPCPs do not enrol"},
		{"autobind local", "[local.a]\nbootstrap = \"L\"\nautobind = true\n", "[local.a] autobind", "only unicast and broadcast IPCPs autobind"},
		{"autobind type", "[unicast.a]\nbootstrap = \"L\"\nautobind = \"true\"\n", "[unicast.a] autobind", `"true" is not a boolean (true or false); write it without quotes`},
		{"autobind alone", "[broadcast.a]\nautobind = true\n", "[broadcast.a] autobind", "needs bootstrap or enrol"},
		{"reg not list", "[local.a]\nbootstrap = \"L\"\nreg = \"x\"\n", "[local.a] reg", `"x" is not a list of strings; write reg = ["x"]`},
		{"reg twice", "[local.a]\nbootstrap = \"L\"\nreg = [\"x\", \"y\", \"x\"]\n", "[local.a] reg[2]", `"x" is listed twice`},
		{"reg bad name", "[local.a]\nbootstrap = \"L\"\nreg = [\"x y\"]\n", "[local.a] reg[0]", `"x y" contains white space`},
		{"reg alone", "[local.a]\nreg = [\"x\"]\n", "[local.a] reg", "needs bootstrap or enrol"},
		{"conn broadcast", "[broadcast.a]\nenrol = \"b\"\nconn = [\"b\"]\n", "[broadcast.a] conn", "only unicast IPCPs connect"},
		{"conn alone", "[unicast.a]\nconn = [\"b\"]\n", "[unicast.a] conn", "needs bootstrap or enrol: an IPCP connects to its neighbours once it is in a layer"},
		{"conn twice", "[unicast.a]\nenrol = \"b\"\nconn = [\"b\", \"b\"]\n", "[unicast.a] conn[1]", `"b" is listed twice`},
		{"conn string", "[unicast.a]\nenrol = \"b\"\nconn = \"b\"\n", "[unicast.a] conn", `"b" is not a list of strings; write conn = ["b"]`},
		{"enrol empty", "[unicast.a]\nenrol = \"\"\n", "[unicast.a] enrol", `"" is empty`},
		{"enrol number", "[unicast.a]\nenrol = 3\n", "[unicast.a] enrol", "3 is not a string; write it in quotes"},
		{"conn bad name", "[unicast.a]\nenrol = \"b\"\nconn = [\"\"]\n", "[unicast.a] conn[0]", `"" is empty`},
		{"option alone", "[eth-llc.a]\ndev = \"eth0\"\n", "[eth-llc.a] dev", "is a bootstrap option, but bootstrap is not set"},
		{"option enrol", "[unicast.a]\nenrol = \"b\"\nmax_ttl = 9\n", "[unicast.a] max_ttl", "is a bootstrap option; an enrolling IPCP takes it from its layer"},
		{"ipcp name", "[local.\" a\"]\n", `[local." a"]`, "the IPCP name contains white space"},
		{"ipcp name twice", "[local.a]\n[udp4.a]\n", "[udp4.a]", "[local.a] has the same name; IPCP names are unique"},
		{"layer twice", "[local.a]\nbootstrap = \"L\"\n[local.b]\nbootstrap = \"L\"\n", "[local.b] bootstrap", `[local.a] bootstraps layer "L" too`},
		{"key typo", "[local.a]\nbootstrp = \"L\"\n", "[local.a] bootstrp", "unknown key; did you mean bootstrap?"},
		{"key unknown", "[local.a]\nfoo = 1\n", "[local.a] foo", "unknown key; the keys of local IPCPs are bootstrap, reg, hash"},
		{"key of other type", "[local.a]\nbootstrap = \"L\"\ndev = \"eth0\"\n", "[local.a] dev", "is not a key of local IPCPs, only of eth-llc, eth-dix"},
		{"key of unicast", "[broadcast.a]\nbootstrap = \"L\"\nhash = \"SHA3_256\"\n", "[broadcast.a] hash", "is not a key of broadcast IPCPs, only of local, eth-llc, eth-dix, unicast"},
		{"dotted ipcp", "[local.a.b]\n", "[local.a] b", `quote it: [local."a.b"]`},

		// hash, on every type that has one.
		{"hash", bootstrapped(TypeLocal, `hash = "SHA3-256"`), "[local.x] hash", `"SHA3-256" is not one of SHA3_224, SHA3_256, SHA3_384, SHA3_512`},
		{"hash type", bootstrapped(TypeLocal, `hash = 256`), "[local.x] hash", "256 is not a string"},
		{"hash udp", bootstrapped(TypeUDP4, `hash = "SHA3_256"`), "[udp4.x] hash", "is not a key of udp4 IPCPs, only of local, eth-llc, eth-dix, unicast"},
		{"hash eth", bootstrapped(TypeEthLLC, `hash = "MD5"`), "[eth-llc.x] hash", `"MD5" is not one of`},

		// eth-llc and eth-dix.
		{"dev missing llc", "[eth-llc.x]\nbootstrap = \"L\"\n", "[eth-llc.x] dev", "is missing; eth-llc IPCPs need it to bootstrap"},
		{"dev missing dix", "[eth-dix.x]\nbootstrap = \"L\"\n", "[eth-dix.x] dev", "is missing; eth-dix IPCPs need it to bootstrap"},
		{"dev empty", "[eth-llc.x]\nbootstrap = \"L\"\ndev = \"\"\n", "[eth-llc.x] dev", `"" is not a network interface name`},
		{"dev slash", "[eth-llc.x]\nbootstrap = \"L\"\ndev = \"a/b\"\n", "[eth-llc.x] dev", "is not a network interface name"},
		{"dev long", "[eth-dix.x]\nbootstrap = \"L\"\ndev = \"sixteen-bytes-xx\"\n", "[eth-dix.x] dev", "(1-15 ASCII characters"},
		{"dev unicode", "[eth-dix.x]\nbootstrap = \"L\"\ndev = \"éth0\"\n", "[eth-dix.x] dev", "is not a network interface name"},
		{"dev dot", "[eth-dix.x]\nbootstrap = \"L\"\ndev = \"..\"\n", "[eth-dix.x] dev", "is not a network interface name"},
		{"dev type", "[eth-dix.x]\nbootstrap = \"L\"\ndev = 0\n", "[eth-dix.x] dev", "0 is not a string"},
		{"ethertype low", bootstrapped(TypeEthDIX, `ethertype = 0x05FF`), "[eth-dix.x] ethertype", "1535 is not an Ethernet type (0x0600-0xFFFE"},
		{"ethertype high", bootstrapped(TypeEthDIX, `ethertype = 0xFFFF`), "[eth-dix.x] ethertype", "65535 is not an Ethernet type"},
		{"ethertype huge", bootstrapped(TypeEthDIX, `ethertype = "0x1A000"`), "[eth-dix.x] ethertype", `"0x1A000" is not an Ethernet type`},
		{"ethertype no 0x", bootstrapped(TypeEthDIX, `ethertype = "A000"`), "[eth-dix.x] ethertype", `"A000" is not an Ethernet type`},
		{"ethertype hex", bootstrapped(TypeEthDIX, `ethertype = "0xZZ"`), "[eth-dix.x] ethertype", `"0xZZ" is not an Ethernet type`},
		{"ethertype float", bootstrapped(TypeEthDIX, `ethertype = 1.5`), "[eth-dix.x] ethertype", "1.5 is not an Ethernet type"},
		{"ethertype bool", bootstrapped(TypeEthDIX, `ethertype = true`), "[eth-dix.x] ethertype", "true is not an Ethernet type"},
		// The eth-dix IPCP refuses the types of protocols a host runs;
		// the file is checked by the same rule, so it says so at --check.
		{"ethertype ipv4", bootstrapped(TypeEthDIX, `ethertype = 0x0800`), "[eth-dix.x] ethertype", "2048 is IPv4's Ethernet type; choose an unused one"},
		{"ethertype on llc", bootstrapped(TypeEthLLC, `ethertype = 0xA000`), "[eth-llc.x] ethertype", "is not a key of eth-llc IPCPs, only of eth-dix"},

		// udp4 and udp6.
		{"ip missing", "[udp4.x]\nbootstrap = \"L\"\n", "[udp4.x] ip", "is missing; udp4 IPCPs need it to bootstrap"},
		{"ip missing 6", "[udp6.x]\nbootstrap = \"L\"\n", "[udp6.x] ip", "is missing; udp6 IPCPs need it to bootstrap"},
		{"ip v6 in udp4", "[udp4.x]\nbootstrap = \"L\"\nip = \"::1\"\n", "[udp4.x] ip", `"::1" is not an IPv4 address; use a udp6 IPCP for IPv6`},
		{"ip v4 in udp6", "[udp6.x]\nbootstrap = \"L\"\nip = \"192.0.2.1\"\n", "[udp6.x] ip", "is not an IPv6 address; use a udp4 IPCP for IPv4"},
		{"ip mapped", "[udp6.x]\nbootstrap = \"L\"\nip = \"::ffff:192.0.2.1\"\n", "[udp6.x] ip", "is an IPv4-mapped address"},
		{"ip bad", "[udp4.x]\nbootstrap = \"L\"\nip = \"192.0.2.256\"\n", "[udp4.x] ip", `"192.0.2.256" is not an IPv4 address`},
		{"ip octal", "[udp4.x]\nbootstrap = \"L\"\nip = \"010.0.0.1\"\n", "[udp4.x] ip", "is not an IPv4 address"},
		{"ip host", "[udp4.x]\nbootstrap = \"L\"\nip = \"localhost\"\n", "[udp4.x] ip", `"localhost" is not an IPv4 address`},
		{"ip multicast", "[udp4.x]\nbootstrap = \"L\"\nip = \"224.0.0.1\"\n", "[udp4.x] ip", "is a multicast address"},
		{"ip broadcast", "[udp4.x]\nbootstrap = \"L\"\nip = \"255.255.255.255\"\n", "[udp4.x] ip", "is the broadcast address"},
		{"ip multicast 6", "[udp6.x]\nbootstrap = \"L\"\nip = \"ff02::1\"\n", "[udp6.x] ip", "is a multicast address"},
		{"ip type", "[udp4.x]\nbootstrap = \"L\"\nip = 1\n", "[udp4.x] ip", "1 is not a string"},
		{"port word", bootstrapped(TypeUDP4, `port = "abc"`), "[udp4.x] port", `"abc" is not a port number (1-65535)`},
		{"port quoted", bootstrapped(TypeUDP4, `port = "3435"`), "[udp4.x] port", `"3435" is not a port number (1-65535); write numbers without quotes`},
		{"port zero", bootstrapped(TypeUDP4, `port = 0`), "[udp4.x] port", "0 is not a port number (1-65535)"},
		{"port high", bootstrapped(TypeUDP6, `port = 65536`), "[udp6.x] port", "65536 is not a port number (1-65535)"},
		{"port negative", bootstrapped(TypeUDP6, `port = -1`), "[udp6.x] port", "-1 is not a port number"},
		{"port float", bootstrapped(TypeUDP4, `port = 3435.0`), "[udp4.x] port", "3435 is not a port number"},
		{"dns wildcard", bootstrapped(TypeUDP4, `dns = "0.0.0.0"`), "[udp4.x] dns", `"0.0.0.0" is the wildcard address; name a host`},
		{"dns family", bootstrapped(TypeUDP4, `dns = "2001:db8::53"`), "[udp4.x] dns", "is not an IPv4 address"},
		{"dns family 6", bootstrapped(TypeUDP6, `dns = "192.0.2.53"`), "[udp6.x] dns", "is not an IPv6 address"},
		{"dns type", bootstrapped(TypeUDP4, `dns = 53`), "[udp4.x] dns", "53 is not a string"},
		{"dns name", bootstrapped(TypeUDP4, `dns = "ns.example"`), "[udp4.x] dns", `"ns.example" is not an IPv4 address`},
		{"keepalive zero", bootstrapped(TypeUDP4, `keepalive = 0`), "[udp4.x] keepalive", "0 is out of range (1-3600 seconds)"},
		{"keepalive high", bootstrapped(TypeUDP4, `keepalive = 3601`), "[udp4.x] keepalive", "3601 is out of range (1-3600 seconds)"},
		{"keepalive type", bootstrapped(TypeUDP4, `keepalive = "25s"`), "[udp4.x] keepalive", `"25s" is not a whole number (1-3600 seconds)`},
		{"peers not table", bootstrapped(TypeUDP4, `peers = "a"`), "[udp4.x] peers", `"a" is not a table of name = "host[:port]"`},
		{"peers list", bootstrapped(TypeUDP4, `peers = ["a"]`), "[udp4.x] peers", "a list is not a table"},
		{"peer port zero", bootstrapped(TypeUDP4, `peers = { a = "host:0" }`), "[udp4.x] peers.a", `"host:0" has a bad port "0" (1-65535)`},
		{"peer port word", bootstrapped(TypeUDP4, `peers = { a = "host:http" }`), "[udp4.x] peers.a", `has a bad port "http"`},
		{"peer port empty", bootstrapped(TypeUDP4, `peers = { a = "host:" }`), "[udp4.x] peers.a", `has a bad port ""`},
		{"peer v6 in udp4", bootstrapped(TypeUDP4, `peers = { a = "::1" }`), "[udp4.x] peers.a", `"::1" is not an IPv4 address`},
		{"peer v4 in udp6", bootstrapped(TypeUDP6, `peers = { a = "192.0.2.1" }`), "[udp6.x] peers.a", "is not an IPv6 address"},
		{"peer wildcard", bootstrapped(TypeUDP4, `peers = { a = "0.0.0.0:1" }`), "[udp4.x] peers.a", "is the wildcard address"},
		{"peer bad host", bootstrapped(TypeUDP4, `peers = { a = "bad_host!" }`), "[udp4.x] peers.a", `"bad_host!" is neither an IP address nor a host name`},
		{"peer long label", bootstrapped(TypeUDP4, `peers = { a = "`+strings.Repeat("l", 64)+`.example" }`), "[udp4.x] peers.a", "is neither an IP address nor a host name"},
		{"peer hyphen", bootstrapped(TypeUDP4, `peers = { a = "-a.example" }`), "[udp4.x] peers.a", "is neither an IP address nor a host name"},
		{"peer empty", bootstrapped(TypeUDP4, `peers = { a = "" }`), "[udp4.x] peers.a", `"" has no host`},
		{"peer no host", bootstrapped(TypeUDP4, `peers = { a = ":1" }`), "[udp4.x] peers.a", `":1" has no host`},
		{"peer bad v4", bootstrapped(TypeUDP4, `peers = { a = "1.2.3" }`), "[udp4.x] peers.a", "is not an IPv4 address"},
		{"peer bracket", bootstrapped(TypeUDP6, `peers = { a = "[::1" }`), "[udp6.x] peers.a", "has no closing ]"},
		{"peer after bracket", bootstrapped(TypeUDP6, `peers = { a = "[::1]x" }`), "[udp6.x] peers.a", "has text after ]"},
		{"peer type", bootstrapped(TypeUDP4, `peers = { a = 1 }`), "[udp4.x] peers.a", "1 is not a string"},
		{"peer name", bootstrapped(TypeUDP4, `peers = { "a b" = "h" }`), `[udp4.x] peers."a b"`, "the peer name contains white space"},

		// unicast.
		{"addr_size", bootstrapped(TypeUnicast, `addr_size = 2`), "[unicast.x] addr_size", "2 is not one of 4, 8"},
		{"addr_size quoted", bootstrapped(TypeUnicast, `addr_size = "4"`), "[unicast.x] addr_size", "write numbers without quotes"},
		{"eid_size", bootstrapped(TypeUnicast, `eid_size = 4`), "[unicast.x] eid_size", "4 is not 8"},
		{"max_ttl zero", bootstrapped(TypeUnicast, `max_ttl = 0`), "[unicast.x] max_ttl", "0 is out of range (1-255)"},
		{"max_ttl high", bootstrapped(TypeUnicast, `max_ttl = 256`), "[unicast.x] max_ttl", "256 is out of range (1-255)"},
		{"addr_auth", bootstrapped(TypeUnicast, `addr_auth = "random"`), "[unicast.x] addr_auth", `"random" is not flat`},
		{"addr-auth", bootstrapped(TypeUnicast, `addr-auth = "random"`), "[unicast.x] addr-auth", `"random" is not flat`},
		{"addr_auth twice", bootstrapped(TypeUnicast, "addr_auth = \"flat\"\naddr-auth = \"flat\""), "[unicast.x] addr_auth", "addr-auth is set too; they are the same key"},
		{"routing", bootstrapped(TypeUnicast, `routing = "ospf"`), "[unicast.x] routing", `"ospf" is not one of link_state, lfa, ecmp`},
		{"congestion lfa", bootstrapped(TypeUnicast, `congestion = "lfa"`), "[unicast.x] congestion", `"lfa" is not one of none, mb-ecn`},
		{"congestion", bootstrapped(TypeUnicast, `congestion = "cubic"`), "[unicast.x] congestion", "is not one of none, mb-ecn"},
		{"directory", bootstrapped(TypeUnicast, `directory = "chord"`), "[unicast.x] directory", `"chord" is not DHT`},
		{"dht_alpha zero", bootstrapped(TypeUnicast, `dht_alpha = 0`), "[unicast.x] dht_alpha", "0 is out of range (1-10)"},
		{"dht_alpha high", bootstrapped(TypeUnicast, `dht_alpha = 11`), "[unicast.x] dht_alpha", "11 is out of range (1-10)"},
		{"dht_k", bootstrapped(TypeUnicast, `dht_k = 21`), "[unicast.x] dht_k", "21 is out of range (1-20)"},
		{"dht_t_expire", bootstrapped(TypeUnicast, `dht_t_expire = 9`), "[unicast.x] dht_t_expire", "9 is out of range (10-86400 seconds)"},
		{"dht_t_refresh", bootstrapped(TypeUnicast, `dht_t_refresh = 3601`), "[unicast.x] dht_t_refresh", "3601 is out of range (3-3600 seconds)"},
		{"dht_t_replicate", bootstrapped(TypeUnicast, `dht_t_replicate = 2`), "[unicast.x] dht_t_replicate", "2 is out of range (3-3600 seconds)"},
		{"dht_t_expiry", bootstrapped(TypeUnicast, `dht_t_expiry = 3600`), "[unicast.x] dht_t_expiry", "unknown key; did you mean dht_t_expire?"},
		{"ls_t_recalc", bootstrapped(TypeUnicast, `ls_t_recalc = 0`), "[unicast.x] ls_t_recalc", "0 is out of range (1-3600 seconds)"},
		{"ls_t_update", bootstrapped(TypeUnicast, `ls_t_update = -5`), "[unicast.x] ls_t_update", "-5 is out of range"},
		{"ls_t_timeo", bootstrapped(TypeUnicast, `ls_t_timeo = 3601`), "[unicast.x] ls_t_timeo", "3601 is out of range"},
		{"ls_t_timeo float", bootstrapped(TypeUnicast, `ls_t_timeo = 1e2`), "[unicast.x] ls_t_timeo", "100 is not a whole number (1-3600 seconds)"},
		{"ls_t_timeo date", bootstrapped(TypeUnicast, `ls_t_timeo = 1979-05-27`), "[unicast.x] ls_t_timeo", "1979-05-27 is not a whole number"},
		{"ls timers", bootstrapped(TypeUnicast, `ls_t_timeo = 10`), "[unicast.x] ls_t_timeo", "ls_t_timeo (10 seconds) must be longer than ls_t_update (15 seconds)"},
		{"ls timers update", bootstrapped(TypeUnicast, `ls_t_update = 60`), "[unicast.x] ls_t_update", "ls_t_timeo (60 seconds, the default) must be longer than ls_t_update (60 seconds)"},
		{"ls_t_dead low", bootstrapped(TypeUnicast, `ls_t_dead = 99`), "[unicast.x] ls_t_dead", "99 is out of range (100-60000 milliseconds)"},
		{"ls_t_dead high", bootstrapped(TypeUnicast, `ls_t_dead = 60001`), "[unicast.x] ls_t_dead", "60001 is out of range (100-60000 milliseconds)"},
		{"ls_t_dead quoted", bootstrapped(TypeUnicast, `ls_t_dead = "500"`), "[unicast.x] ls_t_dead", `"500" is not a whole number (100-60000 milliseconds); write numbers without quotes`},
		{"ls_t_dead enrol", "[unicast.x]\nenrol = \"net\"\nls_t_dead = 500\n", "[unicast.x] ls_t_dead", "is a bootstrap option; an enrolling IPCP takes it from its layer"},
		{"ls_t_dead local", bootstrapped(TypeLocal, `ls_t_dead = 500`), "[local.x] ls_t_dead", "is not a key of local IPCPs, only of unicast"},

		// The identity of an IPCP in an authenticated layer.
		{"ipcp cert alone", bootstrapped(TypeUnicast, "ca = \"/etc/o/ca.crt\"\ncert = \"/etc/o/x.crt\""), "[unicast.x] cert", "is set without key, the certificate's private key file"},
		{"ipcp key alone", "[unicast.x]\nenrol = \"net\"\nkey = \"/etc/o/x.key\"\n", "[unicast.x] key", "is set without cert, the certificate file"},
		{"ipcp cert relative", bootstrapped(TypeUnicast, "ca = \"/etc/o/ca.crt\"\ncert = \"x.crt\"\nkey = \"/etc/o/x.key\""), "[unicast.x] cert", `"x.crt" is not an absolute path`},
		{"ipcp key type", bootstrapped(TypeUnicast, "ca = \"/etc/o/ca.crt\"\ncert = \"/etc/o/x.crt\"\nkey = 1"), "[unicast.x] key", "1 is not a string"},
		{"ipcp ca relative", bootstrapped(TypeUnicast, idPair+`ca = "ca.crt"`), "[unicast.x] ca", `"ca.crt" is not an absolute path`},
		{"ipcp ca list relative", bootstrapped(TypeUnicast, idPair+`ca = ["/etc/o/ca.crt", "ca.crt"]`), "[unicast.x] ca[1]", `"ca.crt" is not an absolute path`},
		{"ipcp ca twice", bootstrapped(TypeUnicast, idPair+`ca = ["/etc/o/ca.crt", "/etc/o/ca.crt"]`), "[unicast.x] ca[1]", `"/etc/o/ca.crt" is listed twice`},
		{"ipcp ca type", bootstrapped(TypeUnicast, idPair+`ca = 1`), "[unicast.x] ca", "1 is not a path or a list of paths"},
		{"ipcp ca alone", "[unicast.x]\nca = \"/etc/o/ca.crt\"\n", "[unicast.x] ca", "needs bootstrap or enrol: it authenticates the IPCP to its layer"},
		{"ipcp ca udp4", bootstrapped(TypeUDP4, `ca = "/etc/o/ca.crt"`), "[udp4.x] ca", "is not a key of udp4 IPCPs, only of unicast"},
		{"ipcp cert local", bootstrapped(TypeLocal, `cert = "/etc/o/x.crt"`), "[local.x] cert", "is not a key of local IPCPs, only of unicast"},
		{"ipcp key broadcast", bootstrapped(TypeBroadcast, `key = "/etc/o/x.key"`), "[broadcast.x] key", "is not a key of broadcast IPCPs, only of unicast"},
		{"ipcp ca without cert", bootstrapped(TypeUnicast, `ca = "/etc/o/ca.crt"`), "[unicast.x] ca", "needs cert and key"},
		{"ipcp cert without ca", bootstrapped(TypeUnicast, idPair), "[unicast.x] cert", "needs ca"},
		{"ipcp cert typo", bootstrapped(TypeUnicast, `crt = "/etc/o/x.crt"`), "[unicast.x] crt", "unknown key; did you mean"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("two tests named %q", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseAll(tt.doc)
			if err == nil {
				t.Fatalf("no error; got %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("got a Config with the error")
			}
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(ps), err)
			}
			want := file + ": " + tt.where + ": "
			if got := err.Error(); !strings.HasPrefix(got, want) || !strings.Contains(got[len(want):], tt.msg) {
				t.Errorf("got  %s\nwant %s...%s...", got, want, tt.msg)
			}
			if ps[0].File != file || ps[0].Line != 0 {
				t.Errorf("File %q, Line %d", ps[0].File, ps[0].Line)
			}
		})
	}
}

func TestSyntaxErrorHasLine(t *testing.T) {
	tests := []struct {
		doc  string
		want string
	}{
		{"[local.a]\nbootstrap = \"L\"\n[local.b\n", file + ":3:"},
		{"\n\n\n[local.a]\nhash = SHA3_256\n", file + ":5:8: "},
		{"[local.a]\nbootstrap = \"x\"\nbootstrap = \"y\"\n", file + ":3:1: "},
		{"[local.a]\n[local.a]\n", file + ":2:"},
		{"a = 99999999999999999999\n", file + ":1:5: "},
		{"a = \"\xff\"\n", file + ":1:"},
	}
	for _, tt := range tests {
		_, err := Parse(file, []byte(tt.doc))
		ps := problems(t, err)
		if len(ps) != 1 || ps[0].Line == 0 || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %s...", tt.doc, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "toml: ") {
			t.Errorf("%q: %v repeats the library's prefix", tt.doc, err)
		}
	}
}

// TestUnsupported checks that this release validates every IPCP type in
// full and then refuses the ones it cannot run; and that, with enrolment
// turned off, enrol and conn are refused.
func TestUnsupported(t *testing.T) {
	noEnrol := func(doc string) (*Config, error) {
		return parse(&checker{file: file, supported: Supported, enrol: false}, []byte(doc))
	}
	tests := []struct {
		name  string
		parse func(string) (*Config, error)
		doc   string
		want  []string
	}{
		{"local", nil, bootstrapped(TypeLocal), nil},
		{"eth-llc", nil, bootstrapped(TypeEthLLC), nil},
		{"eth-dix", nil, bootstrapped(TypeEthDIX), nil},
		{"udp4", nil, "[udp4.wan]\nbootstrap = \"L\"\nip = \"192.0.2.1\"\n", nil},
		{"udp6", nil, bootstrapped(TypeUDP6), nil},
		{"unicast", nil, bootstrapped(TypeUnicast), nil},
		{"unicast enrol", nil, "[unicast.u]\nenrol = \"lan1\"\nconn = [\"lan1\"]\nautobind = true\n", nil},
		{"broadcast", nil, bootstrapped(TypeBroadcast), []string{"[broadcast.x]: IPCP type broadcast is not supported yet"}},
		{"validated first", nil, "[broadcast.x]\nbootstrap = \"L\"\nconn = [\"y\"]\n", []string{
			"[broadcast.x] conn: only unicast IPCPs connect to neighbours",
			"[broadcast.x]: IPCP type broadcast is not supported yet",
		}},
		{"enrol off", noEnrol, "[unicast.u]\nenrol = \"lan1\"\nconn = [\"lan1\"]\n", []string{
			"[unicast.u] enrol: enrolment is not supported yet",
			"[unicast.u] conn: connecting to neighbours is not supported yet",
		}},
		{"enrol off broadcast", noEnrol, "[broadcast.b]\nenrol = \"bc\"\n", []string{
			"[broadcast.b] enrol: enrolment is not supported yet",
			"[broadcast.b]: IPCP type broadcast is not supported yet",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.parse
			if p == nil {
				p = func(doc string) (*Config, error) { return Parse(file, []byte(doc)) }
			}
			_, err := p(tt.doc)
			var got []string
			for _, p := range problems(t, err) {
				got = append(got, strings.TrimPrefix(p.Error(), file+": "))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	for _, typ := range []string{TypeLocal, TypeEthLLC, TypeEthDIX, TypeUDP4, TypeUDP6, TypeBroadcast, TypeUnicast} {
		if got, want := Supported(typ), typ != TypeBroadcast; got != want {
			t.Errorf("Supported(%q) = %v, want %v", typ, got, want)
		}
	}
}

// TestAllErrorsInOrder checks that one run reports every problem, in the
// documented order, and the same order every time.
func TestAllErrorsInOrder(t *testing.T) {
	doc := `
zzz = 1
[name.b]
lb = "x"
prog = "y"
[name.a]
foo = 1
[unicast.u]
bootstrap = "L"
max_ttl = 0
dht_k = 0
[broadcast.b]
[local.l]
bootstrap = 7
[irmd]
log_level = "loud"
[local.m]
bootstrap = "M"
reg = "oops"
[aaa]
`
	want := []string{
		"[aaa]: unknown table",
		"zzz: unknown key",
		"[irmd] log_level: ",
		"[local.l] bootstrap: 7 is not a string",
		"[local.m] reg: ",
		"[broadcast.b]: IPCP type broadcast is not supported yet",
		"[unicast.u] dht_k: ",
		"[unicast.u] max_ttl: ",
		"[name.a] foo: ",
		"[name.b] lb: ",
		"[name.b] prog: ",
	}
	var first string
	for i := 0; i < 20; i++ {
		_, err := Parse(file, []byte(doc))
		ps := problems(t, err)
		if i == 0 {
			first = err.Error()
			if len(ps) != len(want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(ps), len(want), err)
			}
			for j, p := range ps {
				if !strings.HasPrefix(p.Error(), file+": "+want[j]) {
					t.Errorf("error %d: got %s, want %s...", j, p, want[j])
				}
			}
		} else if err.Error() != first {
			t.Fatalf("run %d reported differently:\n%v\nfirst:\n%s", i, err, first)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Table: "[udp4.wan]", Key: "port", Msg: "m"}, "f: [udp4.wan] port: m"},
		{Error{File: "f", Table: "[udp4.wan]", Msg: "m"}, "f: [udp4.wan]: m"},
		{Error{File: "f", Key: "zzz", Msg: "m"}, "f: zzz: m"},
		{Error{File: "f", Line: 3, Col: 7, Msg: "m"}, "f:3:7: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestShowTruncates(t *testing.T) {
	long := "x" + strings.Repeat("é", 100) // the cut falls inside an é
	_, err := Parse(file, []byte("[irmd]\nlog_level = \""+long+"\"\n"))
	want := file + `: [irmd] log_level: "x` + strings.Repeat("é", 31) + `"... is not one of`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got  %v\nwant %s...", err, want)
	}
}

func TestNearest(t *testing.T) {
	keys := []string{"bootstrap", "enrol", "reg", "dht_t_expire", "dht_t_refresh"}
	tests := []struct {
		s    string
		want []string
	}{
		{"dht_t_expiry", []string{"dht_t_expire"}},
		{"BOOTSTRAP", []string{"bootstrap"}},
		{"enroll", []string{"enrol"}},
		{"regs", []string{"reg"}},
		{"x", nil},
		{"dht", nil},
	}
	for _, tt := range tests {
		if got := nearest(tt.s, keys); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("nearest(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "irmd.conf")
	if err := os.WriteFile(path, []byte("[local.a]\nbootstrap = \"L\"\n[broadcast.b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := path + ": [broadcast.b]: IPCP type broadcast is not supported yet"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

const example = "../../packaging/irmd.conf"

// TestExample loads the packaged example, so that it cannot rot.
func TestExample(t *testing.T) {
	cfg, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.IPCPs) == 0 || len(cfg.Names) == 0 {
		t.Errorf("the example configures %d IPCPs and %d names", len(cfg.IPCPs), len(cfg.Names))
	}
}

// TestExampleCommentedSettings enables every setting the example shows
// commented out ("#key = ...", no space after the '#') and checks the
// result too, with every IPCP type turned on, so the examples for later
// releases stay correct as well.
func TestExampleCommentedSettings(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enabled := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") && len(line) > 1 && line[1] != ' ' && line[1] != '#' {
			line = line[1:]
			enabled++
		}
		b.WriteString(line + "\n")
	}
	if enabled == 0 {
		t.Fatal("the example has no commented settings")
	}
	cfg, err := parseAll(b.String())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, p := range cfg.IPCPs {
		types[p.Type] = true
	}
	if len(types) != 7 {
		t.Errorf("the example shows IPCP types %v, want all 7", slices.Sorted(maps.Keys(types)))
	}
}

// FuzzParse checks that no input makes Parse panic, and that what it
// returns is either a Config or a list of *Error naming the file.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(example); err == nil {
		f.Add(data)
	}
	f.Add([]byte(bootstrapped(TypeUDP4, `peers = { a = "[::1]:1", b = "h:2" }`)))
	f.Add([]byte(bootstrapped(TypeUnicast, "ls_t_timeo = 10\naddr-auth = \"flat\"")))
	f.Add([]byte(bootstrapped(TypeUnicast, "ls_t_dead = 250\nautobind = true\nconn = [\"b\"]")))
	f.Add([]byte("[unicast.u]\nenrol = \"a\"\nautobind = true\nreg = [\"x\"]\nconn = [\"a\", \"c\"]\n"))
	f.Add([]byte(bootstrapped(TypeEthDIX, `ethertype = "0xA000"`)))
	f.Add([]byte("[name.\"a.b\"]\nprog = [\"/x\"]\nargs = [\"-l\"]\nlb = \"spill\"\n"))
	f.Add([]byte("[[local.a]]\n[irmd]\nlog_level = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.conf", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("got %v and %v", cfg, err)
		}
		for _, p := range problems(t, err) {
			if p.File != "fuzz.conf" || !strings.HasPrefix(p.Error(), "fuzz.conf") {
				t.Fatalf("error without the file: %v", p)
			}
		}
		if cfg != nil {
			for _, p := range cfg.IPCPs {
				if p.Options == nil || !Supported(p.Type) {
					t.Fatalf("bad IPCP %+v", p)
				}
			}
		}
		// With everything turned on, too.
		cfg, err = parseAll(string(data))
		if (cfg == nil) == (err == nil) {
			t.Fatalf("parseAll: got %v and %v", cfg, err)
		}
	})
}

func TestNameProblem(t *testing.T) {
	tests := []struct{ s, want string }{
		{"oping", ""},
		{"printer.office.ouro", ""},
		{"*.ouro", ""},
		{"", "is empty"},
		{"a\xffb", "is not valid UTF-8"},
		{"a\u00a0b", "contains white space"},
		{strings.Repeat("n", 255), ""},
		{strings.Repeat("n", 256), "is longer than 255 bytes"},
	}
	for _, tt := range tests {
		if got := nameProblem(tt.s); got != tt.want {
			t.Errorf("nameProblem(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// TestNotYetOptionsRefused: an option the IPCP refuses at bootstrap (udp's
// dns) is refused by the file's check too, so that a file that passes
// irmd --check starts.
func TestNotYetOptionsRefused(t *testing.T) {
	_, err := Parse(file, []byte("[udp4.u]\nbootstrap = \"wan\"\nip = \"127.0.0.1\"\ndns = \"127.0.0.53\"\n"))
	ps := problems(t, err)
	if len(ps) != 1 || ps[0].Key != "dns" || !strings.Contains(ps[0].Msg, "not supported yet") {
		t.Fatalf("got %v, want dns refused as not supported yet", err)
	}
}
