package irm

// The rates of key exchanges irmd runs for arriving flows: token buckets
// per source and for the host (Limits).

import (
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// maxRateSources bounds the sources whose rate of key exchanges is
// tracked; when more are active at once, those beyond share one bucket.
const maxRateSources = 4096

// allowKEX takes a key exchange for src from its rate (if bySource) and
// the host's, or says which refuses it. Neither is charged when either
// refuses.
func (a *admission) allowKEX(src string, bySource bool, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	perRate, allRate := float64(a.lim.KEXRatePerSource), float64(a.lim.KEXRate)
	b, all := &tokenBucket{tokens: 1, last: now}, &a.local // local: no source's
	if bySource {
		b, all = a.bucketLocked(src, now, perRate), &a.global
	}
	if !b.ready(now, perRate) {
		return ctrl.Errorf(ctrl.CodeNotAllowed,
			"%s asks for more than %d key exchanges a second: try again later, or raise kex_rate_per_source in /etc/ouroboros/irmd.conf", src, a.lim.KEXRatePerSource)
	}
	if !all.ready(now, allRate) {
		return ctrl.Errorf(ctrl.CodeNotAllowed,
			"this host runs at most %d key exchanges a second and is at that rate: try again later, or raise kex_rate in /etc/ouroboros/irmd.conf", a.lim.KEXRate)
	}
	b.tokens--
	all.tokens--
	return nil
}

// bucketLocked returns src's bucket, making one if there is room; buckets
// that have refilled are the same as new ones, and go to make room. a.mu
// held.
func (a *admission) bucketLocked(src string, now time.Time, rate float64) *tokenBucket {
	if b, ok := a.perSrc[src]; ok {
		return b
	}
	if len(a.perSrc) >= maxRateSources {
		for k, b := range a.perSrc {
			if b.ready(now, rate) && b.tokens >= rate {
				delete(a.perSrc, k)
			}
		}
	}
	if len(a.perSrc) >= maxRateSources {
		return &a.overflow
	}
	b := &tokenBucket{tokens: rate, last: now}
	a.perSrc[src] = b
	return b
}

// tokenBucket refills at a rate a second, up to a second's worth.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// ready refills the bucket to now and reports whether it holds a token.
func (b *tokenBucket) ready(now time.Time, rate float64) bool {
	if b.last.IsZero() {
		b.tokens = rate
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(rate, b.tokens+d.Seconds()*rate)
	}
	b.last = now
	return b.tokens >= 1
}
