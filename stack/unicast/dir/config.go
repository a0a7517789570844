package dir

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Config configures a DHT. Zero fields take the defaults named below; ID
// and HashLen have none.
type Config struct {
	// Alpha is how many requests a lookup keeps in flight, 1..10 (default 3).
	Alpha int
	// K is the bucket size and the replication factor, 1..20 (default 8).
	K int
	// TExpire is a stored value's lifetime after its last STORE, at least a
	// second and whole seconds on the wire (default 86400 s).
	TExpire time.Duration
	// TRefresh is how long a bucket may go without a lookup in its range
	// before it is refreshed (default 900 s).
	TRefresh time.Duration
	// TReplicate is the period of republishing own values and of
	// replicating held ones (default 900 s).
	TReplicate time.Duration
	// ID gives the node id of an address: HashLen bytes, the same at every
	// member. It must be safe for concurrent use.
	ID func(addr.Addr) []byte
	// HashLen is the length of keys and ids in bytes: 28, 32, 48 or 64.
	HashLen int
	// ResponseTimeout is how long a request waits for its answer before it
	// is sent again or given up (default 2 s).
	ResponseTimeout time.Duration
	// Log receives debug messages; nil discards them.
	Log *slog.Logger
	// Routable reports whether the member at an address can be reached
	// now: in the layer, it is in the routing graph. Values published by
	// a member it says no for are neither handed out in answers nor
	// returned by Lookup: a member that restarted under a new address
	// leaves its old address's values behind until they expire (TExpire,
	// a day by default), and they must not send requesters to a member
	// that is gone. nil counts every member as routable. It must be safe
	// for concurrent use and fast: it is called under the DHT's lock.
	Routable func(addr.Addr) bool
}

// Defaults of the Config fields.
const (
	DefaultAlpha           = 3
	DefaultK               = 8
	DefaultTExpire         = 86400 * time.Second
	DefaultTRefresh        = 900 * time.Second
	DefaultTReplicate      = 900 * time.Second
	DefaultResponseTimeout = 2 * time.Second
)

// Bounds of the Config fields.
const (
	MaxAlpha = 10
	MaxK     = maxContacts
)

// maxLifetime is the longest lifetime a STORE can carry.
const maxLifetime = time.Duration(math.MaxUint32) * time.Second

// Validate reports the first field out of its range. Zero fields are valid:
// they take their defaults.
func (c Config) Validate() error {
	switch {
	case c.Alpha < 0 || c.Alpha > MaxAlpha:
		return fmt.Errorf("dir: Alpha %d out of range 1..%d", c.Alpha, MaxAlpha)
	case c.K < 0 || c.K > MaxK:
		return fmt.Errorf("dir: K %d out of range 1..%d", c.K, MaxK)
	case c.TExpire != 0 && (c.TExpire < time.Second || c.TExpire > maxLifetime):
		return fmt.Errorf("dir: TExpire %v out of range 1s..%v", c.TExpire, maxLifetime)
	case c.TRefresh < 0:
		return fmt.Errorf("dir: TRefresh %v must be positive", c.TRefresh)
	case c.TReplicate < 0:
		return fmt.Errorf("dir: TReplicate %v must be positive", c.TReplicate)
	case c.ResponseTimeout < 0:
		return fmt.Errorf("dir: ResponseTimeout %v must be positive", c.ResponseTimeout)
	case c.ID == nil:
		return fmt.Errorf("dir: ID is not set")
	}
	switch c.HashLen {
	case 28, 32, 48, 64:
		return nil
	}
	return fmt.Errorf("dir: HashLen %d: must be 28, 32, 48 or 64", c.HashLen)
}

func (c Config) withDefaults() Config {
	setInt(&c.Alpha, DefaultAlpha)
	setInt(&c.K, DefaultK)
	setDur(&c.TExpire, DefaultTExpire)
	setDur(&c.TRefresh, DefaultTRefresh)
	setDur(&c.TReplicate, DefaultTReplicate)
	setDur(&c.ResponseTimeout, DefaultResponseTimeout)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func setInt(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

func setDur(v *time.Duration, def time.Duration) {
	if *v == 0 {
		*v = def
	}
}
