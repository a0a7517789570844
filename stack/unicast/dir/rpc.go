package dir

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Every request gets exactly one reply on its channel: the answer, a
// timeout, the contact's removal or the DHT's closing. A caller's channel
// holds as many replies as it keeps requests in flight, so delivering one
// never blocks.
//
//	request ─► pending[cookie] + timer ─► Send
//	Receive(response) ─► pending[cookie] matches sender, type, key ─► reply
//	timer fires ─► table.failed(dst) ─► reply errTimeout

var (
	errTimeout = errors.New("dir: no answer in time")
	errGone    = errors.New("dir: contact removed")
)

// request is a message waiting for its answer.
type request struct {
	dst   addr.Addr
	resp  uint8  // the answer's type
	key   string // the answer echoes it
	tag   int    // the caller's, returned in the reply
	done  chan<- reply
	timer *time.Timer
}

// reply is what became of a request.
type reply struct {
	from addr.Addr
	tag  int
	msg  message // the answer, key left out; valid if err is nil
	err  error
}

// responseType is the type that answers a request type.
func responseType(typ uint8) uint8 {
	switch typ {
	case typeStore:
		return typeStoreAck
	case typeFindNode:
		return typeNodes
	}
	return typeValue
}

// request sends m to dst under a fresh cookie, our address as sender, and
// arranges for one reply on done. It fails only when the DHT is closed.
func (d *DHT) request(dst addr.Addr, m message, tag int, done chan<- reply) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	m.sender = d.self
	m.cookie = d.cookieLocked()
	r := &request{dst: dst, resp: responseType(m.typ), key: string(m.key), tag: tag, done: done}
	d.pending[m.cookie] = r
	cookie := m.cookie
	r.timer = time.AfterFunc(d.cfg.ResponseTimeout, func() { d.expireRequest(cookie) })
	d.mu.Unlock()
	if err := d.send(dst, &m); err != nil {
		d.failRequest(cookie, err)
	}
	return nil
}

// cookieLocked picks a cookie that is not 0 and not in use.
func (d *DHT) cookieLocked() uint64 {
	for {
		c := rand.Uint64()
		if _, used := d.pending[c]; c != 0 && !used {
			return c
		}
	}
}

// expireRequest ends a request that got no answer in time.
func (d *DHT) expireRequest(cookie uint64) {
	if d.failRequest(cookie, errTimeout) {
		d.stats.timeouts.Add(1)
	}
}

// failRequest ends a request without an answer and counts it against its
// destination. It reports false if the request had already ended.
func (d *DHT) failRequest(cookie uint64, err error) bool {
	d.mu.Lock()
	r := d.pending[cookie]
	if r == nil {
		d.mu.Unlock()
		return false
	}
	delete(d.pending, cookie)
	d.table.failed(r.dst, time.Now())
	d.mu.Unlock()
	r.timer.Stop()
	r.done <- reply{from: r.dst, tag: r.tag, err: err}
	return true
}

// matchLocked takes the request that m answers off the pending list, or
// returns nil if m answers none.
func (d *DHT) matchLocked(m *message) *request {
	r := d.pending[m.cookie]
	if r == nil || r.dst != m.sender || r.resp != m.typ || r.key != string(m.key) {
		return nil
	}
	delete(d.pending, m.cookie)
	r.timer.Stop()
	return r
}

// send encodes m and hands it to the transport.
func (d *DHT) send(dst addr.Addr, m *message) error {
	d.stats.sent.Add(1)
	if err := d.tr.Send(dst, m.appendTo(make([]byte, 0, MaxMessage))); err != nil {
		d.stats.sendErrors.Add(1)
		return fmt.Errorf("dir: send to %v: %w", dst, err)
	}
	return nil
}

// lifetime converts what is left of a value's life to STORE seconds,
// rounding up so that a live value never goes out as a removal.
func lifetime(left time.Duration) uint32 {
	s := (left + time.Second - 1) / time.Second
	return uint32(min(max(s, 1), math.MaxUint32))
}
