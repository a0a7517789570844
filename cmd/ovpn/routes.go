package main

import (
	"log/slog"
	"net/netip"
	"slices"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/wire"
)

// kernelRoutes is what the kernel routes through a tun: every [[peer]]'s
// routes and the host addresses of the published names learned. (An
// on-demand peer's tunnel addresses need none: the engine routes only
// those in this end's subnets, which the kernel routes already; a route
// for one outside them would let any name a client looks up take an
// address over.)
func kernelRoutes(cfg *config.Link, learned []netip.Prefix) []netip.Prefix {
	rs := peerRoutes(cfg)
	for _, p := range learned {
		if !slices.Contains(rs, p) {
			rs = append(rs, p)
		}
	}
	return rs
}

// learnedPrefixes lists the host prefixes of the published names learned.
func (o *onDemand) learnedPrefixes() []netip.Prefix {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []netip.Prefix
	for _, e := range o.published {
		for _, a := range e.Addrs {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return slices.Compact(out)
}

// applyKernelRoutes sets the kernel's routes through a tun to
// kernelRoutes. Callers hold d.od.routeMu, so that two changes do not
// interleave.
func (d *daemon) applyKernelRoutes() {
	cfg := d.config()
	if cfg.Interface.Mode != wire.Tun {
		return
	}
	if err := d.iface.SetRoutes(kernelRoutes(cfg, d.od.learnedPrefixes())); err != nil {
		d.rl.Log(slog.LevelError, "kernel-routes", "kernel routes not all set", "err", err)
	}
}
