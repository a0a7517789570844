package config

import "o7s.dev/ouroboros/stack/schema"

// This file lists the keys of the file's tables. The IPCP types and their
// bootstrap options are stack/schema's: one table per type, from which irm
// and the IPCPs check the same options the same way.

// ipcpType is one IPCP type: a top-level table of the file.
type ipcpType struct{ schema.Type }

// ipcpTypes lists the IPCP types in the order their IPCPs come up: a layer
// before the layers that may run over it.
func ipcpTypes() []ipcpType {
	var out []ipcpType
	for _, t := range schema.Types() {
		out = append(out, ipcpType{t})
	}
	return out
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

var nameKeys = []string{keyProg, keyArgs, keyLB, keyEncryption, keyCipher, keyKEX, keyCert, keyKey, keyRequireCert, keyMaxFlows, keyUser, keyGroup}

// keyUser is a name's user: whose processes of its programs serve it.
const keyUser = "user"

// keyGroup is [irmd]'s management group, and in a name the group whose
// members' processes of its programs serve it.
const keyGroup = "group"

// irmdKeys are the keys of [irmd]: those read here, then the limits of
// stack/schema, on arriving flows and on local processes.
var irmdKeys = append([]string{keyLogLevel, keyCA, keyCert, keyKey, keyRevoked, keyGroup}, limitKeys()...)

// maxFlows is a name's cap on the flows that arrive for it.
var (
	maxFlows    = schema.MaxFlows()
	keyMaxFlows = maxFlows.Key
)

// irmdLimitOptions are the [irmd] options that are limits: on arriving
// flows, then on local processes.
func irmdLimitOptions() []schema.Option {
	return append(schema.IrmdLimits(), schema.IrmdLocal()...)
}

func limitKeys() []string {
	var out []string
	for _, o := range irmdLimitOptions() {
		out = append(out, o.Key)
	}
	return out
}

// irmdLimit returns the schema option of [irmd] limit k, or nil.
func irmdLimit(k string) *schema.Option {
	for _, o := range irmdLimitOptions() {
		if o.Key == k {
			return &o
		}
	}
	return nil
}

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

// lbPolicy is the lb key of a name.
var lbPolicy = schema.LB()

// The [irmd] table.
const keyLogLevel = "log_level"

var logLevels = choice{words: []string{"debug", "info", "warn", "error"}}
