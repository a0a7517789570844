// Package ratelog limits log lines by cause, so that a flood of bad input
// costs a few lines a minute instead of one per packet: the first event of
// a cause in an interval is logged at once, later ones in the same
// interval are only counted, and the next line of that cause carries the
// count of those it stood for ("suppressed"). Counts are kept per cause,
// so one noisy cause never hides another.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is the interval a zero Limiter uses.
const DefaultInterval = 10 * time.Second

// maxCauses bounds the causes remembered; causes are meant to be a small
// fixed set (reasons, not addresses), and a caller that passes addresses
// gets its oldest ones forgotten rather than memory used without bound.
const maxCauses = 256

// Limiter logs at most one line per cause per interval. The zero value
// logs through slog.Default every DefaultInterval; it is safe for
// concurrent use.
type Limiter struct {
	Logger   *slog.Logger  // nil: slog.Default()
	Interval time.Duration // 0: DefaultInterval
	Now      func() time.Time

	mu     sync.Mutex
	causes map[string]*cause
}

type cause struct {
	last       time.Time // when a line of this cause was last written
	suppressed uint64    // events since then, not logged
}

// Log records one event of cause and writes msg with args at level if no
// line of cause was written within the interval. It reports whether it
// wrote one.
func (l *Limiter) Log(level slog.Level, cause, msg string, args ...any) bool {
	n, ok := l.admit(cause)
	if !ok {
		return false
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	log.Log(context.Background(), level, msg, args...)
	return true
}

// admit counts an event of cause; it reports whether to log it and how
// many earlier events the line stands for.
func (l *Limiter) admit(name string) (uint64, bool) {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	every := l.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.causes == nil {
		l.causes = map[string]*cause{}
	}
	c, ok := l.causes[name]
	if !ok {
		if len(l.causes) >= maxCauses {
			l.forgetOldestLocked()
		}
		l.causes[name] = &cause{last: now}
		return 0, true
	}
	if now.Sub(c.last) < every {
		c.suppressed++
		return 0, false
	}
	n := c.suppressed
	c.last, c.suppressed = now, 0
	return n, true
}

func (l *Limiter) forgetOldestLocked() {
	var oldest string
	var at time.Time
	for n, c := range l.causes {
		if oldest == "" || c.last.Before(at) {
			oldest, at = n, c.last
		}
	}
	delete(l.causes, oldest)
}
