package resolver

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Bounds of the cache of upstream answers.
const (
	maxCacheEntries = 4096
	maxCacheBytes   = 4 << 20 // of answers, packed
	// maxCachedAnswer is the largest answer cached, so that a few large
	// answers cannot push out the rest.
	maxCachedAnswer = 16 << 10
	maxCacheTTL     = time.Hour
)

// cacheKey is what an answer is cached under: the question (the name in
// lower case), whether the client asked for DNSSEC records (DO), and
// whether it asked upstream not to validate (CD): a validating upstream
// answers CD=1 with data it would refuse (SERVFAIL) to a client that did
// not set CD, so that answer may not be served to one.
type cacheKey struct {
	name          string
	qtype, qclass uint16
	do, cd        bool
}

type cacheEntry struct {
	m       *dns.Msg // never changed once stored: readers copy it
	stored  time.Time
	expires time.Time
	size    int
}

// cache holds upstream answers until their smallest TTL (a negative
// answer: its SOA's, RFC 2308) runs out, within maxCacheEntries and
// maxCacheBytes: past them an expired entry goes first, else an
// arbitrary one.
type cache struct {
	maxEntries, maxBytes int

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
	bytes   int
}

func newCache(maxEntries, maxBytes int) *cache {
	return &cache{maxEntries: maxEntries, maxBytes: maxBytes, entries: map[cacheKey]cacheEntry{}}
}

// get returns the answer under k and how long ago it was stored.
func (c *cache) get(k cacheKey, now time.Time) (*dns.Msg, time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, 0, false
	}
	if !now.Before(e.expires) {
		c.removeLocked(k, e)
		return nil, 0, false
	}
	return e.m, now.Sub(e.stored), true
}

// put stores m under k if it may be cached; m must not change after.
func (c *cache) put(k cacheKey, m *dns.Msg, now time.Time) {
	ttl, ok := cacheTTL(m)
	if !ok {
		return
	}
	size := m.Len()
	if size > maxCachedAnswer {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[k]; ok {
		c.removeLocked(k, old)
	}
	for len(c.entries) > 0 && (len(c.entries) >= c.maxEntries || c.bytes+size > c.maxBytes) {
		c.evictLocked(now)
	}
	c.entries[k] = cacheEntry{m: m, stored: now, expires: now.Add(ttl), size: size}
	c.bytes += size
}

func (c *cache) removeLocked(k cacheKey, e cacheEntry) {
	delete(c.entries, k)
	c.bytes -= e.size
}

// evictLocked removes the expired entries among the first sweepBudget
// it meets, or the first one if none was.
func (c *cache) evictLocked(now time.Time) {
	var first cacheKey
	n, freed := 0, false
	for k, e := range c.entries {
		if n == 0 {
			first = k
		}
		if !now.Before(e.expires) {
			c.removeLocked(k, e)
			freed = true
		}
		if n++; n == sweepBudget {
			break
		}
	}
	if !freed {
		c.removeLocked(first, c.entries[first])
	}
}

// cacheTTL is how long m may be cached: the smallest TTL of its records,
// or for a negative answer (NXDOMAIN, NODATA) its SOA's TTL or minimum,
// the smaller; at most maxCacheTTL. Truncated answers, failures and
// negative answers without a SOA are not cached.
func cacheTTL(m *dns.Msg) (time.Duration, bool) {
	if m.Truncated || m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		return 0, false
	}
	var ttl uint32
	var found bool
	take := func(t uint32) {
		if !found || t < ttl {
			ttl, found = t, true
		}
	}
	if m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0 {
		for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
			for _, rr := range sec {
				if rr.Header().Rrtype != dns.TypeOPT {
					take(rr.Header().Ttl)
				}
			}
		}
	} else {
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				take(min(soa.Hdr.Ttl, soa.Minttl))
			}
		}
	}
	if !found || ttl == 0 {
		return 0, false
	}
	return min(time.Duration(ttl)*time.Second, maxCacheTTL), true
}
