package shim

import (
	"context"
	"errors"
	"time"
)

// Query resolves a hash by asking every member of a broadcast segment (the
// Ethernet shims): a member that registered the hash answers. Answers are
// cached for ttl.
func (c *Core[A]) Query(ctx context.Context, hash []byte, bcast A, ttl time.Duration) (A, error) {
	key := string(hash)
	c.mu.Lock()
	if e, ok := c.cache[key]; ok && time.Now().Before(e.expires) {
		c.mu.Unlock()
		return e.addr, nil
	}
	if until, ok := c.unanswered[key]; ok && time.Now().Before(until) {
		c.mu.Unlock()
		var zero A
		return zero, errNoAnswer
	}
	ch := make(chan A, 1)
	c.queries[key] = append(c.queries[key], ch)
	c.mu.Unlock()
	defer c.forgetQuery(key, ch)
	q := encodeMgmt(make([]byte, 0, 16+len(hash)), &mgmt{code: codeQuery, hash: hash})
	var zero A
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		c.send(bcast, q)
		select {
		case a := <-ch:
			c.mu.Lock()
			c.cache[key] = cached[A]{addr: a, expires: time.Now().Add(ttl)}
			c.mu.Unlock()
			return a, nil
		case <-time.After(wait):
		case <-ctx.Done():
			// Remember the silence for a moment: the IRM asks the layers in
			// turn, and a name found elsewhere should not wait on this one
			// at every allocation.
			c.mu.Lock()
			c.unanswered[key] = time.Now().Add(negativeTTL)
			c.mu.Unlock()
			return zero, ctx.Err()
		case <-c.done:
			return zero, context.Canceled
		}
	}
}

func (c *Core[A]) forgetQuery(key string, ch chan A) {
	c.mu.Lock()
	defer c.mu.Unlock()
	chs := c.queries[key]
	for i, x := range chs {
		if x == ch {
			chs = append(chs[:i], chs[i+1:]...)
			break
		}
	}
	if len(chs) == 0 {
		delete(c.queries, key)
	} else {
		c.queries[key] = chs
	}
}

// negativeTTL is how long a query nobody answered is not asked again.
const negativeTTL = 2 * time.Second

var errNoAnswer = errors.New("no member of the segment answered for the name recently")

// Forget drops cached answers (the link changed).
func (c *Core[A]) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.cache)
	clear(c.unanswered)
}

func (c *Core[A]) onQuery(from A, m mgmt) {
	if !c.registered(m.hash) {
		return
	}
	c.send(from, encodeMgmt(make([]byte, 0, 16+len(m.hash)), &mgmt{code: codeQueryReply, hash: m.hash}))
}

func (c *Core[A]) onQueryReply(from A, m mgmt) {
	c.mu.Lock()
	chs := c.queries[string(m.hash)]
	c.mu.Unlock()
	for _, ch := range chs {
		select {
		case ch <- from:
		default:
		}
	}
}
