package dir

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// The maintenance goroutine runs timers and starts tasks, one of each kind
// at a time (a task asked for by SetAddr or AddContact while it runs runs
// again after; a timer's is skipped):
//
//	AddContact (first) / SetAddr ─► join: look up own id, refresh far buckets
//	every TRefresh/4 ─────────────► refresh buckets without a lookup for TRefresh
//	every TReplicate (±10%) ──────► republish own keys, replicate held values
//	SetAddr ──────────────────────► republish own keys
//	contact went live ────────────► hand values over to it (inline, no wait)
//	every min(TExpire/4, 1 min) ──► forget expired values and old removals

type task int

const (
	taskJoin task = iota
	taskRefresh
	taskReplicate
	taskRepublish
	numTasks
)

// taskParallel bounds the keys one task works on at once.
const taskParallel = 4

// run is the maintenance goroutine.
func (d *DHT) run() {
	defer d.wg.Done()
	repl := time.NewTimer(jitter(d.cfg.TReplicate))
	defer repl.Stop()
	refresh := time.NewTicker(max(d.cfg.TRefresh/4, time.Millisecond))
	defer refresh.Stop()
	expire := time.NewTicker(min(d.cfg.TExpire/4, time.Minute))
	defer expire.Stop()
	var running, again [numTasks]bool
	ended := make(chan task, numTasks)
	start := func(t task, rerun bool) {
		if running[t] {
			again[t] = again[t] || rerun
			return
		}
		running[t] = true
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.runTask(t)
			ended <- t
		}()
	}
	for {
		select {
		case <-d.ctx.Done():
			return
		case t := <-d.wake:
			start(t, true)
		case t := <-ended:
			running[t] = false
			if again[t] {
				again[t] = false
				start(t, false)
			}
		case a := <-d.newContact:
			d.handOver(a)
		case <-repl.C:
			start(taskReplicate, false)
			repl.Reset(jitter(d.cfg.TReplicate))
		case <-refresh.C:
			start(taskRefresh, false)
		case <-expire.C:
			d.expire()
		}
	}
}

func (d *DHT) runTask(t task) {
	switch t {
	case taskJoin:
		d.join(d.ctx)
		// Keys published before the join reached only the contacts
		// known then (perhaps none): store them where they belong now.
		d.republish(d.ctx)
	case taskRefresh:
		d.refresh(d.ctx)
	case taskReplicate:
		d.replicate(d.ctx)
	case taskRepublish:
		d.republish(d.ctx)
	}
}

// jitter spreads a period by ±10% so that members do not act in step.
func jitter(p time.Duration) time.Duration {
	return p - p/10 + rand.N(p/5+1)
}

// join looks up our own id, which fills the buckets near us, then a random
// id in every bucket farther than our closest contact.
func (d *DHT) join(ctx context.Context) {
	d.mu.Lock()
	self := d.selfID
	d.mu.Unlock()
	if _, _, err := d.iterate(ctx, self, typeFindNode); err != nil {
		return
	}
	d.mu.Lock()
	near := d.table.closest(self, 1, addr.None)
	d.mu.Unlock()
	if len(near) == 0 {
		return
	}
	for i := range prefixLen(self, near[0].id) {
		if _, _, err := d.iterate(ctx, randomInBucket(self, i), typeFindNode); err != nil {
			return
		}
	}
}

// refresh looks up a random id in every bucket that saw no lookup for
// TRefresh.
func (d *DHT) refresh(ctx context.Context) {
	d.mu.Lock()
	self := d.selfID
	stale := d.table.stale(time.Now(), d.cfg.TRefresh)
	d.mu.Unlock()
	for _, i := range stale {
		if _, _, err := d.iterate(ctx, randomInBucket(self, i), typeFindNode); err != nil {
			return
		}
	}
}

// replicate republishes own keys and stores held values at the current K
// closest members, except values another member stored here since the last
// round: the storer sent them to the other holders as well.
func (d *DHT) replicate(ctx context.Context) {
	now := time.Now()
	d.mu.Lock()
	reps := d.store.replicas(d.self, now, d.lastRound)
	d.lastRound = now
	d.mu.Unlock()
	byKey := map[string][]replica{}
	for _, r := range reps {
		byKey[r.key] = append(byKey[r.key], r)
	}
	var work []func()
	for key, vals := range byKey {
		work = append(work, func() {
			if _, closest, err := d.iterate(ctx, []byte(key), typeFindNode); err == nil {
				_, _ = d.storeAt(ctx, []byte(key), closest, vals)
			}
		})
	}
	for _, key := range d.ownKeys() {
		work = append(work, func() { d.republishKey(ctx, key) })
	}
	parallel(work)
}

// republish republishes every own key.
func (d *DHT) republish(ctx context.Context) {
	var work []func()
	for _, key := range d.ownKeys() {
		work = append(work, func() { d.republishKey(ctx, key) })
	}
	parallel(work)
}

func (d *DHT) ownKeys() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := make([]string, 0, len(d.own))
	for k := range d.own {
		keys = append(keys, k)
	}
	return keys
}

// parallel runs the functions, taskParallel at a time.
func parallel(work []func()) {
	sem := make(chan struct{}, taskParallel)
	var wg sync.WaitGroup
	for _, f := range work {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f()
		})
	}
	wg.Wait()
}

// handOver gives a contact that went live the values it should hold
// (Kademlia's join rule): those under keys it is among the K closest to,
// by what we know, when we are too. Every such holder sends, so a
// newcomer gets up to K copies of a value: they are small, and one holder
// may not know it yet. Periodic replication makes up for losses.
func (d *DHT) handOver(a addr.Addr) {
	now := time.Now()
	d.mu.Lock()
	c := d.table.byAddr[a]
	if c == nil || !c.live {
		d.mu.Unlock()
		return
	}
	var vals []replica
	for key := range d.store.keys {
		k := []byte(key)
		above := d.table.closerThan(k, d.selfID)
		if closer(k, c.id, d.selfID) {
			above-- // the newcomer itself
		}
		rank := d.table.closerThan(k, c.id)
		if closer(k, d.selfID, c.id) {
			rank++
		}
		if above < d.cfg.K && rank < d.cfg.K {
			vals = append(vals, d.store.held(key, now)...)
		}
	}
	self := d.self
	d.mu.Unlock()
	for _, v := range vals {
		m := message{typ: typeStore, sender: self, key: []byte(v.key), value: v.pub, lifetime: lifetime(v.left)}
		_ = d.send(a, &m)
	}
}

// expire forgets expired values and old removals of contacts.
func (d *DHT) expire() {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.store.expire(now)
	d.table.pruneGone(now, d.cfg.TRefresh)
}
