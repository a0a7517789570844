package unicast

// Link-state routing glue. Each member originates one LSU listing its
// neighbours over data-transfer flows, floods it on management flows, and
// refloods it every LSUpdate; a new management neighbour gets the whole
// database. Routes are recomputed when the database changes and at least
// every LSRecalc, when LSUs older than LSTimeout are also dropped. The same
// loop sends the keepalives that find dead adjacencies within LSDead.
//
// Addresses are unique: an enrollee gets one no member it knows has, and
// when two members still end up with the same address (enrolled at the same
// time through different members), each sees an LSU for its address with
// another node id; the one with the lower node id takes a new address.

import (
	"log/slog"
	"maps"
	"slices"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/dt"
	"o7s.dev/ouroboros/stack/unicast/routing"
)

// minRecompute spaces recomputations: while LSUs flood in (a member joins,
// a link flaps) one computation covers many of them.
const minRecompute = 20 * time.Millisecond

// originateLocked makes and floods this member's LSU.
func (p *IPCP) originateLocked() {
	if p.db == nil {
		return
	}
	seen := map[addr.Addr]bool{}
	var links []routing.Link
	for _, f := range p.memberList() {
		a := addr.Addr(f.peerAddr.Load())
		if f.out != nil && !seen[a] && a != addr.None && a != p.Addr() {
			seen[a] = true
			links = append(links, routing.Link{Neighbour: a, Metric: 1})
		}
	}
	slices.SortFunc(links, func(x, y routing.Link) int {
		switch {
		case x.Neighbour < y.Neighbour:
			return -1
		case x.Neighbour > y.Neighbour:
			return 1
		}
		return 0
	})
	now := time.Now()
	p.ownSeq = max(p.ownSeq+1, uint64(now.UnixNano()))
	u := routing.LSU{Origin: p.Addr(), NodeID: p.nodeID, Seq: p.ownSeq, Links: links}
	p.db.Update(u, now)
	p.flood(u, nil)
}

// flood sends an LSU on every management flow but the one it came in. It
// takes no lock: flooding storms must not hold up keepalives.
func (p *IPCP) flood(u routing.LSU, except *memberFlow) {
	msg, err := u.AppendBinary(nil)
	if err != nil {
		p.log.Error("routing: cannot encode an LSU", "err", err)
		return
	}
	for _, f := range p.memberList() {
		if f.comp == compMgmt && f != except {
			_, _ = f.port.TryWriteBatch([][]byte{msg})
		}
	}
}

// sendDatabase gives a new management neighbour every LSU.
func (p *IPCP) sendDatabase(f *memberFlow) {
	for _, u := range p.db.All() {
		if msg, err := u.AppendBinary(nil); err == nil {
			_, _ = f.port.TryWriteBatch([][]byte{msg})
		}
	}
}

// routingMessage handles a message on a management flow.
func (p *IPCP) routingMessage(f *memberFlow, b []byte) {
	t, err := routing.MessageType(b)
	if err != nil || t != routing.TypeLSU {
		p.stats.badControl.Add(1)
		return
	}
	u, err := routing.ParseLSU(b)
	if err != nil {
		p.stats.badControl.Add(1)
		return
	}
	if u.Origin == p.Addr() {
		p.mu.Lock()
		next := p.ownLSUSeenLocked(u)
		d := p.dht
		p.mu.Unlock()
		if next != addr.None {
			d.SetAddr(next)
			p.requestRecompute()
		}
		return
	}
	accepted, conflict := p.db.Update(u, time.Now())
	if accepted {
		p.flood(u, f)
	} else if ours, ok := p.db.Get(u.Origin); ok && ours.Seq > u.Seq {
		// The neighbour is behind: bring it up to date at once.
		if msg, err := ours.AppendBinary(nil); err == nil {
			_, _ = f.port.TryWriteBatch([][]byte{msg})
		}
	}
	if conflict {
		p.rl.Log(slog.LevelWarn, "address-conflict", "routing: two members claim one address", "address", u.Origin)
	}
	if accepted {
		p.requestRecompute()
	}
}

// ownLSUSeenLocked handles an LSU for this member's own address: one of
// its own that is newer than what it knows (it cannot be, unless the
// sequence was lost track of) is superseded; another member's means an
// address collision. It returns the new address if the member
// had to take one.
func (p *IPCP) ownLSUSeenLocked(u routing.LSU) addr.Addr {
	if u.NodeID == p.nodeID {
		if u.Seq > p.ownSeq {
			p.ownSeq = u.Seq
			p.originateLocked()
		}
		return addr.None
	}
	if p.nodeID > u.NodeID {
		// We keep the address; make our claim the newer one everywhere.
		p.ownSeq = max(p.ownSeq, u.Seq)
		p.originateLocked()
		return addr.None
	}
	old := p.Addr()
	next := addr.Pick(p.cfg.AddrSize, func(a addr.Addr) bool {
		_, known := p.db.Get(a)
		return known || a == old
	})
	p.self.Store(uint64(next))
	p.db.Remove(old)
	p.db.SetSelf(next)
	p.originateLocked()
	p.rl.Log(slog.LevelWarn, "readdressed", "address collision: took a new address", "old", old, "new", next)
	return next
}

// requestRecompute asks the routing loop to recompute routes soon.
func (p *IPCP) requestRecompute() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// routingLoop runs the layer's timers: keepalives, LSU refresh, expiry and
// recomputation.
func (p *IPCP) routingLoop() {
	defer p.wg.Done()
	p.mu.Lock()
	cfg := p.cfg
	p.mu.Unlock()
	tick := time.NewTicker(cfg.helloInterval)
	defer tick.Stop()
	lastUpdate, lastRecalc := time.Now(), time.Now()
	contacts := map[addr.Addr]bool{}
	var lastCompute time.Time
	var pending <-chan time.Time // a recomputation held back by minRecompute
	compute := func() {
		pending = nil
		p.recompute(contacts)
		lastCompute = time.Now()
	}
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.kick:
			if wait := minRecompute - time.Since(lastCompute); wait <= 0 {
				compute()
			} else if pending == nil {
				pending = time.After(wait)
			}
		case <-pending:
			compute()
		case now := <-tick.C:
			p.sendKeepalives(now)
			if now.Sub(lastUpdate) >= cfg.LSUpdate {
				lastUpdate = now
				p.mu.Lock()
				p.originateLocked()
				p.mu.Unlock()
			}
			if now.Sub(lastRecalc) >= cfg.LSRecalc {
				lastRecalc = now
				p.db.Expire(now, cfg.LSTimeout)
				compute()
			}
		}
	}
}

// recompute rebuilds the forwarding tables from the database, and tells
// the directory which members are reachable. contacts is what it was told before.
func (p *IPCP) recompute(contacts map[addr.Addr]bool) {
	p.mu.Lock()
	self, policy, ttl := p.Addr(), p.cfg.Routing, p.cfg.TTL
	p.mu.Unlock()
	routes := p.db.Compute(self, policy)
	table := make(map[addr.Addr]dt.NextHops, len(routes))
	for dst, r := range routes {
		table[dst] = dt.NextHops{Hops: r.NextHops, Multipath: r.Multipath}
	}
	before := p.pff[0].Routes()
	for _, t := range p.pff {
		t.Replace(table)
	}
	if !sameRoutes(before, p.pff[0].Routes()) {
		p.reports.routesChanged(time.Now())
	}
	// The directory's contacts are the members it can reach now: a member
	// whose LSU lingers in the database after it left (or was re-addressed),
	// or one further away than the TTL lets a packet go, would only cost
	// lookups a timeout. Every link has metric 1, so a route's cost is its
	// length in hops, and a packet with TTL t crosses t hops.
	members := make(map[addr.Addr]bool, len(routes))
	for a, r := range routes {
		if r.Cost <= uint32(ttl) {
			members[a] = true
		} else {
			p.dht.RemoveContact(a) // nor learned from others' answers
		}
	}
	for a := range members {
		if !contacts[a] {
			p.dht.AddContact(a)
		}
	}
	for a := range maps.Keys(contacts) {
		if !members[a] {
			p.dht.RemoveContact(a)
			delete(contacts, a)
		}
	}
	maps.Copy(contacts, members)
}

// sameRoutes reports whether two forwarding tables hold the same routes.
func sameRoutes(a, b map[addr.Addr]dt.NextHops) bool {
	return maps.EqualFunc(a, b, func(x, y dt.NextHops) bool {
		return x.Multipath == y.Multipath && slices.Equal(x.Hops, y.Hops)
	})
}

// Routes returns the next hops of the member's routes, for tests and
// listings.
func (p *IPCP) Routes() map[addr.Addr][]addr.Addr {
	p.mu.Lock()
	self, policy, db := p.Addr(), p.cfg.Routing, p.db
	p.mu.Unlock()
	out := map[addr.Addr][]addr.Addr{}
	if db == nil {
		return out
	}
	for dst, r := range db.Compute(self, policy) {
		out[dst] = r.NextHops
	}
	return out
}

// dirTransport carries directory messages in data-transfer PDUs.
type dirTransport struct{ p *IPCP }

// Send implements dir.Transport.
func (t dirTransport) Send(dst addr.Addr, msg []byte) error {
	t.p.sendInternal(dst, dt.EIDDirectory, msg)
	return nil
}
