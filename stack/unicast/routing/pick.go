package routing

import "o7s.dev/ouroboros/stack/unicast/addr"

// PickNextHop chooses the next hop of one flow on route r among the hops up
// reports as up (a nil up means all are). Without Multipath it returns the
// first hop that is up: the primary, else the best alternate. With
// Multipath it hashes flowKey over the up hops, so a flow stays on one
// path, keeping its packets in order, while the set of up hops does not
// change. The hash is rendezvous (highest random weight) hashing: when a
// hop goes down only its own flows move, and they come back when it
// returns. It reports false when no hop is up.
func PickNextHop(r Route, flowKey uint64, up func(addr.Addr) bool) (addr.Addr, bool) {
	if !r.Multipath {
		for _, h := range r.NextHops {
			if up == nil || up(h) {
				return h, true
			}
		}
		return addr.None, false
	}
	var best addr.Addr
	var bestScore uint64
	found := false
	key := mix64(flowKey)
	for _, h := range r.NextHops {
		if up != nil && !up(h) {
			continue
		}
		score := mix64(key ^ mix64(uint64(h)))
		if !found || score > bestScore || score == bestScore && h < best {
			best, bestScore, found = h, score, true
		}
	}
	return best, found
}

// mix64 is the SplitMix64 finalizer: a bijection on uint64 whose every
// output bit depends on every input bit, so sequential flow keys and
// addresses still score independently.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
