package main

import (
	"context"
	"log/slog"
	"time"
)

// applyTimeout bounds bootstrapping every IPCP of the configuration.
const applyTimeout = 30 * time.Second

// backoff is the wait between attempts: first, doubling up to max; and
// the time each attempt has: attempt, doubling up to attemptMax.
type backoff struct {
	first, max          time.Duration
	attempt, attemptMax time.Duration
}

// defaultBackoff retries an enrolment soon after irmd starts, when a peer
// that starts at the same time is likely to be up, then every half
// minute, which costs a down peer little. The first attempt has a second,
// so that a peer that is down is reported at once; later ones have more,
// for slow paths, up to the 20 s irmd gives an interactive enrolment.
var defaultBackoff = backoff{first: time.Second, max: 30 * time.Second, attempt: time.Second, attemptMax: 20 * time.Second}

// next returns the wait after wait.
func (b backoff) next(wait time.Duration) time.Duration {
	return min(2*wait, b.max)
}

// retry calls try until it succeeds or ctx ends, waiting as b says between
// attempts; each attempt's context ends after the time b gives it. It logs
// one line per change, not per attempt: a warning as msg (with attrs, the
// attempt's number, the wait and the reason) at the first failure and
// whenever the reason changes, and at info level when it succeeds after
// failures. waiting, if not nil, is told when the next attempt is due. It
// reports whether try succeeded.
func retry(ctx context.Context, log *slog.Logger, b backoff, try func(context.Context) error,
	waiting func(next time.Time), msg string, attrs ...any) bool {
	wait, limit := b.first, b.attempt
	last := ""
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if limit > 0 {
			actx, cancel = context.WithTimeout(ctx, limit)
		}
		err := try(actx)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info(msg+": done", append(attrs[:len(attrs):len(attrs)], "attempts", attempt)...)
			}
			return true
		}
		if ctx.Err() != nil {
			return false // irmd is stopping: the failure is its doing
		}
		if err.Error() != last {
			last = err.Error()
			log.Warn(msg, append(attrs[:len(attrs):len(attrs)], "attempt", attempt, "retry_in", wait, "err", err)...)
		}
		if waiting != nil {
			waiting(time.Now().Add(wait))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = b.next(wait)
		if limit > 0 {
			limit = min(2*limit, b.attemptMax)
		}
	}
}
