// Package rate holds the token bucket of every admission path: the shim
// and unicast layers' flow requests and irmd's key exchanges. A bucket
// refills at a rate a second up to a burst, and an event takes a token;
// an empty bucket refuses.
package rate

import "time"

// Bucket is a token bucket. Its zero value is full. A Bucket is not safe
// for concurrent use: its owner serialises calls (a lock, or one
// goroutine). The rate and burst are the caller's, passed at each call, so
// that thousands of buckets with the same limits cost 16 bytes each.
type Bucket struct {
	tokens float64
	last   int64 // Unix ns of the last refill; 0: never used, so full
}

// Ready refills the bucket to now and reports whether it holds a token,
// without taking it: for an event that must pass several buckets and is
// charged to none unless all let it through (see Spend).
func (b *Bucket) Ready(now time.Time, rate, burst float64) bool {
	ns := now.UnixNano()
	switch {
	case b.last == 0:
		b.tokens = burst
	case ns > b.last:
		b.tokens = min(burst, b.tokens+float64(ns-b.last)*rate/float64(time.Second))
	}
	if ns > b.last {
		b.last = ns
	}
	return b.tokens >= 1
}

// Spend takes the token that Ready reported.
func (b *Bucket) Spend() { b.tokens-- }

// Take takes a token if the bucket holds one, and reports whether it did.
func (b *Bucket) Take(now time.Time, rate, burst float64) bool {
	if !b.Ready(now, rate, burst) {
		return false
	}
	b.Spend()
	return true
}

// Full reports whether the bucket has refilled to its burst: it is then
// the same as a new one, and a table of buckets may drop it.
func (b *Bucket) Full(now time.Time, rate, burst float64) bool {
	b.Ready(now, rate, burst)
	return b.tokens >= burst
}
