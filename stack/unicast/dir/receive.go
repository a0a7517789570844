package dir

import (
	"errors"
	"log/slog"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// The receive path, called by the layer for every DHT message:
//
//	Receive ─► parseMessage ─► refuse (closed, from us) ─┬─ request ─► learn sender ─► answer ─► Send
//	                                                     └─ response ─► match cookie ─► learn sender
//	                                                                   and contacts ─► reply to the waiting call
//
// Nothing here blocks: answers go straight to the Transport and replies
// into channels with room for them.

// Receive handles one message from another member. Bad messages are dropped
// and counted; msg is not kept after Receive returns.
func (d *DHT) Receive(msg []byte) {
	d.stats.received.Add(1)
	m, err := parseMessage(msg, d.cfg.HashLen)
	if err != nil {
		var we *wireError
		if errors.As(err, &we) {
			d.drop(we.cause)
		} else {
			d.drop(dropMalformed)
		}
		return
	}
	if isResponse(m.typ) {
		d.receiveResponse(&m)
	} else {
		d.receiveRequest(&m)
	}
}

func (d *DHT) drop(c dropCause) { d.stats.dropped[c].Add(1) }

// refuseLocked returns why a well-formed message is not taken, or -1.
func (d *DHT) refuseLocked(m *message) dropCause {
	switch {
	case d.closed:
		return dropClosed
	case m.sender == d.self:
		return dropSelf
	}
	return -1
}

func (d *DHT) receiveRequest(m *message) {
	now := time.Now()
	d.mu.Lock()
	if c := d.refuseLocked(m); c >= 0 {
		d.mu.Unlock()
		d.drop(c)
		return
	}
	if d.table.seen(m.sender) {
		d.noteLiveLocked(m.sender)
	}
	out := message{sender: d.self, key: m.key, cookie: m.cookie}
	switch m.typ {
	case typeStore:
		out.typ = typeStoreAck
		d.storeLocked(m, now)
	case typeFindNode:
		out.typ = typeNodes
		out.contacts = d.closestLocked(m.key, m.sender)
	case typeFindValue:
		out.typ = typeValue
		out.values, _ = d.store.values(string(m.key), now, maxValues, d.cfg.Routable)
		if len(out.values) == 0 {
			out.contacts = d.closestLocked(m.key, m.sender)
		}
	}
	d.mu.Unlock()
	if m.typ == typeStore && m.cookie == 0 {
		return
	}
	if err := d.send(m.sender, &out); err != nil {
		d.rl.Log(slog.LevelDebug, "answer-not-sent", "dir: answer not sent", "to", m.sender, "err", err)
	}
}

// storeLocked carries out a STORE. A full store still acknowledges it:
// the sender is alive, and must not count us as gone.
func (d *DHT) storeLocked(m *message, now time.Time) {
	key := string(m.key)
	if m.lifetime == 0 {
		if m.value != m.sender {
			d.drop(dropNotPublisher)
			return
		}
		d.store.remove(key, m.value, now.Add(d.cfg.TExpire))
		return
	}
	life := min(time.Duration(m.lifetime)*time.Second, d.cfg.TExpire)
	if !d.store.put(key, m.value, now.Add(life), now, m.value == m.sender) {
		d.drop(dropStoreFull)
	}
}

// closestLocked lists our contacts closest to key for an answer to asker.
func (d *DHT) closestLocked(key []byte, asker addr.Addr) []addr.Addr {
	cs := d.table.closest(key, min(d.cfg.K, maxContacts), asker)
	out := make([]addr.Addr, len(cs))
	for i, c := range cs {
		out[i] = c.addr
	}
	return out
}

func (d *DHT) receiveResponse(m *message) {
	d.mu.Lock()
	if c := d.refuseLocked(m); c >= 0 {
		d.mu.Unlock()
		d.drop(c)
		return
	}
	r := d.matchLocked(m)
	if r == nil {
		d.mu.Unlock()
		d.drop(dropCookie)
		return
	}
	if d.table.seen(m.sender) {
		d.noteLiveLocked(m.sender)
	}
	for _, a := range m.contacts {
		d.table.learn(a)
	}
	d.mu.Unlock()
	m.key = nil // it aliases the caller's buffer
	r.done <- reply{from: m.sender, tag: r.tag, msg: *m}
}
