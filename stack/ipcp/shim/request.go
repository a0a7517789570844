package shim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
)

// onRequest admits a FLOW_REQ, cheapest checks first, so that what a
// stranger can make the host do before proving anything is bounded:
//
//  1. the message parsed (version, sizes), and the name is registered here;
//  2. a repeat of a request answered or being answered gets that answer
//     (within the source's budget of cheap answers);
//  3. a cookie, if carried, must be valid; without one, when the host is
//     under load (more than freeRate requests a second, or the queue a
//     quarter full), the answer is a COOKIE and nothing else;
//  4. at most sourceRate requests a second per source reach the queue,
//     and at most sourceHeld of a source's are queued or answered at once;
//  5. the queue holds queueLen; workers take from it.
//
// Called by routineRead only.
func (c *Core[A]) onRequest(from A, m mgmt) {
	now := time.Now()
	if !c.registered(m.hash) {
		c.stats.Unregistered.Add(1)
		c.refuse("unregistered", "flow request for a name not registered here", from)
		if c.mayAnswer(from, now) {
			c.sendReply(from, m.srcEID, nil, resultUnreachable, nil, "the name is not registered in "+c.cfg.Name+" on that host")
		}
		return
	}
	key := peerKey[A]{from, m.srcEID}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if f, ok := c.byPeer[key]; ok { // a repeat of an answered request
		c.mu.Unlock()
		if c.mayAnswer(from, now) { // the reply may be larger than the request
			c.sendReply(from, m.srcEID, f, resultOK, f.reply, "")
		}
		return
	}
	_, repeat := c.arriving[key] // a repeat while the answer is on its way
	c.mu.Unlock()
	if repeat {
		return
	}
	slot, ok := c.admit(from, m, now)
	if !ok {
		return
	}
	m.hash = append([]byte(nil), m.hash...) // the read buffer is reused
	m.data = append([]byte(nil), m.data...)
	m.cookie = nil
	c.mu.Lock()
	c.arriving[key] = struct{}{}
	c.mu.Unlock()
	select {
	case c.queue <- request[A]{from, m, slot}:
	default:
		c.lim.held[slot].Add(-1)
		c.mu.Lock()
		delete(c.arriving, key)
		c.mu.Unlock()
		c.stats.QueueFull.Add(1)
		c.refuse("queue-full", "flow request dropped: the queue of requests is full", from)
	}
}

// admit applies the cookie check and the limits of the request's source
// (steps 3 and 4). If it admits the request, it counts it as held by its
// source's slot, which it returns.
func (c *Core[A]) admit(from A, m mgmt, now time.Time) (int, bool) {
	l := c.lim
	if len(m.cookie) > 0 {
		l.key = c.cfg.AppendAddr(l.key[:0], from)
		if !c.cookies.valid(now, l.key, m.srcEID, m.cookie) {
			c.stats.BadCookie.Add(1)
			c.refuse("bad-cookie", "flow request with a cookie that is not valid (expired, or not this requester's)", from)
			return 0, false
		}
	} else if len(c.queue) >= queueLen/4 || !l.free.Take(now, freeRate, freeBurst) {
		c.stats.Challenged.Add(1)
		if c.mayAnswer(from, now) {
			l.key = c.cfg.AppendAddr(l.key[:0], from)
			cookie := c.cookies.make(now, l.key, m.srcEID)
			c.send(from, encodeMgmt(make([]byte, 0, 32), &mgmt{code: codeCookie, dstEID: m.srcEID, secret: cookie}))
		}
		return 0, false
	}
	l.key = c.cfg.AppendSource(l.key[:0], from)
	slot := l.slot(l.key)
	if l.held[slot].Load() >= sourceHeld {
		c.stats.RateLimited.Add(1)
		c.refuse("source-busy", "flow request dropped: its source has as many requests being answered as it may", from)
		return 0, false
	}
	if !l.sources[slot].Take(now, sourceRate, sourceBurst) {
		c.stats.RateLimited.Add(1)
		c.refuse("rate-limited", "flow request dropped: its source sends too many", from)
		return 0, false
	}
	l.held[slot].Add(1)
	return slot, true
}

// mayAnswer takes a token from from's bucket of cheap answers.
func (c *Core[A]) mayAnswer(from A, now time.Time) bool {
	l := c.lim
	l.key = c.cfg.AppendSource(l.key[:0], from)
	return l.replies[l.slot(l.key)].Take(now, replyRate, replyBurst)
}

// refuse logs a refused request, at most once per cause per interval.
func (c *Core[A]) refuse(cause, msg string, from A) {
	c.refused.Log(slog.LevelInfo, cause, msg, "latest-from", fmt.Sprint(from))
}

// sendReply sends a FLOW_REPLY to a request of src eid; f is the flow
// accepted (nil if refused).
func (c *Core[A]) sendReply(to A, dst uint32, f *flow[A], result uint8, data []byte, reason string) {
	m := mgmt{code: codeFlowReply, dstEID: dst, result: result, data: data, reason: reason}
	if f != nil {
		m.srcEID, m.token, m.secret = f.local, f.mine.token, f.mine.commit()
	}
	c.send(to, encodeMgmt(make([]byte, 0, 64+len(data)+len(reason)), &m))
}

// routineArrive is one of the workers that answer queued flow requests.
func (c *Core[A]) routineArrive() {
	defer c.wg.Done()
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-c.done; cancel() }() // Close ends the answers under way
	for {
		select {
		case <-c.done:
			return
		case r := <-c.queue:
			c.arrived(base, r.from, r.m)
			c.lim.held[r.slot].Add(-1)
		}
	}
}

// arrived answers a flow request: it asks the IRM for an accepting process
// and replies with the outcome. Repeated requests while this runs, or
// after, get the same answer.
func (c *Core[A]) arrived(base context.Context, from A, m mgmt) {
	key := peerKey[A]{from, m.srcEID}
	defer func() {
		c.mu.Lock()
		delete(c.arriving, key)
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(base, 20*time.Second)
	defer cancel()
	port, data, err := c.cfg.Host.Arrived(ctx, c.self, fmt.Sprint(from), m.hash, m.qos, m.data)
	if err != nil {
		c.refuse("host-refused", "flow request refused: "+err.Error(), from)
		result := uint8(resultUnreachable)
		if ce := (*ctrl.Error)(nil); errors.As(err, &ce) && ce.Code == ctrl.CodeNotAllowed {
			result = resultRefused // found, but the host will not have it (policy, certificates)
		}
		c.sendReply(from, m.srcEID, nil, result, nil, err.Error())
		return
	}
	if len(data) > ipcp.MaxAllocData || mgmtHeader+8+credsLen+4+len(data) > c.MaxSDU()+dataHeader {
		c.log.Warn("flow request refused: the reply's data does not fit a packet", "from", from, "bytes", len(data))
		port.Down(ctrl.ReasonDown)
		c.sendReply(from, m.srcEID, nil, resultRefused, nil, "the reply's key exchange does not fit a packet")
		return
	}
	c.mu.Lock()
	local := c.newEIDLocked()
	c.mu.Unlock()
	f := &flow[A]{local: local, remote: m.srcEID, peer: from, port: port, reply: data,
		mine: newCreds(), peerToken: m.token, peerCommit: m.secret}
	if err := c.startFlow(f); err != nil {
		port.Down(ctrl.ReasonDown)
		c.sendReply(from, m.srcEID, nil, resultRefused, nil, err.Error())
		return
	}
	c.sendReply(from, m.srcEID, f, resultOK, data, "")
}
