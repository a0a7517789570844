package resolver

import "sync/atomic"

// counters are the live Stats; each is bumped by the handler that
// decided, without a lock.
type counters struct {
	queries, answered, nxdomain, refused, notAllowed atomic.Uint64
	rateLimited, forwarded, cacheHits, servfail      atomic.Uint64
	formerr                                          atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Queries:     c.queries.Load(),
		Answered:    c.answered.Load(),
		NXDomain:    c.nxdomain.Load(),
		Refused:     c.refused.Load(),
		NotAllowed:  c.notAllowed.Load(),
		RateLimited: c.rateLimited.Load(),
		Forwarded:   c.forwarded.Load(),
		CacheHits:   c.cacheHits.Load(),
		ServFail:    c.servfail.Load(),
		FormErr:     c.formerr.Load(),
	}
}
