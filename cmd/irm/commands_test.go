package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"o7s.dev/ouroboros/stack/ctrl"
)

// withProgram puts an executable named name in a fresh directory, makes
// that directory $PATH and returns the program's path.
func withProgram(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	return p
}

func TestParseCommands(t *testing.T) {
	prog := withProgram(t, "oecho")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// rel is a path given relative to irm's working directory, as irmd
	// gets it.
	rel := func(p string) string { return filepath.Join(wd, p) }
	cases := []struct {
		args    string
		op      ctrl.Op
		req     any
		reply   printer
		timeout bool // the long (remote) timeout
	}{
		// ipcp create, destroy
		{"ipcp create name a type local", ctrl.OpIPCPCreate, ctrl.IPCPCreate{Name: "a", Type: "local"}, nil, false},
		{"i cr n a t eth-dix", ctrl.OpIPCPCreate, ctrl.IPCPCreate{Name: "a", Type: "eth-dix"}, nil, false},
		{"i cr t udp6 n a", ctrl.OpIPCPCreate, ctrl.IPCPCreate{Name: "a", Type: "udp6"}, nil, false},
		{"ipcp destroy name a", ctrl.OpIPCPDestroy, ctrl.IPCPRef{Name: "a"}, nil, false},
		{"i de n a", ctrl.OpIPCPDestroy, ctrl.IPCPRef{Name: "a"}, nil, false},

		// ipcp bootstrap, per type
		{"ipcp bootstrap name a layer l", ctrl.OpIPCPBootstrap, ctrl.IPCPBootstrap{Name: "a", Layer: "l"}, nil, false},
		{"i b n a l l t local", ctrl.OpIPCPBootstrap, ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "local"}, nil, false},
		{"i b n a l l t local h sha3_512", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "local", Options: map[string]string{"hash": "SHA3_512"}}, nil, false},
		{"i b n a l l t udp4 ip 192.0.2.1 p 3435 d 192.0.2.53", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "udp4",
				Options: map[string]string{"ip": "192.0.2.1", "port": "3435", "dns": "192.0.2.53"}}, nil, false},
		{"i b n a l l t udp6 i 2001:db8::1 port 65535", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "udp6",
				Options: map[string]string{"ip": "2001:db8::1", "port": "65535"}}, nil, false},
		{"i b n a l l t eth-llc d eth0 h SHA3_224", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "eth-llc",
				Options: map[string]string{"dev": "eth0", "hash": "SHA3_224"}}, nil, false},
		{"i b n a l l t eth-dix dev veth0 e 0xa000", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "eth-dix",
				Options: map[string]string{"dev": "veth0", "ethertype": "0xA000"}}, nil, false},
		{"i b n a l l t eth-dix dev veth0 ethertype 1536", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "eth-dix",
				Options: map[string]string{"dev": "veth0", "ethertype": "0x0600"}}, nil, false},
		{"i b n a l l t broadcast autobind", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "broadcast", Autobind: true}, nil, false},
		{"i b n a l l t unicast a addr_auth flat di dht h SHA3_384 r ecmp c mb-ecn addr 4 ei 8 tt 60 " +
			"dht_a 3 dht_k 8 dht_t_e 86400 dht_t_ref 900 dht_t_rep 900 ls_t_r 4 ls_t_u 15 ls_t_t 60 ls_t_d 250",
			ctrl.OpIPCPBootstrap, ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "unicast", Autobind: true,
				Options: map[string]string{"addr_auth": "flat", "directory": "DHT", "hash": "SHA3_384",
					"routing": "ecmp", "congestion": "mb-ecn", "addr": "4", "eid": "8", "ttl": "60",
					"dht_alpha": "3", "dht_k": "8", "dht_t_expire": "86400", "dht_t_refresh": "900",
					"dht_t_replicate": "900", "ls_t_recalc": "4", "ls_t_update": "15", "ls_t_timeo": "60",
					"ls_t_dead": "250"}},
			nil, false},
		{"ipcp bootstrap name a layer l type unicast addr 8 ls_t_dead 100", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "unicast", Options: map[string]string{"addr": "8", "ls_t_dead": "100"}}, nil, false},
		{"ipcp bootstrap name a layer l type unicast ls_t_dead 60000", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "unicast", Options: map[string]string{"ls_t_dead": "60000"}}, nil, false},
		// Without a type, options of any type pass; irmd knows the IPCP.
		{"i b n a l l port 7000 routing lfa", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Options: map[string]string{"port": "7000", "routing": "lfa"}}, nil, false},
		{"i b n a l l autobind", ctrl.OpIPCPBootstrap, ctrl.IPCPBootstrap{Name: "a", Layer: "l", Autobind: true}, nil, false},
		// A value that looks like a keyword is still a value.
		{"i b n type l layer t local", ctrl.OpIPCPBootstrap, ctrl.IPCPBootstrap{Name: "type", Layer: "layer", Type: "local"}, nil, false},

		// ipcp bootstrap, authenticated: the files go in Identity, with
		// absolute paths, never in Options.
		{"ipcp bootstrap name a layer l type unicast ca /etc/o/ca.crt", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "unicast",
				Identity: &ctrl.IPCPIdentity{CA: []string{"/etc/o/ca.crt"}}}, nil, false},
		{"i b n a l l t unicast ca /etc/o/ca.crt ca ca2.crt cert /etc/o/a.crt key ./k/../a.key autobind", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "unicast", Autobind: true,
				Identity: &ctrl.IPCPIdentity{CA: []string{"/etc/o/ca.crt", rel("ca2.crt")}, Cert: "/etc/o/a.crt", Key: rel("a.key")}}, nil, false},
		// "c" is still congestion, "ce" cert and "k" key, for a unicast IPCP.
		{"i b n a l l t unicast c none ce /a.crt k /a.key r lfa", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Type: "unicast",
				Options:  map[string]string{"congestion": "none", "routing": "lfa"},
				Identity: &ctrl.IPCPIdentity{Cert: "/a.crt", Key: "/a.key"}}, nil, false},
		// Without a type, irmd checks that the IPCP is a unicast one.
		{"i b n a l l cert /a.crt key /a.key", ctrl.OpIPCPBootstrap,
			ctrl.IPCPBootstrap{Name: "a", Layer: "l", Identity: &ctrl.IPCPIdentity{Cert: "/a.crt", Key: "/a.key"}}, nil, false},

		// ipcp enroll
		{"ipcp enroll name a layer net", ctrl.OpIPCPEnroll, ctrl.IPCPEnroll{Name: "a", Layer: "net", Dst: "net"}, nil, true},
		{"i e n a dst b.net", ctrl.OpIPCPEnroll, ctrl.IPCPEnroll{Name: "a", Dst: "b.net"}, nil, true},
		{"i e n a l net ds b t broadcast au", ctrl.OpIPCPEnroll,
			ctrl.IPCPEnroll{Name: "a", Layer: "net", Dst: "b", Type: "broadcast", Autobind: true}, nil, true},
		{"ipcp enroll name a layer net cert certs/a.crt key certs/a.key ca /etc/o/ca.crt", ctrl.OpIPCPEnroll,
			ctrl.IPCPEnroll{Name: "a", Layer: "net", Dst: "net",
				Identity: &ctrl.IPCPIdentity{CA: []string{"/etc/o/ca.crt"}, Cert: rel("certs/a.crt"), Key: rel("certs/a.key")}}, nil, true},
		{"i e n a d b t unicast ca /c1 ca /c2 k /a.key ce /a.crt", ctrl.OpIPCPEnroll,
			ctrl.IPCPEnroll{Name: "a", Dst: "b", Type: "unicast",
				Identity: &ctrl.IPCPIdentity{CA: []string{"/c1", "/c2"}, Cert: "/a.crt", Key: "/a.key"}}, nil, true},

		// ipcp connect, disconnect
		{"ipcp connect name a dst b", ctrl.OpIPCPConnect, ctrl.IPCPConnect{Name: "a", Dst: "b"}, new(connectReply), true},
		{"i conn n a d b c dt q raw", ctrl.OpIPCPConnect, ctrl.IPCPConnect{Name: "a", Dst: "b", Component: "dt", QoS: "raw"}, new(connectReply), true},
		{"i conn n a d b c mgmt q be", ctrl.OpIPCPConnect, ctrl.IPCPConnect{Name: "a", Dst: "b", Component: "mgmt", QoS: "best"}, new(connectReply), true},
		{"i conn n a d b q voice", ctrl.OpIPCPConnect, ctrl.IPCPConnect{Name: "a", Dst: "b", QoS: "voice"}, new(connectReply), true},
		{"ipcp connect name a dst b persist", ctrl.OpIPCPConnect, ctrl.IPCPConnect{Name: "a", Dst: "b", Persist: true}, new(connectReply), true},
		{"ipcp disconnect name a dst b", ctrl.OpIPCPDisconnect, ctrl.IPCPConnect{Name: "a", Dst: "b"}, nil, false},
		{"i di n a d b c mgmt", ctrl.OpIPCPDisconnect, ctrl.IPCPConnect{Name: "a", Dst: "b", Component: "mgmt"}, nil, false},

		// ipcp list
		{"ipcp list", ctrl.OpIPCPList, ctrl.IPCPFilter{}, new(ipcpList), false},
		{"i l n a l net t unicast", ctrl.OpIPCPList, ctrl.IPCPFilter{Name: "a", Layer: "net", Type: "unicast"}, new(ipcpList), false},

		// name
		{"name create srv", ctrl.OpNameCreate, ctrl.NameCreate{Name: "srv", LB: "round-robin"}, nil, false},
		{"n c srv lb spillover", ctrl.OpNameCreate, ctrl.NameCreate{Name: "srv", LB: "spillover"}, nil, false},
		{"n c srv l round-robin", ctrl.OpNameCreate, ctrl.NameCreate{Name: "srv", LB: "round-robin"}, nil, false},
		{"name destroy srv", ctrl.OpNameDestroy, ctrl.NameRef{Name: "srv"}, nil, false},
		{"name register srv layer l", ctrl.OpNameRegister, ctrl.NameRegister{Name: "srv", Layers: []string{"l"}}, nil, false},
		{"n r srv i a l x i b l *", ctrl.OpNameRegister,
			ctrl.NameRegister{Name: "srv", IPCPs: []string{"a", "b"}, Layers: []string{"x", "*"}}, nil, false},
		{"n u srv ipcp a", ctrl.OpNameUnregister, ctrl.NameRegister{Name: "srv", IPCPs: []string{"a"}}, nil, false},
		{"name list", ctrl.OpNameList, ctrl.NameFilter{}, new(nameList), false},
		{"n li oping", ctrl.OpNameList, ctrl.NameFilter{Prefix: "oping"}, new(nameList), false},

		// bind, unbind
		{"bind program oecho name e", ctrl.OpBindProgram, ctrl.BindProgram{Prog: prog, Name: "e"}, nil, false},
		{"b prog /opt/x/../bin/srv name e auto", ctrl.OpBindProgram, ctrl.BindProgram{Prog: "/opt/bin/srv", Name: "e", Auto: true}, nil, false},
		{"bind program oecho name e user alice group ouroboros", ctrl.OpBindProgram, ctrl.BindProgram{Prog: prog, Name: "e", User: "alice", Group: "ouroboros"}, nil, false},
		{"b prog oecho n e a -- -l --help -- x", ctrl.OpBindProgram,
			ctrl.BindProgram{Prog: prog, Name: "e", Auto: true, Args: []string{"-l", "--help", "--", "x"}}, nil, false},
		{"b prog oecho n e a --", ctrl.OpBindProgram, ctrl.BindProgram{Prog: prog, Name: "e", Auto: true}, nil, false},
		{"bind process 42 name e", ctrl.OpBindProcess, ctrl.BindProcess{PID: 42, Name: "e"}, nil, false},
		{"b proc 42 n e", ctrl.OpBindProcess, ctrl.BindProcess{PID: 42, Name: "e"}, nil, false},
		{"bind ipcp a name net", ctrl.OpBindIPCP, ctrl.BindIPCP{IPCP: "a", Name: "net"}, nil, false},
		{"unbind program oecho", ctrl.OpUnbindProgram, ctrl.BindProgram{Prog: prog}, nil, false},
		{"u prog /usr/bin/gone n e", ctrl.OpUnbindProgram, ctrl.BindProgram{Prog: "/usr/bin/gone", Name: "e"}, nil, false},
		{"unbind process 42 name e", ctrl.OpUnbindProcess, ctrl.BindProcess{PID: 42, Name: "e"}, nil, false},
		{"u i a n net", ctrl.OpUnbindIPCP, ctrl.BindIPCP{IPCP: "a", Name: "net"}, nil, false},

		// flow
		{"flow list", ctrl.OpFlowList, struct{}{}, new(flowList), false},
		{"f l", ctrl.OpFlowList, struct{}{}, new(flowList), false},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			cmd, err := parse(strings.Fields(c.args))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if cmd.text != "" {
				t.Fatalf("parse gave text, not a request:\n%s", cmd.text)
			}
			if cmd.op != c.op {
				t.Errorf("op = %q, want %q", cmd.op, c.op)
			}
			if !reflect.DeepEqual(cmd.req, c.req) {
				t.Errorf("req = %#v\nwant  %#v", cmd.req, c.req)
			}
			if !reflect.DeepEqual(cmd.reply, c.reply) {
				t.Errorf("reply = %T, want %T", cmd.reply, c.reply)
			}
			want := defaultTimeout
			if c.timeout {
				want = remoteTimeout
			}
			if cmd.timeout != want {
				t.Errorf("timeout = %v, want %v", cmd.timeout, want)
			}
			if !strings.HasPrefix(string(cmd.op), strings.ReplaceAll(cmd.path, " ", ".")) {
				t.Errorf("path %q does not fit op %q", cmd.path, cmd.op)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	withProgram(t, "oecho")
	cases := []struct {
		args string
		want string // in the message
	}{
		// command words
		{"frobnicate", `unknown command "frobnicate": want one of ipcp, name, bind, unbind, flow, cert, help`},
		{"ipcp d", `ambiguous command "d": could be destroy, disconnect`},
		{"ipcp c", `ambiguous command "c": could be create, connect`},
		{"bind pro", `ambiguous command "pro": could be program, process`},
		{"flow x", `unknown command "x"`},
		{"--version x", "--version takes no arguments"},

		// missing arguments and values
		{"ipcp create type local", "missing name N"},
		{"ipcp create name a", "missing type TYPE"},
		{"ipcp create name", "missing value after name"},
		{"ipcp create name  type local", "empty value for name"},
		{"ipcp destroy", "missing name N"},
		{"ipcp bootstrap name a", "missing layer L"},
		{"ipcp bootstrap layer l", "missing name N"},
		{"ipcp enroll name a", "missing layer L or dst D"},
		{"ipcp enroll layer l", "missing name N"},
		{"ipcp connect name a", "missing dst D"},
		{"ipcp disconnect dst b", "missing name N"},
		{"name create", "missing name N"},
		{"name destroy", "missing name N"},
		{"name destroy a b", `unexpected "b"`},
		{"name register srv", "missing ipcp I or layer L"},
		{"name unregister", "missing name N"},
		{"name register srv layer", "missing value after layer"},
		{"name register srv layer  ipcp a", "empty value for ipcp or layer"},
		{"name list a b", `unexpected "b"`},
		{"bind program", "missing program P"},
		{"bind program oecho", "missing name N"},
		{"bind process 42", "missing name N"},
		{"bind ipcp", "missing IPCP I"},
		{"bind ipcp a", "missing name N"},
		{"unbind process 42", "missing name N"},
		{"unbind ipcp a", "missing name N"},
		{"unbind program", "missing program P"},
		{"flow list all", `unexpected "all"`},

		// repeated keywords
		{"ipcp create name a name b type local", "name is given more than once"},
		{"ipcp bootstrap name a layer l type local type unicast", "type is given more than once"},

		// unknown keywords and types
		{"ipcp create name a type tcp", `bad type "tcp": want one of local, eth-llc, eth-dix, udp4, udp6, broadcast, unicast`},
		{"ipcp create name a kind local", `unknown keyword "kind"`},
		{"ipcp list type tcp", `bad type "tcp"`},
		{"ipcp bootstrap name a layer l type tcp", `bad type "tcp"`},
		{"ipcp enroll name a layer l type local", `bad type "local": want one of broadcast, unicast`},
		{"ipcp list name a colour red", `unknown keyword "colour"`},
		{"ipcp bootstrap name a layer l frob 1", `unknown keyword "frob"`},

		// options of the wrong type, autobind where it does not belong
		{"ipcp bootstrap name a layer l type local dev eth0", "option dev is for eth-llc, eth-dix IPCPs, not local (local takes only hash)"},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 hash SHA3_256", "option hash is for local, eth-llc, eth-dix, unicast IPCPs, not udp4"},
		{"ipcp bootstrap name a layer l type broadcast ttl 3", "not broadcast (broadcast takes no options)"},
		{"ipcp bootstrap name a layer l type eth-llc dev e ethertype 0xA000", "option ethertype is for eth-dix IPCPs, not eth-llc"},
		{"ipcp bootstrap name a layer l type unicast port 1", "option port is for udp4, udp6 IPCPs, not unicast"},
		{"ipcp bootstrap name a layer l type local d x", `unknown keyword "d"`},
		{"ipcp bootstrap name a layer l type local autobind", "autobind is only for unicast and broadcast IPCPs, not local"},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 autobind", "autobind is only for unicast and broadcast IPCPs, not udp4"},
		{"ipcp bootstrap name a layer l type unicast ad 4", `ambiguous keyword "ad": could be addr, addr_auth`},
		{"ipcp bootstrap name a layer l type unicast dht_t 4", `ambiguous keyword "dht_t": could be dht_t_expire, dht_t_refresh, dht_t_replicate`},

		// the identity of an authenticated layer
		{"ipcp bootstrap name a layer l type unicast cert /a.crt", "missing key FILE: cert needs the private key"},
		{"ipcp bootstrap name a layer l type unicast ca /ca.crt key /a.key", "missing cert FILE: key needs the certificate"},
		{"ipcp enroll name a layer l cert /a.crt", "missing key FILE"},
		{"ipcp enroll name a layer l key /a.key", "missing cert FILE"},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 ca /ca.crt",
			"ca is only for unicast IPCPs, not udp4: only unicast layers authenticate their members"},
		{"ipcp bootstrap name a layer l type eth-dix dev e cert /a.crt key /a.key", "cert is only for unicast IPCPs, not eth-dix"},
		{"ipcp bootstrap name a layer l type local key /a.key", "key is only for unicast IPCPs, not local"},
		{"ipcp bootstrap name a layer l type broadcast ca /ca.crt", "ca is only for unicast IPCPs, not broadcast"},
		{"ipcp enroll name a layer l type broadcast cert /a.crt key /a.key", "cert is only for unicast IPCPs, not broadcast"},
		{"ipcp bootstrap name a layer l type unicast cert /a.crt cert /b.crt key /a.key", "cert is given more than once"},
		{"ipcp enroll name a layer l key /a.key key /b.key cert /a.crt", "key is given more than once"},
		{"ipcp bootstrap name a layer l type unicast ca /ca.crt ca /x/../ca.crt", "ca /ca.crt is given twice"},
		{"ipcp bootstrap name a layer l type unicast ca  cert /a.crt key /a.key", "empty value for ca"},
		{"ipcp enroll name a layer l cert  key /a.key", "empty value for cert"},
		{"ipcp enroll name a layer l ca", "missing value after ca"},
		{"ipcp enroll name a layer l c /x", `ambiguous keyword "c": could be ca, cert`},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 c /x", `ambiguous keyword "c": could be ca, cert`},

		// required options
		{"ipcp bootstrap name a layer l type udp4", "missing ip: a udp4 IPCP needs it"},
		{"ipcp bootstrap name a layer l type udp6 port 3435", "missing ip: a udp6 IPCP needs it"},
		{"ipcp bootstrap name a layer l type eth-llc", "missing dev: an eth-llc IPCP needs it"},
		{"ipcp bootstrap name a layer l type eth-dix ethertype 0xA000", "missing dev"},

		// values of the wrong form
		{"ipcp bootstrap name a layer l type local hash MD5", `bad hash: "MD5" is not one of SHA3_224, SHA3_256, SHA3_384, SHA3_512`},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 port 0", `bad port: "0" is not a port number (1-65535)`},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 port 65536", `bad port: "65536"`},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 port http", `bad port: "http"`},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 port -1", `bad port: "-1"`},
		{"ipcp bootstrap name a layer l type udp4 ip host.example", `bad ip: "host.example" is not an IPv4 address`},
		{"ipcp bootstrap name a layer l type udp4 ip 2001:db8::1", `bad ip: "2001:db8::1" is not an IPv4 address; use a udp6 IPCP`},
		{"ipcp bootstrap name a layer l type udp6 ip 192.0.2.1", `is not an IPv6 address; use a udp4 IPCP`},
		{"ipcp bootstrap name a layer l type udp6 ip ::ffff:192.0.2.1", `is an IPv4-mapped address; use a udp4 IPCP`},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 dns 8.8.8", `bad dns: "8.8.8"`},
		{"ipcp bootstrap name a layer l type eth-llc dev a/b", `bad dev: "a/b"`},
		{"ipcp bootstrap name a layer l type eth-llc dev abcdefghijklmnop", `bad dev: "abcdefghijklmnop"`},
		{"ipcp bootstrap name a layer l type eth-dix dev e ethertype 0x05FF", `bad ethertype: "0x05FF" is not an Ethernet type (0x0600-0xFFFE`},
		{"ipcp bootstrap name a layer l type eth-dix dev e ethertype 0xFFFF", `bad ethertype: "0xFFFF"`},
		{"ipcp bootstrap name a layer l type eth-dix dev e ethertype ipv6", `bad ethertype: "ipv6"`},
		{"ipcp bootstrap name a layer l type unicast routing ospf", `bad routing: "ospf" is not one of link_state, lfa, ecmp`},
		{"ipcp bootstrap name a layer l type unicast congestion cubic", `bad congestion: "cubic" is not one of none, mb-ecn`},
		{"ipcp bootstrap name a layer l type unicast addr_auth dhcp", `bad addr_auth: "dhcp"`},
		{"ipcp bootstrap name a layer l type unicast directory dns", `bad directory: "dns"`},
		{"ipcp bootstrap name a layer l type unicast addr 0", `bad addr: "0" is not one of 4, 8`},
		{"ipcp bootstrap name a layer l type unicast addr 2", `bad addr: "2" is not one of 4, 8`},
		{"ipcp bootstrap name a layer l type unicast eid 16", `bad eid: "16" is not 8`},
		{"ipcp bootstrap name a layer l type unicast eid 4", `bad eid: "4" is not 8`},
		{"ipcp bootstrap name a layer l type unicast ls_t_dead 99", `bad ls_t_dead: "99" is out of range (100-60000 milliseconds)`},
		{"ipcp bootstrap name a layer l type unicast ls_t_dead 60001", `bad ls_t_dead: "60001"`},
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 ls_t_dead 1000", "option ls_t_dead is for unicast IPCPs, not udp4"},
		{"ipcp bootstrap name a layer l type unicast ttl 256", `bad ttl: "256" is out of range (1-255)`},
		{"ipcp bootstrap name a layer l type unicast dht_k many", `bad dht_k: "many"`},
		{"ipcp bootstrap name a layer l type unicast ls_t_update 1.5", `bad ls_t_update: "1.5"`},
		{"ipcp bootstrap name a layer l type unicast dht_t_expire 4294967296", `bad dht_t_expire: "4294967296"`},
		// The ranges and rules are irmd.conf's and the IPCPs' (stack/schema).
		{"ipcp bootstrap name a layer l type udp4 ip 192.0.2.1 keepalive 3601", `bad keepalive: "3601" is out of range (1-3600 seconds)`},
		{"ipcp bootstrap name a layer l type unicast dht_k 21", `bad dht_k: "21" is out of range (1-20)`},
		{"ipcp bootstrap name a layer l type unicast ls_t_timeo 15", "ls_t_timeo (15 seconds) must be longer than ls_t_update (15 seconds), or links time out"},
		{"ipcp bootstrap name a layer l type unicast ls_t_update 60", "ls_t_timeo (60 seconds, the default) must be longer than ls_t_update (60 seconds)"},
		{"ipcp bootstrap name a layer l type eth-dix dev e ethertype 0x0800", `bad ethertype: "0x0800" is IPv4's Ethernet type`},
		{"name create srv lb random", `bad lb: "random" is not one of round-robin, spillover`},
		{"name create srv lb", "missing value after lb"},
		{"ipcp connect name a dst b qos fast", `bad qos "fast": want one of raw, best, video, voice, data`},
		{"ipcp connect name a dst b component rib", `bad component "rib": want one of dt, mgmt`},
		{"ipcp disconnect name a dst b component all", `bad component "all"`},
		{"ipcp disconnect name a dst b qos raw", `unknown keyword "qos"`},
		{"bind process x name e", `bad PID "x"`},
		{"bind process 0 name e", `bad PID "0"`},
		{"unbind process -3 name e", `bad PID "-3"`},

		// programs and their arguments
		{"bind program nosuchprog name e", `program "nosuchprog" not found in $PATH`},
		{"bind program ./nosuchprog name e", `program "./nosuchprog" is not an executable file`},
		{"unbind program nosuchprog", `program "nosuchprog" not found in $PATH`},
		{"bind program oecho name e -- -l", "arguments after -- are only used with auto"},
		{"bind process 42 name e -- -l", "'--' is only accepted by 'irm bind program'"},
		{"bind ipcp a name e --", "'--' is only accepted by 'irm bind program'"},
		{"ipcp create name a type local --", "'--' is only accepted"},
		{"unbind program oecho name e -- x", "'--' is only accepted"},
		{"unbind program oecho name", "missing value after name"},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			args := strings.Split(c.args, " ")
			cmd, err := parse(args)
			if err == nil {
				t.Fatalf("parse succeeded: %+v", cmd)
			}
			ue, ok := err.(*usageError)
			if !ok {
				t.Fatalf("error %T is not a usage error: %v", err, err)
			}
			if !strings.Contains(ue.msg, c.want) {
				t.Errorf("error %q\ndoes not contain %q", ue.msg, c.want)
			}
			if !strings.HasPrefix(ue.usage, "usage: irm ") || !strings.HasSuffix(ue.usage, "\n") {
				t.Errorf("usage %q does not show the grammar", ue.usage)
			}
		})
	}
}

// TestParseIncomplete: a bare group prints its help as the usage, with no
// message of its own.
func TestParseIncomplete(t *testing.T) {
	for _, args := range [][]string{nil, {"ipcp"}, {"i"}, {"name"}, {"bind"}, {"unbind"}, {"flow"}} {
		_, err := parse(args)
		ue, ok := err.(*usageError)
		if !ok {
			t.Fatalf("parse(%q) = %v, want a usage error", args, err)
		}
		if ue.msg != "" || !strings.Contains(ue.usage, "Commands:") {
			t.Errorf("parse(%q): msg %q, usage:\n%s", args, ue.msg, ue.usage)
		}
	}
}

func TestResolveProgram(t *testing.T) {
	prog := withProgram(t, "srv")
	dir := filepath.Dir(prog)
	t.Chdir(dir)
	cases := []struct{ in, want string }{
		{"srv", prog},
		{"./srv", prog},
		{"/abs/path/../srv", "/abs/srv"}, // absolute: as given, even if absent
	}
	for _, c := range cases {
		got, err := resolveProgram(c.in)
		if err != nil {
			t.Errorf("resolveProgram(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("resolveProgram(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Not executable: found neither by path nor in $PATH.
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"data", "./data"} {
		if _, err := resolveProgram(in); err == nil {
			t.Errorf("resolveProgram(%q) accepted a file that is not executable", in)
		}
	}
}
