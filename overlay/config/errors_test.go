package config

import (
	"errors"
	"strings"
	"testing"
)

// base sets every key that a tun link can set (a [[publish]] entry's
// address as a list and as one string); the cases of TestBadConfigs
// spoil it one key at a time.
const base = `name = "gw.a"
layer = "corp"
authenticate = true
state_dir = "/var/lib/x"
[interface]
device = "ovpn0"
mode = "tun"
address = ["10.77.0.1/24", "fd77::1/64"]
mtu = 1400
mss_clamp = false
[[peer]]
name = "gw.b"
routes = ["10.2.0.0/24"]
fingerprint = "` + fp + `"
[[peer]]
name = "gw.c"
routes = ["10.3.0.0/24"]
[accept]
names = ["laptop.*"]
pool = ["10.77.0.128/25", "fd77::8000/113"]
lease = "12h"
[dns]
listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]
domain = "corp.ouro"
upstream = ["192.0.2.53", "[2001:db8::53]:53"]
on_demand = false
allow = ["10.77.0.0/24", "10.2.0.0/24"]
idle = "1h"
rate = 50
[[publish]]
name = "web.a"
address = ["10.1.0.5", "fd01::5"]
[[publish]]
name = "db.a"
address = "10.1.0.6"
`

// tapBase is base for tap mode, with its keys.
const tapBase = `name = "gw.a"
layer = "corp"
[interface]
mode = "tap"
address = ["10.77.0.1/24"]
allow_move = false
mac_age = "5m"
[[peer]]
name = "gw.b"
`

// serverBase has no [[peer]]; clientBase no [interface].
const (
	serverBase = "name = \"a\"\nlayer = \"l\"\n[interface]\naddress = [\"10.0.0.1/24\"]\n[accept]\nnames = [\"x.*\"]\n"
	clientBase = "name = \"a\"\nlayer = \"l\"\n[[peer]]\nname = \"b\"\n"
)

const fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

// badCase spoils a base: old (a whole line, or "" to append) becomes new.
type badCase struct {
	base, old, new string
	want           string // the error's text after "FILE: "
}

var badCases = []badCase{
	// top level
	{base, `name = "gw.a"`, `name = ""`, `name: name is empty`},
	{base, `name = "gw.a"`, `name = 5`, `name: want a string, not an integer (5)`},
	{base, `name = "gw.a"`, ``, `name: missing; set it (or $OVPN_NAME)`},
	{base, `name = "gw.a"`, `name = "` + strings.Repeat("n", 256) + `"`, `name: name is 256 bytes long, at most 255 are allowed`},
	{base, `name = "gw.a"`, `name = "gw\u0007a"`, `name: name "gw\aa" contains a control character`},
	{base, `layer = "corp"`, `layer = ""`, `layer: name is empty`},
	{base, `layer = "corp"`, ``, `layer: missing; set it (or $OVPN_LAYER)`},
	{base, `layer = "corp"`, `layer = ["corp"]`, `layer: want a string, not a list`},
	{base, `authenticate = true`, `authenticate = "yes"`, `authenticate: want true or false, not a string ("yes")`},
	{base, `state_dir = "/var/lib/x"`, `state_dir = "var/lib/x"`, `state_dir: "var/lib/x": want an absolute path`},
	{base, `layer = "corp"`, "layer = \"corp\"\nnmae = \"x\"", `nmae: unknown key; the keys here are name, layer, authenticate, state_dir, [interface], [[peer]], [accept], [dns], [[publish]]`},
	{base, `layer = "corp"`, "layer = \"corp\"\n\"x y\" = 1", `"x y": unknown key`},
	{clientBase, `layer = "l"`, "layer = \"l\"\ninterface = 5", `[interface]: want a table, [interface], not an integer (5)`},
	{serverBase, `layer = "l"`, "layer = \"l\"\npeer = 5", `[[peer]]: want an array of tables, [[peer]], not an integer (5)`},
	{serverBase, `layer = "l"`, "layer = \"l\"\npeer = [1]", `[[peer]] 1: want a table, not an integer (1)`},
	{base, ``, "[acept]\nnames = [\"x\"]", `[acept]: unknown table; the tables are [interface], [[peer]], [accept], [dns] and [[publish]]`},
	{tapBase, `[[peer]]`, `[peer]`, `[peer]: peers are an array of tables: write [[peer]], not [peer]`},
	{base, `layer = "corp"`, `Layer = "corp"`, `Layer: keys are lowercase: write layer`},
	{base, `mtu = 1400`, "mtu = 1400\nMTU = 1300", `[interface] MTU: keys are lowercase: write mtu`},
	{base, `name = "gw.c"`, "name = \"gw.c\"\nName = \"gw.d\"", `[[peer]] 2 Name: keys are lowercase: write name`},
	{base, `[accept]`, `[Accept]`, `[Accept]: keys are lowercase: write accept`},
	{base, `layer = "corp"`, "layer = \"corp\"\nlayer = \"x\"", `line 3, column 1: key layer is already defined`},

	// [interface]
	{base, `device = "ovpn0"`, `device = "ovpn0123456789012"`, `[interface] device: "ovpn0123456789012": an interface name is at most 15 bytes`},
	{base, `device = "ovpn0"`, `device = "a/b"`, `[interface] device: "a/b": an interface name holds no '/', ':', space or non-ASCII character`},
	{base, `device = "ovpn0"`, `device = ""`, `[interface] device: empty; want an interface name such as ovpn0`},
	{base, `device = "ovpn0"`, `device = ".."`, `[interface] device: "..": not an interface name`},
	{base, `mode = "tun"`, `mode = "tunn"`, `[interface] mode: "tunn": want tun or tap`},
	{base, `mode = "tun"`, `mode = 1`, `[interface] mode: want a string, not an integer (1)`},
	{base, `mtu = 1400`, "mtu = 1400\nmtuu = 1", `[interface] mtuu: unknown key; the keys here are device, mode, address, mtu, mss_clamp, allow_move, mac_age`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["10.77.0.1"]`, `[interface] address: "10.77.0.1": no prefix length; write it, such as "10.77.0.1/32"`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["10.77.0.1/33"]`, `[interface] address: "10.77.0.1/33": bad prefix length`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["10.77.0.x/24"]`, `[interface] address: "10.77.0.x/24": not an address with a prefix length`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["10.77.0.0/24"]`, `[interface] address: "10.77.0.0/24": this is the subnet, not an address in it; give the interface's own address, such as 10.77.0.1/24`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["10.77.0.255/24"]`, `[interface] address: "10.77.0.255/24": the subnet's broadcast address`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["224.0.0.1/24"]`, `[interface] address: "224.0.0.1/24": not an address an interface can own here`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["::ffff:10.77.0.1/120"]`, `[interface] address: "::ffff:10.77.0.1/120": an IPv4-mapped IPv6 address`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["10.77.0.1/24", "10.77.0.1/24"]`, `[interface] address: "10.77.0.1/24" is listed twice`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = 5`, `[interface] address: want a list of strings, such as ["…"], not an integer (5)`},
	{base, `address = ["10.77.0.1/24", "fd77::1/64"]`, `address = ["10.77.0.1/24", 5]`, `[interface] address: item 2: want a string, not an integer (5)`},
	{base, `mtu = 1400`, `mtu = 500`, `[interface] mtu: 500: want 0 or 576 to 65535`},
	{base, `mtu = 1400`, `mtu = 70000`, `[interface] mtu: 70000: want 0 or 576 to 65535`},
	{base, `mtu = 1400`, `mtu = "1400"`, `[interface] mtu: want a whole number, not a string ("1400")`},
	{base, `mtu = 1400`, `mtu = 1000`, `[interface] mtu: 1000: IPv6 needs at least 1280; raise it, or use 0 (derived)`},
	{base, `mss_clamp = false`, `mss_clamp = 1`, `[interface] mss_clamp: want true or false, not an integer (1)`},
	{base, `mss_clamp = false`, "allow_move = true", `[interface] allow_move: only for mode = "tap"`},
	{base, `mss_clamp = false`, `mac_age = "5m"`, `[interface] mac_age: only for mode = "tap"`},
	{tapBase, `allow_move = false`, `allow_move = "no"`, `[interface] allow_move: want true or false, not a string ("no")`},
	{tapBase, `mac_age = "5m"`, `mac_age = "5x"`, `[interface] mac_age: "5x": want a duration such as "90s", "5m" or "24h"`},
	{tapBase, `mac_age = "5m"`, `mac_age = "0s"`, `[interface] mac_age: "0s": want 1s to 24h`},
	{tapBase, `mac_age = "5m"`, `mac_age = 300`, `[interface] mac_age: want a string, not an integer (300)`},

	// [[peer]]
	{base, `name = "gw.c"`, ``, `[[peer]] 2 name: missing; every [[peer]] needs one`},
	{base, `name = "gw.c"`, `name = "gw.b"`, `[[peer]] 2 name: "gw.b" is also [[peer]] 1`},
	{base, `name = "gw.c"`, `name = "gw.a"`, `[[peer]] 2 name: "gw.a" is this endpoint's own name`},
	{base, `name = "gw.c"`, `name = ""`, `[[peer]] 2 name: name is empty`},
	{base, `name = "gw.c"`, `name = true`, `[[peer]] 2 name: want a string, not a bool (true)`},
	{base, `name = "gw.c"`, "name = \"gw.c\"\nroute = \"x\"", `[[peer]] 2 route: unknown key; the keys here are name, routes, fingerprint`},
	{base, `routes = ["10.3.0.0/24"]`, `routes = ["10.2.0.0/33"]`, `[[peer]] 2 routes: "10.2.0.0/33": bad prefix length`},
	{base, `routes = ["10.3.0.0/24"]`, `routes = ["10.3.0.1/24"]`, `[[peer]] 2 routes: "10.3.0.1/24": host bits set; the prefix is 10.3.0.0/24`},
	{base, `routes = ["10.3.0.0/24"]`, `routes = ["10.2.0.0/24"]`, `[[peer]] 2 routes: 10.2.0.0/24 is also a route of peer "gw.b" ([[peer]] 1); a prefix belongs to one peer`},
	{base, `routes = ["10.3.0.0/24"]`, `routes = ["10.77.0.0/24"]`, `[[peer]] 2 routes: 10.77.0.0/24 is the interface's own subnet (address 10.77.0.1/24), routed through it already`},
	{base, `routes = ["10.3.0.0/24"]`, `routes = ["10.77.0.192/26"]`, `[[peer]] 2 routes: 10.77.0.192/26 overlaps the [accept] pool 10.77.0.128/25`},
	{base, `routes = ["10.3.0.0/24"]`, `routes = {a = 1}`, `[[peer]] 2 routes: want a list of strings, such as ["…"], not a table`},
	{tapBase, `name = "gw.b"`, "name = \"gw.b\"\nroutes = [\"10.2.0.0/24\"]", `[[peer]] 1 routes: only for mode = "tun": a tap link carries Ethernet frames, routed by MAC`},
	{base, `fingerprint = "` + fp + `"`, `fingerprint = "AB:CD"`, `[[peer]] 1 fingerprint: "AB:CD": want a SHA-256 fingerprint as ` + "`irm cert show`" + ` prints it: 32 hex bytes joined by colons`},
	{base, `fingerprint = "` + fp + `"`, `fingerprint = "` + strings.Replace(fp, "AB", "ZZ", 1) + `"`, `[[peer]] 1 fingerprint: "ZZ:`},
	{base, `fingerprint = "` + fp + `"`, `fingerprint = "` + strings.ReplaceAll(fp, ":", "") + `"`, `[[peer]] 1 fingerprint: "ABCDEF`},

	// [accept]
	{base, `names = ["laptop.*"]`, `names = ["laptop.["]`, `[accept] names: "laptop.[": not a pattern in path.Match syntax`},
	{base, `names = ["laptop.*"]`, `names = [""]`, `[accept] names: pattern "": name is empty`},
	{base, `names = ["laptop.*"]`, `names = 1`, `[accept] names: want a list of strings`},
	{base, `lease = "12h"`, "lease = \"12h\"\npools = [\"x\"]", `[accept] pools: unknown key; the keys here are names, pool, lease`},
	{base, `pool = ["10.77.0.128/25", "fd77::8000/113"]`, `pool = ["10.77.0.128/25", "10.77.0.64/26"]`, `[accept] pool: 10.77.0.128/25 and 10.77.0.64/26: at most one prefix per address family`},
	{base, `pool = ["10.77.0.128/25", "fd77::8000/113"]`, `pool = ["10.78.0.0/24"]`, `[accept] pool: 10.78.0.0/24 is inside no subnet of [interface] address`},
	{base, `pool = ["10.77.0.128/25", "fd77::8000/113"]`, `pool = ["10.77.0.0/25"]`, `[accept] pool: 10.77.0.0/25 holds the interface's own address 10.77.0.1; make the pool a part of the subnet without it`},
	{base, `pool = ["10.77.0.128/25", "fd77::8000/113"]`, `pool = ["10.77.0.128/31"]`, `[accept] pool: 10.77.0.128/31 holds no address to hand out; want a /30 or shorter`},
	{base, `pool = ["10.77.0.128/25", "fd77::8000/113"]`, `pool = ["10.77.0.129/25"]`, `[accept] pool: "10.77.0.129/25": host bits set; the prefix is 10.77.0.128/25`},
	{base, `pool = ["10.77.0.128/25", "fd77::8000/113"]`, `pool = ["10.0.0.0/8"]`, `[accept] pool: 10.0.0.0/8 holds the interface's own address 10.77.0.1`},
	{base, `pool = ["10.77.0.128/25", "fd77::8000/113"]`, ``, `[accept] lease: set, but there is no [accept] pool to lease from`},
	{base, `lease = "12h"`, `lease = "1s"`, `[accept] lease: "1s": want 1m to 8760h`},
	{base, `lease = "12h"`, `lease = "soon"`, `[accept] lease: "soon": want a duration`},

	// [dns]
	{base, `domain = "corp.ouro"`, "domain = \"corp.ouro\"\nlisen = 1", `[dns] lisen: unknown key; the keys here are listen, domain, upstream, on_demand, allow, idle, rate`},
	{clientBase, `layer = "l"`, "layer = \"l\"\ndns = 5", `[dns]: want a table, [dns], not an integer (5)`},
	{clientBase, ``, "[[dns]]", `[dns]: want a table, [dns], not a list`},
	{tapBase, ``, "[dns]", `[dns]: only for mode = "tun": names are answered with addresses routed through a peer`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = ["10.77.0.1:0"]`, `[dns] listen: "10.77.0.1:0": port 0; want 1 to 65535, or no port for 53`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = ["10.77.0.1:70000"]`, `[dns] listen: "10.77.0.1:70000": not an address with an optional port, such as 10.77.0.1, 10.77.0.1:53 or [fd77::1]:53`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = ["ns.example:53"]`, `[dns] listen: "ns.example:53": not an address with an optional port`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = ["[fe80::1%eth0]:53"]`, `[dns] listen: "[fe80::1%eth0]:53": an address with a zone`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = ["224.0.0.251"]`, `[dns] listen: "224.0.0.251": a multicast address`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = ["[::ffff:10.77.0.1]:53"]`, `[dns] listen: "[::ffff:10.77.0.1]:53": an IPv4-mapped IPv6 address`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = ["10.77.0.1", "10.77.0.1:53"]`, `[dns] listen: "10.77.0.1:53" is listed twice`},
	{base, `listen = ["10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1"]`, `listen = 53`, `[dns] listen: want a list of strings, such as ["…"], not an integer (53)`},
	{base, `domain = "corp.ouro"`, `domain = ""`, `[dns] domain: empty; want a domain such as ouro or vpn.example.org`},
	{base, `domain = "corp.ouro"`, `domain = "Ouro"`, `[dns] domain: "Ouro": write the domain in lower case: ouro`},
	{base, `domain = "corp.ouro"`, `domain = "ouro."`, `[dns] domain: "ouro.": write the domain without a leading or trailing dot: ouro`},
	{base, `domain = "corp.ouro"`, `domain = "corp..ouro"`, `[dns] domain: "corp..ouro": an empty label (two dots)`},
	{base, `domain = "corp.ouro"`, `domain = "corp_a.ouro"`, `[dns] domain: "corp_a.ouro": a domain holds only letters, digits, hyphens and dots`},
	{base, `domain = "corp.ouro"`, `domain = "-corp.ouro"`, `[dns] domain: "-corp.ouro": label "-corp" begins or ends with a hyphen`},
	{base, `domain = "corp.ouro"`, `domain = "` + strings.Repeat("a", 64) + `.ouro"`, `[dns] domain: "` + strings.Repeat("a", 64) + `.ouro": label "` + strings.Repeat("a", 64) + `" is longer than 63 bytes`},
	{base, `domain = "corp.ouro"`, `domain = "` + strings.Repeat("a.", 127) + `ab"`, `[dns] domain: "` + strings.Repeat("a.", 127) + `ab": a domain is at most 253 bytes`},
	{base, `domain = "corp.ouro"`, `domain = ["ouro"]`, `[dns] domain: want a string, not a list`},
	{base, `upstream = ["192.0.2.53", "[2001:db8::53]:53"]`, `upstream = ["0.0.0.0"]`, `[dns] upstream: 0.0.0.0:53: the unspecified address; give a resolver's address`},
	{base, `upstream = ["192.0.2.53", "[2001:db8::53]:53"]`, `upstream = ["127.0.0.1:53"]`, `[dns] upstream: 127.0.0.1:53 is also in [dns] listen: the bridge would forward queries to itself`},
	{base, `upstream = ["192.0.2.53", "[2001:db8::53]:53"]`, `upstream = ["192.0.2.53:x"]`, `[dns] upstream: "192.0.2.53:x": not an address with an optional port`},
	{base, `on_demand = false`, `on_demand = "no"`, `[dns] on_demand: want true or false, not a string ("no")`},
	{base, `allow = ["10.77.0.0/24", "10.2.0.0/24"]`, `allow = ["10.77.0.1/24"]`, `[dns] allow: "10.77.0.1/24": host bits set; the prefix is 10.77.0.0/24`},
	{base, `allow = ["10.77.0.0/24", "10.2.0.0/24"]`, `allow = ["10.77.0.0"]`, `[dns] allow: "10.77.0.0": no prefix length`},
	{base, `idle = "1h"`, `idle = "0s"`, `[dns] idle: "0s": want 1s to 24h`},
	{base, `idle = "1h"`, `idle = "25h"`, `[dns] idle: "25h": want 1s to 24h`},
	{base, `idle = "1h"`, `idle = 600`, `[dns] idle: want a string, not an integer (600)`},
	{base, `rate = 50`, `rate = 0`, `[dns] rate: 0: want 1 to 100000`},
	{base, `rate = 50`, `rate = 100001`, `[dns] rate: 100001: want 1 to 100000`},
	{base, `rate = 50`, `rate = "50"`, `[dns] rate: want a whole number, not a string ("50")`},

	// [[publish]]
	{clientBase, `layer = "l"`, "layer = \"l\"\npublish = 5", `[[publish]]: want an array of tables, [[publish]], not an integer (5)`},
	{clientBase, ``, "[publish]\nname = \"x\"", `[publish]: published hosts are an array of tables: write [[publish]], not [publish]`},
	{tapBase, ``, "[[publish]]\nname = \"web\"\naddress = \"10.1.0.5\"", `[[publish]]: only for mode = "tun"`},
	{base, `name = "db.a"`, ``, `[[publish]] 2 name: missing; every [[publish]] needs one`},
	{base, `name = "db.a"`, `name = "web.a"`, `[[publish]] 2 name: "web.a" is also [[publish]] 1`},
	{base, `name = "db.a"`, `name = "gw.a"`, `[[publish]] 2 name: "gw.a" is this endpoint's own name`},
	{base, `name = "db.a"`, `name = "gw.b"`, `[[publish]] 2 name: "gw.b" is the name of a [[peer]]: that endpoint registers it itself`},
	{base, `name = "db.a"`, `name = ""`, `[[publish]] 2 name: name is empty`},
	{base, `name = "db.a"`, `name = ["db.a"]`, `[[publish]] 2 name: want a string, not a list`},
	{base, `name = "db.a"`, "name = \"db.a\"\nadress = \"x\"", `[[publish]] 2 adress: unknown key; the keys here are name, address`},
	{base, `address = "10.1.0.6"`, ``, `[[publish]] 2 address: missing; every [[publish]] needs one`},
	{base, `address = "10.1.0.6"`, `address = "fd01::5"`, `[[publish]] 2 address: fd01::5 is also an address of "web.a" ([[publish]] 1); an address belongs to one host`},
	{base, `address = "10.1.0.6"`, `address = "10.77.0.1"`, `[[publish]] 2 address: 10.77.0.1 is this end's own tunnel address, answered as "gw.a" already`},
	{base, `address = "10.1.0.6"`, `address = "fd77::9"`, `[[publish]] 2 address: fd77::9 is inside the tunnel's subnet fd77::/64: hosts there are reached through the link, not behind this end`},
	{base, `address = "10.1.0.6"`, `address = "10.3.0.9"`, `[[publish]] 2 address: 10.3.0.9 is inside 10.3.0.0/24, a route of peer "gw.c": that host is behind the peer, not behind this end`},
	{base, `address = "10.1.0.6"`, `address = "10.1.0.0/24"`, `[[publish]] 2 address: "10.1.0.0/24": a prefix; give the host's address without a length`},
	{base, `address = "10.1.0.6"`, `address = ["10.1.0.6", "127.0.0.1"]`, `[[publish]] 2 address: "127.0.0.1": not a host's address (unspecified, multicast, broadcast, loopback or link-local)`},
	{base, `address = "10.1.0.6"`, `address = "fe80::1%eth0"`, `[[publish]] 2 address: "fe80::1%eth0": an address with a zone`},
	{base, `address = "10.1.0.6"`, `address = "::ffff:10.1.0.6"`, `[[publish]] 2 address: "::ffff:10.1.0.6": an IPv4-mapped IPv6 address`},
	{base, `address = "10.1.0.6"`, `address = "web"`, `[[publish]] 2 address: "web": not an address, such as 10.2.0.5 or fd02::5`},
	{base, `address = "10.1.0.6"`, `address = ["10.1.0.6", "10.1.0.6"]`, `[[publish]] 2 address: "10.1.0.6" is listed twice`},
	{base, `address = "10.1.0.6"`, `address = 5`, `[[publish]] 2 address: want a list of strings, such as ["…"], not an integer (5)`},

	// rules across sections
	{serverBase, `address = ["10.0.0.1/24"]`, ``, `[interface] address: empty, so the link asks a peer's pool for one, but there is no [[peer]] to ask`},
	{tapBase, `name = "gw.b"`, ``, `[[peer]] 1 name: missing`},
	{serverBase, `names = ["x.*"]`, ``, `[[peer]]: none, and no [accept] names: nobody could connect; add a [[peer]], or [accept] names`},
}

// spoil applies a case to its base.
func (c badCase) spoil(t *testing.T) string {
	t.Helper()
	if c.old == "" {
		return c.base + c.new + "\n"
	}
	if strings.Count(c.base, c.old+"\n") != 1 {
		t.Fatalf("%q is not one line of the base", c.old)
	}
	return strings.Replace(c.base, c.old+"\n", c.new+"\n", 1)
}

// TestBadConfigs spoils every key in turn: each gives an error naming the
// file and the key, and saying what is wrong.
func TestBadConfigs(t *testing.T) {
	for _, good := range []string{base, tapBase, serverBase, clientBase} {
		if _, err := load(t, good); err != nil {
			t.Fatalf("a base does not load: %v", err)
		}
	}
	for _, c := range badCases {
		_, err := load(t, c.spoil(t))
		if err == nil {
			t.Errorf("%q → %q: loaded", c.old, c.new)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !strings.HasSuffix(e.File, "/gw.toml") {
			t.Errorf("%q → %q: %v is not an *Error naming the file", c.old, c.new, err)
			continue
		}
		if !strings.Contains(err.Error(), e.File+": "+c.want) {
			t.Errorf("%q → %q:\n got %v\nwant FILE: %s", c.old, c.new, err, c.want)
		}
	}
}

// TestBadConfigsCoverEveryKey checks that TestBadConfigs spoils every
// option of the table.
func TestBadConfigsCoverEveryKey(t *testing.T) {
	for _, o := range Options() {
		var found bool
		for _, c := range badCases {
			refs := []string{o.Ref()}
			if isEntries(o.Section) {
				refs = []string{"[[" + o.Section + "]] 1 " + o.Key, "[[" + o.Section + "]] 2 " + o.Key}
			}
			for _, ref := range refs {
				found = found || strings.HasPrefix(c.want, ref+":")
			}
		}
		if !found {
			t.Errorf("no case of TestBadConfigs spoils %s", o.Ref())
		}
	}
}

// TestErrorsOnce checks that a problem that several keys share is
// reported once.
func TestErrorsOnce(t *testing.T) {
	_, err := load(t, serverBase+"[peer]\nname = \"c\"\nroutes = []\n[acept]\na = 1\nb = 2\n")
	if err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("want two lines, one about [peer] and one about [acept]; got %v", err)
	}
}

// TestAllErrors checks that Load reports every bad key of a file, one per
// line, not only the first.
func TestAllErrors(t *testing.T) {
	_, err := load(t, "name = 1\nlayer = 2\n[interface]\nmode = \"x\"\n[[peer]]\nname = \"b\"\n")
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %q", lines)
	}
	for _, l := range lines {
		if !strings.Contains(l, "/gw.toml: ") {
			t.Errorf("%q does not name the file", l)
		}
	}
}
