package dir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"o7s.dev/ouroboros/internal/ratelog"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Transport carries the DHT's messages to other members.
type Transport interface {
	// Send sends one message to the member at dst; it may be lost. It must
	// not block for long, and it may keep msg.
	Send(dst addr.Addr, msg []byte) error
}

var (
	// ErrNotFound is returned by Lookup when the closest members hold no
	// value for the key.
	ErrNotFound = errors.New("dir: name not found")
	// ErrClosed is returned by calls on a closed DHT, and by those it
	// interrupts.
	ErrClosed = errors.New("dir: closed")
	// ErrNoRoute is returned by Lookup when the key is published only by
	// members that Config.Routable says cannot be reached: members that
	// left the layer, or restarted under another address.
	ErrNoRoute = errors.New("dir: published only by members with no route from here")
)

// DHT is one member's part of the layer's directory. Its methods are safe
// for concurrent use.
type DHT struct {
	cfg   Config
	tr    Transport
	log   *slog.Logger
	rl    ratelog.Limiter // for what other members can cause per message
	stats counters

	mu        sync.Mutex
	self      addr.Addr
	selfID    []byte
	table     *table
	store     *store
	own       map[string]*ownKey  // keys published and not withdrawn
	pending   map[uint64]*request // requests waiting for an answer, by cookie
	keyLocks  map[string]*keyLock
	lastRound time.Time // of replication
	started   bool
	closed    bool

	ctx        context.Context // ends at Close
	cancel     context.CancelFunc
	wg         sync.WaitGroup // the maintenance goroutine and its tasks
	wake       chan task      // asks the maintenance goroutine for a task
	newContact chan addr.Addr // contacts that went live, for hand-over
}

// New returns the DHT of the member at self. It sends through tr, which
// may be used as soon as New returns; Start begins the background work.
func New(cfg Config, self addr.Addr, tr Transport) (*DHT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if self == addr.None {
		return nil, errors.New("dir: own address is 0")
	}
	if tr == nil {
		return nil, errors.New("dir: no transport")
	}
	id := cfg.ID(self)
	if len(id) != cfg.HashLen {
		return nil, fmt.Errorf("dir: ID gives %d bytes, HashLen is %d", len(id), cfg.HashLen)
	}
	now := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	return &DHT{cfg: cfg, tr: tr, log: cfg.Log, rl: ratelog.Limiter{Logger: cfg.Log},
		self: self, selfID: id, table: newTable(self, id, cfg.K, cfg.ID, now),
		store: newStore(), own: map[string]*ownKey{}, pending: map[uint64]*request{},
		keyLocks: map[string]*keyLock{}, lastRound: now,
		ctx: ctx, cancel: cancel,
		wake: make(chan task, numTasks), newContact: make(chan addr.Addr, 256)}, nil
}

// Start starts the maintenance goroutine: joining, bucket refresh,
// republishing, replication and expiry. Calling it again does nothing.
func (d *DHT) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started || d.closed {
		return
	}
	d.started = true
	d.wg.Add(1)
	go d.run()
}

// Close stops the DHT: calls waiting for answers return ErrClosed, and
// Close returns once the background work has ended. Values published here
// stay at other members until they expire.
func (d *DHT) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	reqs := d.pending
	d.pending = map[uint64]*request{}
	d.mu.Unlock()
	for _, r := range reqs {
		r.timer.Stop()
		r.done <- reply{from: r.dst, tag: r.tag, err: ErrClosed}
	}
	d.cancel()
	d.wg.Wait()
}

// SetAddr changes the member's address, after an address collision: the
// buckets are re-sorted around the new id, and own values are republished
// under the new address and removed under the old one (by removals that
// claim the old address as their sender; lost ones leave the old entries
// to expire).
func (d *DHT) SetAddr(a addr.Addr) {
	id := d.cfg.ID(a)
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if a == addr.None || a == d.self || d.closed || len(id) != d.cfg.HashLen {
		return
	}
	old := d.self
	d.self, d.selfID = a, id
	d.table = d.table.rebuild(a, id, now)
	for k, o := range d.own {
		o.former = append(o.former, old)
		d.store.drop(k, old)
		d.store.put(k, a, now.Add(d.cfg.TExpire), time.Time{}, true)
	}
	d.wakeLocked(taskRepublish)
	d.wakeLocked(taskJoin)
}

// AddContact tells the DHT of a member known to exist, from routing or
// enrollment. The first contact makes the DHT join: it looks up its own id
// to fill its buckets.
func (d *DHT) AddContact(a addr.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	first := d.table.len() == 0
	if d.table.seen(a) {
		d.noteLiveLocked(a)
		if first {
			d.wakeLocked(taskJoin)
		}
	}
}

// RemoveContact tells the DHT that a member is gone. Requests waiting for
// its answer fail at once, and its address is not relearned from other
// members' lists for TRefresh.
func (d *DHT) RemoveContact(a addr.Addr) {
	d.mu.Lock()
	d.table.remove(a, time.Now())
	var failed []*request
	for c, r := range d.pending {
		if r.dst == a {
			delete(d.pending, c)
			failed = append(failed, r)
		}
	}
	d.mu.Unlock()
	for _, r := range failed {
		r.timer.Stop()
		r.done <- reply{from: a, tag: r.tag, err: errGone}
	}
}

// Stats returns the DHT's counters.
func (d *DHT) Stats() Stats {
	var s Stats
	d.mu.Lock()
	s.Contacts = d.table.len()
	s.Values = d.store.live(time.Now())
	s.Own = len(d.own)
	d.mu.Unlock()
	d.stats.fill(&s)
	return s
}

// noteLiveLocked passes a contact that went live to the hand-over of
// values; if the queue is full, periodic replication does the work.
func (d *DHT) noteLiveLocked(a addr.Addr) {
	select {
	case d.newContact <- a:
	default:
	}
}

// wakeLocked asks the maintenance goroutine for a task.
func (d *DHT) wakeLocked(t task) {
	select {
	case d.wake <- t:
	default:
	}
}

// checkKey validates a key given to Publish, Withdraw or Lookup.
func (d *DHT) checkKey(key []byte) error {
	if len(key) != d.cfg.HashLen {
		return fmt.Errorf("dir: key of %d bytes, the layer's hash has %d", len(key), d.cfg.HashLen)
	}
	return nil
}

// keyLock serialises the publishing of one key: Publish, Withdraw and
// republishing, so that a republish cannot overtake a Withdraw.
type keyLock struct {
	ch   chan struct{}
	refs int
}

// lockKey takes the key's lock, or fails when ctx ends first.
func (d *DHT) lockKey(ctx context.Context, key string) (unlock func(), err error) {
	d.mu.Lock()
	l := d.keyLocks[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		d.keyLocks[key] = l
	}
	l.refs++
	d.mu.Unlock()
	release := func() {
		d.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(d.keyLocks, key)
		}
		d.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
