package main

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff between attempts to reach a peer or irmd: the first wait is
// backoffMin, each failure doubles it up to backoffMax, and each wait is
// jittered by ±backoffJitter so that many links restarting together do not
// retry in step.
const (
	backoffMin    = 250 * time.Millisecond
	backoffMax    = 15 * time.Second
	backoffJitter = 0.25
)

// backoff is the wait before the next attempt. The zero value starts at
// backoffMin; it is used by one goroutine.
type backoff struct {
	cur  time.Duration
	max  time.Duration  // 0: backoffMax
	rand func() float64 // in [0, 1); nil: math/rand/v2
}

// next returns the wait before the next attempt and doubles the one after.
func (b *backoff) next() time.Duration {
	if b.cur < backoffMin {
		b.cur = backoffMin
	}
	r := rand.Float64
	if b.rand != nil {
		r = b.rand
	}
	limit := b.max
	if limit <= 0 {
		limit = backoffMax
	}
	d := min(b.cur, limit)
	b.cur = min(2*b.cur, limit)
	return time.Duration(float64(d) * (1 - backoffJitter + 2*backoffJitter*r()))
}

// reset makes the next wait backoffMin again, after a success.
func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether the wait was whole.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
