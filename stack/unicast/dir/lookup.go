package dir

import (
	"context"
	"errors"
	"slices"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// An iterative lookup keeps a shortlist of candidates, closest to the key
// first, and asks the closest ones it has not asked yet, alpha at a time:
//
//	table.closest ─► shortlist ─► FIND_NODE/FIND_VALUE (≤ alpha in flight)
//	                    ▲                          │
//	                    └──── contacts in answers ◄┘ values: done
//
// It ends when the K closest candidates that did not fail have all
// answered. A candidate that does not answer is asked once more, then
// left out.

// maxAsks bounds the requests of one lookup, whatever members answer.
const maxAsks = 256

type candState uint8

const (
	candFresh    candState = iota // not asked, or to be asked again
	candAsked                     // request in flight
	candAnswered                  // answered
	candFailed                    // did not answer twice, or removed
)

type candidate struct {
	addr  addr.Addr
	id    []byte
	state candState
	tries int
}

type lookup struct {
	d        *DHT
	key      []byte
	typ      uint8 // typeFindNode or typeFindValue
	cands    []*candidate
	known    map[addr.Addr]*candidate
	replies  chan reply
	inflight int
	asks     int
}

// iterate looks key up. For FIND_VALUE it returns the first values found
// that Config.Routable accepts; otherwise, or if no member has any, the
// closest members that answered, closest first; if values were found but
// none routable, those values and ErrNoRoute.
func (d *DHT) iterate(ctx context.Context, key []byte, typ uint8) (values, closest []addr.Addr, err error) {
	l := &lookup{d: d, key: key, typ: typ, known: map[addr.Addr]*candidate{},
		replies: make(chan reply, d.cfg.Alpha)}
	d.mu.Lock()
	d.table.touch(key, time.Now())
	for _, c := range d.table.closest(key, d.cfg.K, addr.None) {
		l.insert(c.addr, c.id)
	}
	d.mu.Unlock()
	var hidden []addr.Addr
	for {
		if err := l.fill(); err != nil {
			return nil, nil, err
		}
		if l.inflight == 0 || l.complete() {
			if len(hidden) > 0 {
				return hidden, l.answered(), ErrNoRoute
			}
			return nil, l.answered(), nil
		}
		select {
		case r := <-l.replies:
			l.inflight--
			if errors.Is(r.err, ErrClosed) {
				return nil, nil, ErrClosed
			}
			if vals := l.handle(r); len(vals) > 0 {
				if ok := d.routable(vals); len(ok) > 0 {
					return ok, nil, nil
				}
				hidden = union(hidden, vals) // a holder of only stale values: ask on
			}
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// routable returns the values Config.Routable accepts.
func (d *DHT) routable(vals []addr.Addr) []addr.Addr {
	if d.cfg.Routable == nil {
		return vals
	}
	var out []addr.Addr
	for _, a := range vals {
		if d.cfg.Routable(a) {
			out = append(out, a)
		}
	}
	return out
}

// fill sends requests to the closest fresh candidates while fewer than
// alpha are in flight.
func (l *lookup) fill() error {
	for l.inflight < l.d.cfg.Alpha && l.asks < maxAsks {
		c := l.next()
		if c == nil {
			return nil
		}
		c.state = candAsked
		c.tries++
		l.asks++
		if err := l.d.request(c.addr, message{typ: l.typ, key: l.key}, 0, l.replies); err != nil {
			return err
		}
		l.inflight++
	}
	return nil
}

// next returns the closest fresh candidate among the K closest that have
// not failed.
func (l *lookup) next() *candidate {
	n := 0
	for _, c := range l.cands {
		if c.state == candFailed {
			continue
		}
		if n++; n > l.d.cfg.K {
			return nil
		}
		if c.state == candFresh {
			return c
		}
	}
	return nil
}

// complete reports whether the K closest candidates that have not failed
// have all answered.
func (l *lookup) complete() bool {
	n := 0
	for _, c := range l.cands {
		if c.state == candFailed {
			continue
		}
		if n++; n > l.d.cfg.K {
			return true
		}
		if c.state != candAnswered {
			return false
		}
	}
	return true
}

// answered lists the K closest candidates that answered.
func (l *lookup) answered() []addr.Addr {
	var out []addr.Addr
	for _, c := range l.cands {
		if c.state == candAnswered && len(out) < l.d.cfg.K {
			out = append(out, c.addr)
		}
	}
	return out
}

// handle takes in a reply and returns the values it carries.
func (l *lookup) handle(r reply) []addr.Addr {
	c := l.known[r.from]
	if c == nil {
		return nil
	}
	if r.err != nil {
		c.state = candFresh
		if errors.Is(r.err, errGone) || c.tries >= failLimit {
			c.state = candFailed
		}
		return nil
	}
	c.state = candAnswered
	if len(r.msg.values) > 0 {
		return r.msg.values
	}
	l.learn(r.msg.contacts)
	return nil
}

// learn adds the contacts of an answer to the shortlist, leaving out our
// own address and members removed lately.
func (l *lookup) learn(contacts []addr.Addr) {
	var fresh []addr.Addr
	l.d.mu.Lock()
	for _, a := range contacts {
		if l.known[a] == nil && a != l.d.self && !l.d.table.isGone(a) {
			fresh = append(fresh, a)
		}
	}
	l.d.mu.Unlock()
	for _, a := range fresh {
		if id := l.d.cfg.ID(a); len(id) == len(l.key) {
			l.insert(a, id)
		}
	}
}

// insert adds a candidate in its place by distance to the key.
func (l *lookup) insert(a addr.Addr, id []byte) {
	c := &candidate{addr: a, id: id}
	i, _ := slices.BinarySearchFunc(l.cands, c, func(x, y *candidate) int {
		return cmpDist(l.key, x.id, y.id)
	})
	l.cands = slices.Insert(l.cands, i, c)
	l.known[a] = c
}
