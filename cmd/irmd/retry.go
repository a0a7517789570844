package main

import (
	"context"
	"log/slog"
	"time"
)

// applyTimeout bounds bootstrapping every IPCP of the configuration.
const applyTimeout = 30 * time.Second

// backoff is the wait between attempts: first, doubling up to max.
type backoff struct {
	first, max time.Duration
}

// defaultBackoff retries an enrolment or connection soon after irmd starts,
// when a peer that starts at the same time is likely to be up, then every
// half minute, which costs a down peer little.
var defaultBackoff = backoff{first: time.Second, max: 30 * time.Second}

// next returns the wait after wait.
func (b backoff) next(wait time.Duration) time.Duration {
	return min(2*wait, b.max)
}

// retry calls try until it succeeds or ctx ends, waiting as b says between
// attempts. Each failure is logged at warn level as msg, with attrs, the
// attempt's number, the wait and the reason. It reports whether try
// succeeded.
func retry(ctx context.Context, log *slog.Logger, b backoff, try func() error, msg string, attrs ...any) bool {
	wait := b.first
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false // irmd is stopping: the failure is its doing
		}
		log.Warn(msg, append(attrs[:len(attrs):len(attrs)], "attempt", attempt, "retry_in", wait, "err", err)...)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = b.next(wait)
	}
}
