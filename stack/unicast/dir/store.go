package dir

import (
	"math/rand/v2"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Bounds on what a member holds for others, so that no member can fill
// another's memory.
const (
	maxPerKey  = 64      // publishers of one key
	maxEntries = 1 << 16 // values and tombstones in all
)

// entry is one publisher's value under a key.
type entry struct {
	expires time.Time
	stored  time.Time // last STORE from another member; zero if never
	removed bool      // a tombstone: withdrawn, and not to be taken back from a replica
}

// store holds values by key and publisher. It is not safe for concurrent
// use.
type store struct {
	keys map[string]map[addr.Addr]*entry
	n    int // entries, tombstones included
}

func newStore() *store { return &store{keys: map[string]map[addr.Addr]*entry{}} }

// put stores pub under key until expires. A STORE from the publisher
// itself (direct) revives a tombstone; a replica does not. stored is the
// time of a STORE from another member, or zero for our own. put reports
// false if the store is full.
func (s *store) put(key string, pub addr.Addr, expires, stored time.Time, direct bool) bool {
	e := s.keys[key][pub]
	if e == nil {
		if s.n >= maxEntries || len(s.keys[key]) >= maxPerKey {
			return false
		}
		e = &entry{expires: expires}
		if s.keys[key] == nil {
			s.keys[key] = map[addr.Addr]*entry{}
		}
		s.keys[key][pub] = e
		s.n++
	}
	if e.removed {
		if !direct {
			return true
		}
		*e = entry{expires: expires}
	}
	e.expires = later(e.expires, expires)
	e.stored = later(e.stored, stored)
	return true
}

// remove withdraws pub's value under key, leaving a tombstone until until
// so that replicas holding it cannot bring it back.
func (s *store) remove(key string, pub addr.Addr, until time.Time) {
	if e := s.keys[key][pub]; e != nil {
		*e = entry{expires: until, removed: true}
		return
	}
	if s.n < maxEntries && len(s.keys[key]) < maxPerKey {
		s.put(key, pub, until, time.Time{}, true)
		s.keys[key][pub].removed = true
	}
}

// drop forgets pub's value under key, tombstone and all.
func (s *store) drop(key string, pub addr.Addr) {
	if _, ok := s.keys[key][pub]; ok {
		delete(s.keys[key], pub)
		s.n--
		if len(s.keys[key]) == 0 {
			delete(s.keys, key)
		}
	}
}

// values returns up to max publishers holding a live value under key that
// keep accepts (nil: all), a random choice if there are more, and those
// keep refused.
func (s *store) values(key string, now time.Time, max int, keep func(addr.Addr) bool) (out, hidden []addr.Addr) {
	for pub, e := range s.keys[key] {
		if e.removed || !now.Before(e.expires) {
			continue
		}
		if keep != nil && !keep(pub) {
			hidden = append(hidden, pub)
			continue
		}
		out = append(out, pub)
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(len(out), max)], hidden
}

// live counts the values that are neither expired nor withdrawn.
func (s *store) live(now time.Time) int {
	n := 0
	for _, m := range s.keys {
		for _, e := range m {
			if !e.removed && now.Before(e.expires) {
				n++
			}
		}
	}
	return n
}

// expire forgets values and tombstones past their time.
func (s *store) expire(now time.Time) {
	for key, m := range s.keys {
		for pub, e := range m {
			if !now.Before(e.expires) {
				s.drop(key, pub)
			}
		}
	}
}

// replica is a value to hand to another member.
type replica struct {
	key  string
	pub  addr.Addr
	left time.Duration // lifetime left
}

// replicas lists the live values that another member's STORE did not
// refresh since since, skipping our own (they are republished instead).
func (s *store) replicas(self addr.Addr, now, since time.Time) []replica {
	var out []replica
	for key, m := range s.keys {
		for pub, e := range m {
			if pub != self && !e.removed && now.Before(e.expires) && !e.stored.After(since) {
				out = append(out, replica{key, pub, e.expires.Sub(now)})
			}
		}
	}
	return out
}

// held lists the live values under key, with their lifetimes left.
func (s *store) held(key string, now time.Time) []replica {
	var out []replica
	for pub, e := range s.keys[key] {
		if !e.removed && now.Before(e.expires) {
			out = append(out, replica{key, pub, e.expires.Sub(now)})
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
