// Package config loads irmd's configuration file (irmd --config FILE).
//
// The file is TOML, with the tables of the reference implementation's
// irmd.conf: [irmd] for the daemon itself, [name.NAME] for names and the
// programs bound to them, and one table per IPC process, [TYPE.NAME], where
// TYPE is one of the IPCP types (local, eth-llc, eth-dix, udp4, udp6,
// broadcast, unicast). docs/config.md is the user's guide to every key.
//
// Load checks the whole file before it returns anything: unknown tables,
// unknown keys, values of the wrong type or out of range, missing keys and
// keys that contradict each other are all reported, each naming the file,
// the table and the key, so that "irmd --config FILE --check" can list every
// mistake at once.
//
// Names and IPCP names are case-sensitive identifiers and keep their case.
// That is why the file is decoded with go-toml/v2 directly rather than
// through viper: viper folds every key to lower case, which merges
// [name.Foo] with [name.foo] and silently drops one of them, and its typed
// getters turn bad values into zero values instead of errors.
package config

import (
	"bytes"
	"errors"
	"os"

	"github.com/pelletier/go-toml/v2"

	"o7s.dev/ouroboros/stack/schema"
)

// DefaultPath is the configuration file that the packaged irmd service
// passes to --config.
const DefaultPath = "/etc/ouroboros/irmd.conf"

// The IPCP types, spelt as in the irm CLI and as table names in the file.
const (
	TypeLocal     = schema.Local
	TypeEthLLC    = schema.EthLLC
	TypeEthDIX    = schema.EthDIX
	TypeUDP4      = schema.UDP4
	TypeUDP6      = schema.UDP6
	TypeBroadcast = schema.Broadcast
	TypeUnicast   = schema.Unicast
)

// The load-balancing policies of a name.
const (
	LBRoundRobin = schema.LBRoundRobin
	LBSpillover  = schema.LBSpillover
)

// Supported reports whether this release can run IPCPs of type typ. The
// loader validates every type in full, then rejects the IPCPs whose type is
// not supported, so that turning a type on is a one-line change here.
func Supported(typ string) bool {
	switch typ {
	case TypeLocal, TypeEthLLC, TypeEthDIX, TypeUDP4, TypeUDP6, TypeUnicast:
		return true
	}
	return false
}

// enrolSupported says whether this release can enrol IPCPs into existing
// layers (the enrol and conn keys of unicast and broadcast IPCPs).
const enrolSupported = true

// Config is a checked configuration file, ready for the daemon to apply.
type Config struct {
	File     string
	LogLevel string // "debug", "info", "warn", "error", or "" if unset
	// CA lists the files of the CA certificates irmd trusts for flow
	// authentication; Cert and Key are the host's own certificate, which
	// it presents when it allocates a flow (absolute paths; "" if unset).
	CA        []string
	Cert, Key string
	// Revoked lists the SHA-256 fingerprints (as irm cert show prints
	// them) of certificates refused whatever CA issued them: names' and
	// IPCPs'.
	Revoked []string
	// Group is the management group ([irmd] group): its members may
	// manage irmd as root does. A group name or number; "" for none.
	Group string
	// Limits maps the [irmd] limits that the file sets, by key: those on
	// arriving flows (max_flows_per_source, kex_rate, kex_rate_per_source)
	// and those on local processes (the keys of schema.IrmdLocal); a key not
	// set is absent.
	Limits map[string]int
	IPCPs  []IPCP // ordered so lower layers come first: local, eth-llc, eth-dix, udp4, udp6, broadcast, unicast; by name within a type
	Names  []Name // sorted by name
}

// IPCP is one [TYPE.NAME] table: an IPC process to create and, if Bootstrap
// or Enrol is set, to bring into a layer.
type IPCP struct {
	Name, Type string
	Bootstrap  string   // layer to bootstrap, or ""
	Enrol      string   // destination to enrol through, or ""
	Autobind   bool     // bind the IPCP to its own name and to its layer's name
	Reg        []string // names to register in the IPCP's layer
	// Conn lists the neighbours to connect to (both components, raw QoS)
	// once the IPCP is in its layer.
	Conn []string
	// CA lists the CA certificate files of an authenticated layer: one
	// bootstrapped with CA admits only IPCPs with a certificate from one
	// of them. Cert and Key are the IPCP's own certificate and private
	// key, which it shows to the other members. All are absolute paths,
	// set only for unicast IPCPs that bootstrap or enrol.
	CA        []string
	Cert, Key string
	// Options holds the type-specific bootstrap options, keyed and written
	// as the irm CLI spells them ({"hash": "SHA3_256", "ip": "10.0.0.1",
	// "port": "3435"}), with every default filled in. UDP peers appear as
	// "peer.NAME" = "host:port". Options is empty unless Bootstrap is set.
	Options map[string]string
}

// Name is one [name.NAME] table: a name, its load-balancing policy and the
// programs bound to it.
type Name struct {
	Name  string
	Progs []string // absolute paths of the programs bound to the name
	Args  []string // arguments each program is started with when Auto
	Auto  bool     // true when args is set: start a program on demand
	LB    string   // LBRoundRobin or LBSpillover
	// Encryption of flows to the name: EncryptionRequired ("" too, the
	// default) or EncryptionOff, which lets them go unencrypted when both
	// hosts say so.
	Encryption string
	Cipher     string // "aes-256-gcm" or "chacha20-poly1305"; "" allows both
	KEX        string // "x25519" or "x25519-mlkem768"; "" is x25519
	// Cert and Key are the name's certificate, presented when this host
	// accepts a flow to the name; RequireCert refuses a flow to the name
	// whose other end shows no valid certificate (from a CA in [irmd] ca).
	Cert, Key   string
	RequireCert bool
	// MaxFlows caps the flows to the name that arrive from the layers and
	// are held at once; 0: no cap.
	MaxFlows int
	// User and Group (names or numbers; "" for none) say whose processes
	// of Progs serve the name: by default root's (irmd's user's) only.
	User, Group string
}

// Encryption policies of a name.
const (
	EncryptionRequired = "required"
	EncryptionOff      = "off"
)

// Load reads and checks the configuration file at path. The error, if any,
// lists every problem found, one per line, each starting with path; the
// problems are *Error values, reachable with errors.As.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse checks data as the configuration file called name (used only in
// error messages and Config.File).
func Parse(name string, data []byte) (*Config, error) {
	return parse(&checker{file: name, supported: Supported, enrol: enrolSupported}, data)
}

// parse lets tests turn on what this release does not support, to check
// how those tables are read.
func parse(c *checker, data []byte) (*Config, error) {
	doc := map[string]any{}
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, syntaxError(c.file, err)
	}
	cfg := c.config(doc)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return cfg, nil
}
