package routing

import (
	"fmt"

	"o7s.dev/ouroboros/stack/schema"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Policy selects how Compute chooses next hops.
type Policy string

// Routing policies.
const (
	// LinkState: one shortest-path next hop per destination; among equal
	// paths, the one through the lowest neighbour address.
	LinkState Policy = schema.RoutingLinkState
	// LFA: the LinkState next hop, then loop-free alternates (RFC 5286
	// inequality 1) to use when it is down.
	LFA Policy = schema.RoutingLFA
	// ECMP: every neighbour on a shortest path; flows are spread over them.
	ECMP Policy = schema.RoutingECMP
)

// ParsePolicy validates a policy name from configuration.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case LinkState, LFA, ECMP:
		return p, nil
	}
	return "", fmt.Errorf("routing policy %q: use %q, %q or %q", s, LinkState, LFA, ECMP)
}

// Route is how to reach one destination.
type Route struct {
	// NextHops are neighbours of the local member to forward through;
	// never empty. Without Multipath, NextHops[0] is the primary and, under
	// LFA, NextHops[1:] are loop-free alternates, best first, to use in
	// order when the ones before are down.
	NextHops []addr.Addr
	// Multipath says every next hop is on a shortest path: pick one per
	// flow (dt.Table.Lookup), never per packet, so flows stay in order. It is
	// set on every ECMP route, even one with a single next hop.
	Multipath bool
	// Cost is the length of the shortest path, saturated at the largest
	// uint32.
	Cost uint32
}
