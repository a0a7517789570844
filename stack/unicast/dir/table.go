package dir

import (
	"slices"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// failLimit is how many requests in a row a contact may leave unanswered
// before it leaves its bucket.
const failLimit = 2

// maxGone bounds the memory of recently removed contacts.
const maxGone = 4096

// contact is a member the table knows of.
type contact struct {
	addr  addr.Addr
	id    []byte
	fails int  // requests unanswered in a row
	live  bool // in its bucket's live list, not the spare one
}

// bucket holds the contacts whose ids share a given prefix length with
// ours.
type bucket struct {
	live      []*contact // at most k, least recently seen first
	spare     []*contact // replacement cache, at most k, most recent last
	refreshed time.Time  // last lookup of an id in the bucket's range
}

// table is the routing table: k-buckets indexed by the length of the
// prefix an id shares with ours. It is not safe for concurrent use.
type table struct {
	self    addr.Addr
	selfID  []byte
	k       int
	idOf    func(addr.Addr) []byte
	buckets []bucket
	byAddr  map[addr.Addr]*contact  // live and spare contacts
	gone    map[addr.Addr]time.Time // removed lately: not relearned second-hand
}

func newTable(self addr.Addr, selfID []byte, k int, idOf func(addr.Addr) []byte, now time.Time) *table {
	t := &table{self: self, selfID: selfID, k: k, idOf: idOf,
		buckets: make([]bucket, 8*len(selfID)),
		byAddr:  map[addr.Addr]*contact{}, gone: map[addr.Addr]time.Time{}}
	for i := range t.buckets {
		t.buckets[i].refreshed = now
	}
	return t
}

// len is the number of live contacts.
func (t *table) len() int {
	n := 0
	for _, c := range t.byAddr {
		if c.live {
			n++
		}
	}
	return n
}

// newContact makes a contact for a, or nil if a cannot be one: our own
// address, or an id of the wrong length or equal to ours.
func (t *table) newContact(a addr.Addr) *contact {
	if a == addr.None || a == t.self {
		return nil
	}
	id := t.idOf(a)
	if len(id) != len(t.selfID) || prefixLen(id, t.selfID) == len(t.buckets) {
		return nil
	}
	return &contact{addr: a, id: id}
}

func (t *table) bucketOf(id []byte) *bucket { return &t.buckets[prefixLen(id, t.selfID)] }

// seen records that a is alive: it sent us a message or another part of
// the layer vouches for it. It reports whether a became a live contact.
func (t *table) seen(a addr.Addr) bool {
	delete(t.gone, a)
	c := t.byAddr[a]
	if c == nil {
		if c = t.newContact(a); c == nil {
			return false
		}
		t.byAddr[a] = c
		return t.insert(c)
	}
	c.fails = 0
	b := t.bucketOf(c.id)
	if c.live {
		b.live = moveToEnd(b.live, c)
		return false
	}
	b.spare = remove(b.spare, c)
	return t.insert(c)
}

// learn records a second-hand contact, from another member's list: it is
// added if new and not removed lately, without vouching for it.
func (t *table) learn(a addr.Addr) {
	if _, ok := t.gone[a]; ok || t.byAddr[a] != nil {
		return
	}
	if c := t.newContact(a); c != nil {
		t.byAddr[a] = c
		t.insert(c)
	}
}

// insert places a contact not in its bucket: in the live list if there is
// room or the least recently seen contact has missed a request, else in the
// spare list. It reports whether c went live.
func (t *table) insert(c *contact) bool {
	b := t.bucketOf(c.id)
	if len(b.live) >= t.k && b.live[0].fails > 0 {
		t.forget(b.live[0])
		b.live = b.live[1:]
	}
	if len(b.live) < t.k {
		c.live = true
		b.live = append(b.live, c)
		return true
	}
	c.live = false
	b.spare = append(b.spare, c)
	if len(b.spare) > t.k {
		t.forget(b.spare[0])
		b.spare = b.spare[1:]
	}
	return false
}

// failed records that a did not answer a request. It reports whether a
// was dropped for it.
func (t *table) failed(a addr.Addr, now time.Time) bool {
	c := t.byAddr[a]
	if c == nil {
		return false
	}
	if c.fails++; c.live && c.fails < failLimit {
		return false
	}
	t.remove(a, now)
	return true
}

// remove drops a and keeps it from being relearned second-hand for a
// while; the most recent spare contact takes its place.
func (t *table) remove(a addr.Addr, now time.Time) {
	if len(t.gone) < maxGone {
		t.gone[a] = now
	}
	c := t.byAddr[a]
	if c == nil {
		return
	}
	t.forget(c)
	b := t.bucketOf(c.id)
	if !c.live {
		b.spare = remove(b.spare, c)
		return
	}
	b.live = remove(b.live, c)
	if n := len(b.spare); n > 0 {
		s := b.spare[n-1]
		b.spare = b.spare[:n-1]
		s.live = true
		b.live = append(b.live, s)
	}
}

func (t *table) forget(c *contact) { delete(t.byAddr, c.addr) }

// isGone reports whether a was removed lately.
func (t *table) isGone(a addr.Addr) bool {
	_, ok := t.gone[a]
	return ok
}

// pruneGone forgets removals older than ttl.
func (t *table) pruneGone(now time.Time, ttl time.Duration) {
	for a, at := range t.gone {
		if now.Sub(at) >= ttl {
			delete(t.gone, a)
		}
	}
}

// closest returns up to n live contacts closest to target, closest first,
// leaving out skip.
func (t *table) closest(target []byte, n int, skip addr.Addr) []*contact {
	all := make([]*contact, 0, len(t.byAddr))
	for _, c := range t.byAddr {
		if c.live && c.addr != skip {
			all = append(all, c)
		}
	}
	slices.SortFunc(all, func(a, b *contact) int { return cmpDist(target, a.id, b.id) })
	return all[:min(n, len(all))]
}

// closerThan counts the live contacts closer to target than id.
func (t *table) closerThan(target, id []byte) int {
	n := 0
	for _, c := range t.byAddr {
		if c.live && closer(target, c.id, id) {
			n++
		}
	}
	return n
}

// touch notes a lookup of target: its bucket needs no refresh for now.
func (t *table) touch(target []byte, now time.Time) {
	if p := prefixLen(target, t.selfID); p < len(t.buckets) {
		t.buckets[p].refreshed = now
	}
}

// stale lists the buckets, up to the deepest one holding a contact, that
// saw no lookup for period.
func (t *table) stale(now time.Time, period time.Duration) []int {
	deepest := -1
	for i := range t.buckets {
		if len(t.buckets[i].live) > 0 {
			deepest = i
		}
	}
	var out []int
	for i := 0; i <= deepest; i++ {
		if now.Sub(t.buckets[i].refreshed) >= period {
			out = append(out, i)
		}
	}
	return out
}

// rebuild re-sorts every contact around a new address and id.
func (t *table) rebuild(self addr.Addr, selfID []byte, now time.Time) *table {
	n := newTable(self, selfID, t.k, t.idOf, now)
	n.gone = t.gone
	for _, b := range t.buckets {
		for _, c := range slices.Concat(b.live, b.spare) {
			if c.addr != self {
				n.learn(c.addr)
			}
		}
	}
	return n
}

func cmpDist(target, a, b []byte) int {
	switch {
	case closer(target, a, b):
		return -1
	case closer(target, b, a):
		return 1
	}
	return 0
}

func moveToEnd(l []*contact, c *contact) []*contact {
	return append(remove(l, c), c)
}

func remove(l []*contact, c *contact) []*contact {
	if i := slices.Index(l, c); i >= 0 {
		return slices.Delete(l, i, i+1)
	}
	return l
}
