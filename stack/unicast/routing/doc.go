// Package routing is link-state routing for a unicast layer: the messages
// members flood on their management flows (link-state updates and hellos),
// the link-state database, and route computation under three policies.
//
// Every member originates one LSU listing all its adjacencies, like an OSPF
// router LSA, and floods it; every member keeps the newest LSU of every
// origin in a DB and computes routes from it:
//
//	ParseLSU ─► DB.Update ─► accepted? flood on to the other neighbours
//	                 │
//	   DB.Compute(self, policy) ─► map[destination]Route ─► dt.Table (one per QoS cube)
//	                                                      ─► Lookup per packet, next hop per flow
//
// The package is pure logic: no goroutines, timers or I/O. The IPCP
// floods, re-originates its own LSU with a higher Seq more often than the
// timeout it passes to Expire, and calls Expire and Compute on its timers.
//
// An adjacency counts only when the LSUs of both ends list it, so a link
// that is up in one direction only, or an LSU that is stale on one side,
// never carries traffic. Its metric is the larger of the two directions'
// metrics, so both ends agree on its cost and the graph is symmetric, which
// lets LFA use dist(N, S) = dist(S, N). Members whose DBs hold the same
// LSUs compute consistent routes: every next hop is strictly closer to the
// destination, so forwarding is loop-free. While a change is still
// flooding, DBs differ and transient loops are possible, as in any
// link-state protocol.
package routing
