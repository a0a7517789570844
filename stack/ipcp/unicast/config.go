package unicast

import (
	"strconv"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/schema"
	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/dir"
	"o7s.dev/ouroboros/stack/unicast/routing"
)

// Congestion avoidance policies.
const (
	CongestionNone  = schema.CongestionNone
	CongestionMBECN = schema.CongestionMBECN
)

// Config is a unicast layer's configuration: chosen at bootstrap, handed to
// every member at enrollment, the same at every member.
type Config struct {
	Layer      string
	Hash       ipcp.HashAlgo
	AddrSize   int // bytes: 4 or 8
	TTL        uint8
	Routing    routing.Policy
	Congestion string

	DHTAlpha      int
	DHTK          int
	DHTExpire     time.Duration
	DHTRefresh    time.Duration
	DHTReplicate  time.Duration
	LSRecalc      time.Duration // routes are recomputed at least this often
	LSUpdate      time.Duration // a member refloods its own LSU this often
	LSTimeout     time.Duration // an LSU not refreshed this long is removed
	LSDead        time.Duration // an adjacency silent this long is down
	helloInterval time.Duration // derived: LSDead / 4
}

// DefaultConfig returns the configuration of a layer bootstrapped without
// options: the defaults of the unicast table in stack/schema.
func DefaultConfig(layer string) Config {
	c, err := ParseOptions(layer, nil)
	if err != nil {
		panic("unicast: the schema's defaults are refused: " + err.Error())
	}
	return c
}

// ParseOptions returns the configuration of a layer bootstrapped with the
// irm grammar's options, checked against the unicast table in stack/schema
// as irm and irmd.conf check them. An error names the option.
func ParseOptions(layer string, opts map[string]string) (Config, error) {
	vals, err := schema.Lookup(schema.Unicast).Parse(opts)
	if err != nil {
		return Config{}, ctrl.Errorf(ctrl.CodeInvalid, "%v", err)
	}
	pol, err := routing.ParsePolicy(vals["routing"])
	if err != nil {
		return Config{}, ctrl.Errorf(ctrl.CodeInvalid, "%v", err)
	}
	// The schema checked every number's range and wrote it in decimal.
	num := func(k string) int { n, _ := strconv.Atoi(vals[k]); return n }
	secs := func(k string) time.Duration { return time.Duration(num(k)) * time.Second }
	c := Config{
		Layer: layer, Hash: ipcp.HashAlgo(vals["hash"]), AddrSize: num("addr"), TTL: uint8(num("ttl")),
		Routing: pol, Congestion: vals["congestion"],
		DHTAlpha: num("dht_alpha"), DHTK: num("dht_k"),
		DHTExpire: secs("dht_t_expire"), DHTRefresh: secs("dht_t_refresh"), DHTReplicate: secs("dht_t_replicate"),
		LSRecalc: secs("ls_t_recalc"), LSUpdate: secs("ls_t_update"), LSTimeout: secs("ls_t_timeo"),
		LSDead: time.Duration(num("ls_t_dead")) * time.Millisecond,
	}
	c.helloInterval = c.LSDead / 4
	return c, nil
}

// dirConfig is the directory's share of the configuration.
func (c Config) dirConfig() dir.Config {
	h := c.Hash
	return dir.Config{
		Alpha: c.DHTAlpha, K: c.DHTK,
		TExpire: c.DHTExpire, TRefresh: c.DHTRefresh, TReplicate: c.DHTReplicate,
		ID:      func(a addr.Addr) []byte { return h.Sum(string(addrBytes(a))) },
		HashLen: len(h.Sum("")),
	}
}

func addrBytes(a addr.Addr) []byte {
	var b [8]byte
	for i := range 8 {
		b[i] = byte(a >> (56 - 8*i))
	}
	return b[:]
}
