package dir

import (
	"context"
	"errors"
	"fmt"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// storeTries is how many times a STORE goes to a member that does not
// acknowledge it: one more than other requests get, since a lost removal
// leaves a withdrawn value findable.
const storeTries = failLimit + 1

// maxHolders bounds the holders remembered for one own key.
const maxHolders = 4 * MaxK

// ownKey is a key this member publishes.
type ownKey struct {
	// holders are the members that acknowledged our value, with when it
	// expires there: Withdraw removes it from them as well as from the
	// current closest, which may differ after loss or churn.
	holders map[addr.Addr]time.Time
	// former are our earlier addresses (SetAddr), whose values the next
	// republish removes.
	former []addr.Addr
}

// noteHolders records the members that acknowledged our value until
// expires, forgetting those where it expired.
func (o *ownKey) noteHolders(acked []addr.Addr, now, expires time.Time) {
	for a, t := range o.holders {
		if !now.Before(t) {
			delete(o.holders, a)
		}
	}
	for _, a := range acked {
		if len(o.holders) < maxHolders {
			o.holders[a] = expires
		}
	}
}

func (o *ownKey) holderList() []addr.Addr {
	out := make([]addr.Addr, 0, len(o.holders))
	for a := range o.holders {
		out = append(out, a)
	}
	return out
}

// Publish stores the member's address under key at the K members closest
// to it, and locally, and keeps it republished every TReplicate until
// Withdraw. It returns once the closest members have acknowledged or
// failed twice; members that miss it get it at the next republish, so
// Publish fails only on a bad key, ctx's end or Close. Once past the key
// check and Close, the key stays published even if ctx ends first.
func (d *DHT) Publish(ctx context.Context, key []byte) error {
	if err := d.checkKey(key); err != nil {
		return err
	}
	unlock, err := d.lockKey(ctx, string(key))
	if err != nil {
		return err
	}
	defer unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	if d.own[string(key)] == nil {
		d.own[string(key)] = &ownKey{holders: map[addr.Addr]time.Time{}}
	}
	d.mu.Unlock()
	return d.publishLocked(ctx, string(key))
}

// republishKey stores our address under key again, unless it was withdrawn
// meanwhile: the key's lock keeps it from overtaking a Withdraw.
func (d *DHT) republishKey(ctx context.Context, key string) {
	unlock, err := d.lockKey(ctx, key)
	if err != nil {
		return
	}
	defer unlock()
	_ = d.publishLocked(ctx, key)
}

// publishLocked stores our address under an own key, locally and at the
// closest members, and removes our former addresses' values. The caller
// holds the key's lock.
func (d *DHT) publishLocked(ctx context.Context, key string) error {
	d.mu.Lock()
	o := d.own[key]
	if o == nil || d.closed {
		d.mu.Unlock()
		return nil
	}
	self := d.self
	former, oldHolders := o.former, o.holderList()
	d.store.put(key, self, time.Now().Add(d.cfg.TExpire), time.Time{}, true)
	d.mu.Unlock()

	_, closest, err := d.iterate(ctx, []byte(key), typeFindNode)
	if err != nil {
		return err
	}
	acked, err := d.storeAt(ctx, []byte(key), closest, []replica{{key, self, d.cfg.TExpire}})
	now := time.Now()
	d.mu.Lock()
	if len(former) > 0 {
		clear(o.holders)
		o.former = o.former[len(former):]
	}
	o.noteHolders(acked, now, now.Add(d.cfg.TExpire))
	d.mu.Unlock()
	for _, f := range former {
		d.sendRemovals(key, f, union(closest, oldHolders))
	}
	return err
}

// sendRemovals sends removals of a former address's value, from that
// address: only a value's own member may remove it. They ask for no
// acknowledgement, which would go to whoever has the address now.
func (d *DHT) sendRemovals(key string, former addr.Addr, to []addr.Addr) {
	m := message{typ: typeStore, sender: former, key: []byte(key), value: former}
	for _, a := range to {
		_ = d.send(a, &m)
	}
}

// Withdraw removes the member's address under key, locally, at the K
// members closest to key and at those that acknowledged it earlier, and
// stops republishing it. Holders keep a tombstone for TExpire so that
// replicas cannot bring the value back.
func (d *DHT) Withdraw(ctx context.Context, key []byte) error {
	if err := d.checkKey(key); err != nil {
		return err
	}
	unlock, err := d.lockKey(ctx, string(key))
	if err != nil {
		return err
	}
	defer unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	var earlier, former []addr.Addr
	if o := d.own[string(key)]; o != nil {
		earlier, former = o.holderList(), o.former
	}
	delete(d.own, string(key))
	self := d.self
	d.store.remove(string(key), self, time.Now().Add(d.cfg.TExpire))
	d.mu.Unlock()
	_, closest, err := d.iterate(ctx, key, typeFindNode)
	if err != nil {
		return err
	}
	targets := union(closest, earlier)
	for _, f := range former {
		d.sendRemovals(string(key), f, targets)
	}
	_, err = d.storeAt(ctx, key, targets, []replica{{string(key), self, 0}})
	return err
}

// Lookup returns the addresses of members where key is published, in no
// particular order. It answers from the local store if it holds values for
// key, and otherwise asks the members closest to key. It returns
// ErrNotFound once the K closest members have answered without a value,
// and ErrNoRoute, with the addresses, if every value found is published
// by a member Config.Routable says cannot be reached.
func (d *DHT) Lookup(ctx context.Context, key []byte) ([]addr.Addr, error) {
	d.stats.lookups.Add(1)
	vals, err := d.lookup(ctx, key)
	if err != nil {
		d.stats.lookupFailures.Add(1)
	}
	return vals, err
}

func (d *DHT) lookup(ctx context.Context, key []byte) ([]addr.Addr, error) {
	if err := d.checkKey(key); err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, ErrClosed
	}
	vals, hidden := d.store.values(string(key), time.Now(), maxPerKey, d.cfg.Routable)
	d.mu.Unlock()
	if len(vals) > 0 {
		return vals, nil
	}
	vals, _, err := d.iterate(ctx, key, typeFindValue)
	switch {
	case errors.Is(err, ErrNoRoute) || (len(hidden) > 0 && err == nil && len(vals) == 0):
		return union(hidden, vals), fmt.Errorf("lookup %x: %w", key[:4], ErrNoRoute)
	case err != nil:
		return nil, fmt.Errorf("lookup %x: %w", key[:4], err)
	case len(vals) == 0:
		return nil, fmt.Errorf("lookup %x: %w", key[:4], ErrNotFound)
	}
	return vals, nil
}

// storeAt sends a STORE of every value to every target and waits for their
// acknowledgements, sending each unacknowledged STORE up to storeTries
// times. It
// returns the targets that acknowledged every value.
func (d *DHT) storeAt(ctx context.Context, key []byte, targets []addr.Addr, vals []replica) ([]addr.Addr, error) {
	type job struct {
		dst   addr.Addr
		m     message
		tries int
	}
	var jobs []job
	for _, t := range targets {
		for _, v := range vals {
			m := message{typ: typeStore, key: key, value: v.pub}
			if v.left > 0 {
				m.lifetime = lifetime(v.left)
			}
			jobs = append(jobs, job{dst: t, m: m})
		}
	}
	done := make(chan reply, len(jobs))
	inflight := 0
	ask := func(i int) error {
		jobs[i].tries++
		inflight++
		return d.request(jobs[i].dst, jobs[i].m, i, done)
	}
	for i := range jobs {
		if err := ask(i); err != nil {
			return nil, err
		}
	}
	acks := map[addr.Addr]int{}
	for inflight > 0 {
		select {
		case r := <-done:
			inflight--
			switch {
			case r.err == nil:
				acks[r.from]++
			case errors.Is(r.err, ErrClosed):
				return nil, ErrClosed
			case !errors.Is(r.err, errGone) && jobs[r.tag].tries < storeTries:
				if err := ask(r.tag); err != nil {
					return nil, err
				}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var acked []addr.Addr
	for _, t := range targets {
		if acks[t] == len(vals) {
			acked = append(acked, t)
		}
	}
	return acked, nil
}

// union returns the addresses in a or b, once each.
func union(a, b []addr.Addr) []addr.Addr {
	seen := make(map[addr.Addr]bool, len(a)+len(b))
	var out []addr.Addr
	for _, l := range [][]addr.Addr{a, b} {
		for _, x := range l {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	return out
}
