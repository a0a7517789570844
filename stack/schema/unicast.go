package schema

import (
	"fmt"
	"strconv"
)

// The routing policies of a unicast layer.
const (
	RoutingLinkState = "link_state"
	RoutingLFA       = "lfa"
	RoutingECMP      = "ecmp"
)

// The congestion avoidance policies of a unicast layer.
const (
	CongestionNone  = "none"
	CongestionMBECN = "mb-ecn"
)

// unicastType is the routed layer. The keys are spelt as in the reference's
// irmd.conf (addr_size, max_ttl), the flags as in its irm (addr, ttl); the
// ranges of the DHT timers are the reference implementation's.
func unicastType() Type {
	seconds := func(key, def string, lo, hi int64, help string) Option {
		return Option{Key: key, Kind: Int, Lo: lo, Hi: hi, Unit: "seconds", Default: def, Arg: "S", Help: help}
	}
	count := func(key, def string, lo, hi int64, help string) Option {
		return Option{Key: key, Kind: Int, Lo: lo, Hi: hi, Default: def, Arg: "N", Help: help}
	}
	return Type{Name: Unicast, Layered: true, Connect: true, Auth: true,
		Summary: "A routed layer with its own addresses, directory and routing, over other layers.",
		Options: []Option{
			{Key: "addr_size", Flag: "addr", Kind: Int, Words: []string{"4", "8"}, Default: "4",
				Arg: "BYTES", Help: "address size in bytes"},
			{Key: "eid_size", Flag: "eid", Kind: Int, Words: []string{"8"}, Default: "8",
				Arg: "BYTES", Help: "endpoint id size in bytes"},
			{Key: "max_ttl", Flag: "ttl", Kind: Int, Lo: 1, Hi: 255, Default: "60", Arg: "T", Help: "the TTL a source puts on its packets: the most hops a packet may take"},
			{Key: "addr_auth", Alias: "addr-auth", Kind: Word, Words: []string{"flat"}, Fold: true, Default: "flat",
				Arg: "A", Help: "address authority (flat: random addresses, unique in the layer)"},
			{Key: "routing", Kind: Word, Words: []string{RoutingLinkState, RoutingLFA, RoutingECMP},
				Aliases: map[string]string{"link-state": RoutingLinkState}, Default: RoutingLinkState,
				Arg: "R", Help: "routing policy (lfa adds loop-free alternates, ecmp spreads flows over equal-cost paths)"},
			{Key: "congestion", Kind: Word, Words: []string{CongestionNone, CongestionMBECN}, Default: CongestionMBECN,
				Arg: "C", Help: "congestion avoidance (mb-ecn: multi-bit ECN)"},
			{Key: "directory", Kind: Word, Words: []string{"DHT"}, Fold: true, Default: "DHT",
				Arg: "D", Help: "directory policy"},
			hashOption(),
			count("dht_alpha", "3", 1, 10, "DHT requests a lookup keeps in flight"),
			count("dht_k", "8", 1, 20, "DHT bucket size and replication factor"),
			seconds("dht_t_expire", "86400", 10, 86400, "a stored name lives after its last store"),
			seconds("dht_t_refresh", "900", 3, 3600, "a DHT bucket may go without a lookup before it is refreshed"),
			seconds("dht_t_replicate", "900", 3, 3600, "between republishing own names and replicating held ones"),
			seconds("ls_t_recalc", "4", 1, 3600, "at most between route recomputations, which also drop stale LSUs"),
			seconds("ls_t_update", "15", 1, 3600, "between refreshes of a member's own LSU"),
			seconds("ls_t_timeo", "60", 1, 3600, "an LSU lives without a refresh; more than ls_t_update"),
			{Key: "ls_t_dead", Kind: Int, Lo: 100, Hi: 60000, Unit: "milliseconds", Default: "1000",
				Arg: "MS", Help: "of silence after which an adjacency is dead; keepalives go every quarter of it"},
		},
		Rules: []Rule{linkStateTimers},
	}
}

// linkStateTimers checks that a link outlives the interval between its
// updates: otherwise routing would declare links down between updates.
func linkStateTimers(opts map[string]string, given func(string) bool) (string, string) {
	update, timeo := opts["ls_t_update"], opts["ls_t_timeo"]
	u, err1 := strconv.Atoi(update)
	o, err2 := strconv.Atoi(timeo)
	if err1 != nil || err2 != nil || o > u {
		return "", ""
	}
	blame, dflt := "ls_t_timeo", ""
	if !given(blame) {
		blame, dflt = "ls_t_update", ", the default"
	}
	return blame, fmt.Sprintf("ls_t_timeo (%s seconds%s) must be longer than ls_t_update (%s seconds), or links time out between updates", timeo, dflt, update)
}
