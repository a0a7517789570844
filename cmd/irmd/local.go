package main

import (
	"log/slog"
	"syscall"
	"time"

	"o7s.dev/ouroboros/stack/config"
	"o7s.dev/ouroboros/stack/irm"
	"o7s.dev/ouroboros/stack/schema"
)

// This file sets up what keeps local users from hijacking or starving irmd:
// the management group, the limits on their processes, and the open-file
// limit that leaves room for root.

// mgmtGroup returns the gid of [irmd] group, or 0 when none is set.
func mgmtGroup(cfg *config.Config) (int, error) {
	if cfg == nil || cfg.Group == "" {
		return 0, nil
	}
	return irm.GroupID(cfg.Group)
}

// localLimits returns the [irmd] limits on local processes; those the file
// does not set keep irm's defaults.
func localLimits(cfg *config.Config) irm.LocalLimits {
	if cfg == nil {
		return irm.LocalLimits{}
	}
	return irm.LocalLimits{
		ConnsPerUID:     cfg.Limits[schema.MaxConnsPerUID],
		FlowsPerUID:     cfg.Limits[schema.MaxFlowsPerUID],
		FlowsPerProcess: cfg.Limits[schema.MaxFlowsPerProcess],
		HelloTimeout:    time.Duration(cfg.Limits[schema.HelloTimeout]) * time.Millisecond,
	}
}

// raiseFileLimit raises irmd's soft limit on open files to the hard one:
// every control connection and every flow end holds a descriptor, and the
// per-user limits are meant to be what stops other users, not this. (Go
// raises it too at start; this makes it explicit and logs it.)
func raiseFileLimit(log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("open files limit unknown", "err", err)
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			log.Warn("open files limit not raised", "err", err)
		}
	}
	log.Debug("open files limit", "limit", lim.Cur)
}
