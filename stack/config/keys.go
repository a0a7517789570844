package config

import "strconv"

// This file is the read-only table of what the file may contain: the IPCP
// types in layer order and, per type, its bootstrap options.

// option is one type-specific key of an IPCP table: a bootstrap option.
type option struct {
	key      string // the key in the file
	alias    string // another spelling accepted in the file (the reference's), or ""
	opt      string // the irm CLI's name for it: its key in IPCP.Options
	def      string // the default, as it appears in Options; "" for none
	required bool   // must be set when the IPCP bootstraps

	// check validates a value and returns it as it appears in Options.
	check func(t *table, k string, v any) (string, bool)
	// checkMap, used instead of check for a table of values, returns
	// them keyed by name; each appears in Options as "opt.NAME".
	checkMap func(t *table, k string, v any) (map[string]string, bool)
}

// ipcpType is one IPCP type: a top-level table of the file.
type ipcpType struct {
	name    string
	layered bool // can enrol and autobind (unicast and broadcast)
	connect bool // can connect to neighbours (conn; unicast)
	auth    bool // authenticates its members (ca, cert, key; unicast)
	options []option
	// finish, if set, checks and completes the options of a
	// bootstrapping IPCP once they hold their defaults; set holds the
	// keys present, as written.
	finish func(t *table, set, opts map[string]string)
}

// The hash algorithms a layer's directory can use to hash names.
var hashes = choice{words: []string{"SHA3_224", "SHA3_256", "SHA3_384", "SHA3_512"}, fold: true}

func hashOption() option {
	return option{key: "hash", opt: "hash", def: "SHA3_256", check: hashes.check}
}

func udpOptions(f family) []option {
	return []option{
		{key: "ip", opt: "ip", required: true, check: f.bindIP},
		{key: "port", opt: "port", def: strconv.Itoa(DefaultPort), check: intRange{lo: 1, hi: 65535, noun: "a port number"}.check},
		{key: "dns", opt: "dns", check: f.hostIP},
		{key: "peers", opt: "peer", checkMap: f.peers},
		{key: "keepalive", opt: "keepalive", def: "25", check: seconds(1, 3600)},
	}
}

// seconds is the check of a timer option.
func seconds(lo, hi int64) func(t *table, k string, v any) (string, bool) {
	return intRange{lo: lo, hi: hi, unit: "seconds"}.check
}

// millis is the check of a timer option in milliseconds.
func millis(lo, hi int64) func(t *table, k string, v any) (string, bool) {
	return intRange{lo: lo, hi: hi, unit: "milliseconds"}.check
}

// count is the check of a plain number option.
func count(lo, hi int64) func(t *table, k string, v any) (string, bool) {
	return intRange{lo: lo, hi: hi}.check
}

// unicastOptions are the unicast layer's policies and their parameters.
// The ranges of the DHT timers are the reference implementation's.
func unicastOptions() []option {
	return []option{
		{key: "addr_size", opt: "addr", def: "4", check: choice{words: []string{"4", "8"}}.checkInt},
		{key: "eid_size", opt: "eid", def: "8", check: choice{words: []string{"8"}}.checkInt},
		{key: "max_ttl", opt: "ttl", def: "60", check: count(1, 255)},
		{key: "addr_auth", alias: "addr-auth", opt: "addr_auth", def: "flat", check: choice{words: []string{"flat"}, fold: true}.check},
		{key: "routing", opt: "routing", def: "link_state", check: choice{
			words:   []string{"link_state", "lfa", "ecmp"},
			aliases: map[string]string{"link-state": "link_state"},
		}.check},
		{key: "congestion", opt: "congestion", def: "mb-ecn", check: choice{words: []string{"none", "mb-ecn"}}.check},
		{key: "directory", opt: "directory", def: "DHT", check: choice{words: []string{"DHT"}, fold: true}.check},
		hashOption(),
		{key: "dht_alpha", opt: "dht_alpha", def: "3", check: count(1, 10)},
		{key: "dht_k", opt: "dht_k", def: "8", check: count(1, 20)},
		{key: "dht_t_expire", opt: "dht_t_expire", def: "86400", check: seconds(10, 86400)},
		{key: "dht_t_refresh", opt: "dht_t_refresh", def: "900", check: seconds(3, 3600)},
		{key: "dht_t_replicate", opt: "dht_t_replicate", def: "900", check: seconds(3, 3600)},
		{key: "ls_t_recalc", opt: "ls_t_recalc", def: "4", check: seconds(1, 3600)},
		{key: "ls_t_update", opt: "ls_t_update", def: "15", check: seconds(1, 3600)},
		{key: "ls_t_timeo", opt: "ls_t_timeo", def: "60", check: seconds(1, 3600)},
		{key: "ls_t_dead", opt: "ls_t_dead", def: "1000", check: millis(100, 60000)},
	}
}

// ipcpTypes lists the IPCP types in the order their IPCPs come up: a layer
// before the layers that may run over it.
func ipcpTypes() []ipcpType {
	return []ipcpType{
		{name: TypeLocal, options: []option{hashOption()}},
		{name: TypeEthLLC, options: []option{
			{key: "dev", opt: "dev", required: true, check: device},
			hashOption(),
		}},
		{name: TypeEthDIX, options: []option{
			{key: "dev", opt: "dev", required: true, check: device},
			{key: "ethertype", opt: "ethertype", def: "0xA000", check: ethertype},
			hashOption(),
		}},
		{name: TypeUDP4, options: udpOptions(ipv4), finish: peerPorts},
		{name: TypeUDP6, options: udpOptions(ipv6), finish: peerPorts},
		{name: TypeBroadcast, layered: true},
		{name: TypeUnicast, layered: true, connect: true, auth: true, options: unicastOptions(), finish: linkStateTimers},
	}
}

// The keys every IPCP table may hold, whatever its type.
const (
	keyBootstrap = "bootstrap"
	keyEnrol     = "enrol"
	keyAutobind  = "autobind"
	keyReg       = "reg"
	keyConn      = "conn"
)

var commonKeys = []string{keyBootstrap, keyEnrol, keyAutobind, keyReg, keyConn}

// The keys of a [name.NAME] table.
const (
	keyProg = "prog"
	keyArgs = "args"
	keyLB   = "lb"
)

var nameKeys = []string{keyProg, keyArgs, keyLB, keyEncryption, keyCipher, keyKEX, keyCert, keyKey, keyRequireCert}

// irmdKeys are the keys of [irmd].
var irmdKeys = []string{keyLogLevel, keyCA, keyCert, keyKey, keyRevoked}

// Certificate keys: the CAs irmd trusts, and the certificates it presents.
// In an IPCP table, ca, cert and key authenticate the IPCP to its layer.
const (
	keyCA          = "ca"
	keyCert        = "cert"
	keyKey         = "key"
	keyRequireCert = "require_cert"
	keyRevoked     = "revoked"
)

// identityKeys are the keys of the IPCP tables of the types that
// authenticate their members.
var identityKeys = []string{keyCA, keyCert, keyKey}

// The keys of a name's flow encryption.
const (
	keyEncryption = "encryption"
	keyCipher     = "cipher"
	keyKEX        = "kex"
)

var (
	encryptions = choice{words: []string{EncryptionRequired, EncryptionOff}}
	ciphers     = choice{words: []string{"aes-256-gcm", "chacha20-poly1305"}, fold: true}
	kexes       = choice{words: []string{"x25519", "x25519-mlkem768"}, fold: true}
)

// laterNameKeys are keys of the reference's name tables that this release
// does not read yet; they are refused rather than silently ignored.
var laterNameKeys = []string{
	"server_enc_file", "server_crt_file", "server_key_file",
	"client_enc_file", "client_crt_file", "client_key_file",
}

// lbPolicies are the load-balancing policies, with the reference's "spill".
var lbPolicies = choice{
	words:   []string{LBRoundRobin, LBSpillover},
	aliases: map[string]string{"spill": LBSpillover},
}

// The [irmd] table.
const keyLogLevel = "log_level"

var logLevels = choice{words: []string{"debug", "info", "warn", "error"}}
