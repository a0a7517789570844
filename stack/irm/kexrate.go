package irm

// The rates of key exchanges irmd runs for arriving flows: token buckets
// per source and for the host (Limits).

import (
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/internal/rate"
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
	b, all := &rate.Bucket{}, &a.local // local: no source's
	if bySource {
		b, all = a.bucketLocked(src, now, perRate), &a.global
	}
	if !b.Ready(now, perRate, perRate) {
		return ctrl.Errorf(ctrl.CodeNotAllowed,
			"%s asks for more than %d key exchanges a second: try again later, or raise kex_rate_per_source in /etc/ouroboros/irmd.conf", src, a.lim.KEXRatePerSource)
	}
	if !all.Ready(now, allRate, allRate) {
		return ctrl.Errorf(ctrl.CodeNotAllowed,
			"this host runs at most %d key exchanges a second and is at that rate: try again later, or raise kex_rate in /etc/ouroboros/irmd.conf", a.lim.KEXRate)
	}
	b.Spend()
	all.Spend()
	return nil
}

// bucketLocked returns src's bucket, making one if there is room; buckets
// that have refilled are the same as new ones, and go to make room. a.mu
// held.
func (a *admission) bucketLocked(src string, now time.Time, perRate float64) *rate.Bucket {
	if b, ok := a.perSrc[src]; ok {
		return b
	}
	if len(a.perSrc) >= maxRateSources {
		for k, b := range a.perSrc {
			if b.Full(now, perRate, perRate) {
				delete(a.perSrc, k)
			}
		}
	}
	if len(a.perSrc) >= maxRateSources {
		return &a.overflow
	}
	b := &rate.Bucket{}
	a.perSrc[src] = b
	return b
}
