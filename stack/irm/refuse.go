package irm

// Refusals of arriving flows: each carries its cause, counted for the IPCP
// the request came through (irm ipcp list, refused-CAUSE) and logged at
// most once per cause per interval (internal/ratelog).

import (
	"errors"
	"log/slog"

	"o7s.dev/ouroboros/internal/ratelog"
	"o7s.dev/ouroboros/stack/crypt/oap"
)

// Refusal causes, the keys of the counters (prefixed "refused-").
const (
	causeUnknownName = "unknown-name" // no name with the request's hash is registered here
	causeNoAcceptor  = "no-acceptor"  // nothing on this host takes flows for the name
	causeTimeout     = "timeout"      // no process accepted in time
	causeCap         = "cap"          // the name's or the source's cap on flows held
	causeBusy        = "busy"         // too many flows (of the source, or in all) wait for an acceptor
	causeRate        = "rate"         // the source's or the host's rate of key exchanges
	causeReplay      = "replay"       // a request id seen in the window
	causeReplayFull  = "replay-full"  // the source's share of the replay cache is full
	causeTimestamp   = "timestamp"    // the request's timestamp is outside the window
	causeCrypto      = "crypto"       // the key exchange failed otherwise (policy, certificate, malformed)
	causeDown        = "down"         // irmd is shutting down, the name was destroyed
	causeOther       = "other"        // the flow could not be set up (a system error)
)

// refuse counts a refusal of cause through the IPCP via and logs it as
// what ("flow refused", "member flow refused") with args, at most once per
// what and cause per interval.
func (a *admission) refuse(via, cause, what string, args ...any) {
	a.mu.Lock()
	c := a.refused[via]
	if c == nil {
		c = map[string]uint64{}
		a.refused[via] = c
	}
	c[cause]++
	a.mu.Unlock()
	args = append([]any{"cause", cause, "via", via}, args...)
	a.log.Log(slog.LevelWarn, what+" "+cause, what+" (logged once per cause per "+ratelog.DefaultInterval.String()+"; counted in irm ipcp list)", args...)
}

// counters returns the refusals through the IPCP via by cause, keyed as
// irm ipcp list shows them, merged into those the IPCP counts itself.
func (a *admission) counters(via string, own map[string]uint64) map[string]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.refused[via]
	if len(c) == 0 {
		return own
	}
	out := make(map[string]uint64, len(own)+len(c))
	for k, v := range own {
		out[k] = v
	}
	for k, v := range c {
		out["refused-"+k] += v
	}
	return out
}

// forget drops the counters of an IPCP that is gone.
func (a *admission) forget(via string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.refused, via)
}

// oapCause is the refusal cause of a key exchange's error.
func oapCause(err error) string {
	switch {
	case errors.Is(err, oap.ErrReplayCacheFull):
		return causeReplayFull
	case errors.Is(err, oap.ErrReplay):
		return causeReplay
	case errors.Is(err, oap.ErrTimestamp):
		return causeTimestamp
	}
	return causeCrypto
}

// refusal is an error with the cause it is counted under.
type refusal struct {
	cause string
	err   error
}

// refused marks err as a refusal for cause; nil stays nil.
func refused(cause string, err error) error {
	if err == nil {
		return nil
	}
	return &refusal{cause, err}
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// causeOf returns the cause err was marked with, or dflt.
func causeOf(err error, dflt string) string {
	if r, ok := errors.AsType[*refusal](err); ok {
		return r.cause
	}
	return dflt
}
