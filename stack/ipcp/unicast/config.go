package unicast

import (
	"fmt"
	"strconv"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/dir"
	"o7s.dev/ouroboros/stack/unicast/routing"
)

// Congestion avoidance policies.
const (
	CongestionNone  = "none"
	CongestionMBECN = "mb-ecn"
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
// options.
func DefaultConfig(layer string) Config {
	return Config{
		Layer: layer, Hash: ipcp.DefaultHash, AddrSize: 4, TTL: 60,
		Routing: routing.LinkState, Congestion: CongestionMBECN,
		DHTAlpha: 3, DHTK: 8,
		DHTExpire: 86400 * time.Second, DHTRefresh: 900 * time.Second, DHTReplicate: 900 * time.Second,
		LSRecalc: 4 * time.Second, LSUpdate: 15 * time.Second, LSTimeout: 60 * time.Second,
		LSDead: time.Second,
	}
}

// option is one bootstrap option: its key and how it sets the config.
type option struct {
	key string
	set func(c *Config, v string) error
}

var options = []option{
	{"hash", func(c *Config, v string) (err error) { c.Hash, err = ipcp.ParseHash(v); return }},
	{"addr", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err == nil {
			err = addr.CheckSize(n)
		}
		c.AddrSize = n
		return err
	}},
	{"eid", func(_ *Config, v string) error {
		if v != "8" {
			return fmt.Errorf("the endpoint id is 8 bytes in this release")
		}
		return nil
	}},
	{"ttl", func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 10, 8)
		if err == nil && n < 1 {
			err = fmt.Errorf("use 1 to 255")
		}
		c.TTL = uint8(n)
		return err
	}},
	{"routing", func(c *Config, v string) (err error) { c.Routing, err = routing.ParsePolicy(v); return }},
	{"congestion", func(c *Config, v string) error {
		if v != CongestionNone && v != CongestionMBECN {
			return fmt.Errorf("use none or mb-ecn")
		}
		c.Congestion = v
		return nil
	}},
	{"addr_auth", func(_ *Config, v string) error { return want(v, "flat") }},
	{"directory", func(_ *Config, v string) error { return want(v, "DHT") }},
	{"dht_alpha", intIn(func(c *Config) *int { return &c.DHTAlpha }, 1, 10)},
	{"dht_k", intIn(func(c *Config) *int { return &c.DHTK }, 1, 20)},
	{"dht_t_expire", secondsIn(func(c *Config) *time.Duration { return &c.DHTExpire }, 10, 86400)},
	{"dht_t_refresh", secondsIn(func(c *Config) *time.Duration { return &c.DHTRefresh }, 3, 3600)},
	{"dht_t_replicate", secondsIn(func(c *Config) *time.Duration { return &c.DHTReplicate }, 3, 3600)},
	{"ls_t_recalc", secondsIn(func(c *Config) *time.Duration { return &c.LSRecalc }, 1, 3600)},
	{"ls_t_update", secondsIn(func(c *Config) *time.Duration { return &c.LSUpdate }, 1, 3600)},
	{"ls_t_timeo", secondsIn(func(c *Config) *time.Duration { return &c.LSTimeout }, 1, 3600)},
	{"ls_t_dead", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err == nil && (n < 100 || n > 60000) {
			err = fmt.Errorf("use 100 to 60000 ms")
		}
		c.LSDead = time.Duration(n) * time.Millisecond
		return err
	}},
}

func want(v, only string) error {
	if v != only {
		return fmt.Errorf("only %s is available", only)
	}
	return nil
}

func intIn(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err == nil && (n < lo || n > hi) {
			err = fmt.Errorf("use %d to %d", lo, hi)
		}
		*field(c) = n
		return err
	}
}

func secondsIn(field func(*Config) *time.Duration, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err == nil && (n < lo || n > hi) {
			err = fmt.Errorf("use %d to %d seconds", lo, hi)
		}
		*field(c) = time.Duration(n) * time.Second
		return err
	}
}

// ParseOptions returns the configuration of a layer bootstrapped with the
// irm grammar's options. An error names the option.
func ParseOptions(layer string, opts map[string]string) (Config, error) {
	c := DefaultConfig(layer)
	known := make(map[string]bool, len(options))
	for _, o := range options {
		known[o.key] = true
		v, ok := opts[o.key]
		if !ok {
			continue
		}
		if err := o.set(&c, v); err != nil {
			return Config{}, ctrl.Errorf(ctrl.CodeInvalid, "bad %s %q: %v", o.key, v, err)
		}
	}
	for k := range opts {
		if !known[k] {
			return Config{}, ctrl.Errorf(ctrl.CodeInvalid, "option %s is not for unicast IPCPs", k)
		}
	}
	return c, c.check()
}

// check catches settings that are valid alone but not together.
func (c *Config) check() error {
	if c.LSTimeout <= c.LSUpdate {
		return ctrl.Errorf(ctrl.CodeInvalid, "ls_t_timeo (%v) must be longer than ls_t_update (%v), or LSUs expire between refreshes", c.LSTimeout, c.LSUpdate)
	}
	c.helloInterval = c.LSDead / 4
	return nil
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
