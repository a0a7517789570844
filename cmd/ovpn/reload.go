package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/overlay/wire"
)

// reloadPlan is what applying a changed configuration does to a running
// link. Peers not named in it keep their flows.
type reloadPlan struct {
	Removed []string          // [[peer]] entries gone: their flows end
	Added   []string          // new [[peer]] entries: dial them
	Update  []link.PeerConfig // kept [[peer]] entries whose routes changed
	Routes  bool              // the kernel routes through the interface change
	// Published and Withdrawn are the [[publish]] names to register
	// and to withdraw (a new address needs neither: answers read it).
	Published, Withdrawn []string
}

// diffConfigs says how to go from old to nw on a running link, or why it
// cannot: a key that only a restart applies changed.
func diffConfigs(old, nw *config.Link) (reloadPlan, error) {
	if key := fixedChange(old, nw); key != "" {
		return reloadPlan{}, fmt.Errorf("%s: %s: cannot change live: restart the link ('ovpn down %s', then 'ovpn up %s')",
			nw.File, key, nw.Link, nw.Link)
	}
	var plan reloadPlan
	for _, p := range old.Peers {
		if nw.Peer(p.Name) == nil {
			plan.Removed = append(plan.Removed, p.Name)
		}
	}
	lease := len(nw.Accept.Pool) > 0
	for _, p := range nw.Peers {
		was := old.Peer(p.Name)
		switch {
		case was == nil:
			plan.Added = append(plan.Added, p.Name)
		case !slices.Equal(was.Routes, p.Routes):
			plan.Update = append(plan.Update, link.PeerConfig{Name: p.Name, Routes: p.Routes, Lease: lease})
		}
	}
	plan.Routes = nw.Interface.Mode == wire.Tun && !samePrefixes(peerRoutes(old), peerRoutes(nw))
	for _, name := range publishNames(nw) {
		if publishEntry(old, name) == nil {
			plan.Published = append(plan.Published, name)
		}
	}
	for _, name := range publishNames(old) {
		if publishEntry(nw, name) == nil {
			plan.Withdrawn = append(plan.Withdrawn, name)
		}
	}
	return plan, nil
}

// fixedChange names the first key that differs between old and nw and
// that a running link cannot change; "" if none.
func fixedChange(old, nw *config.Link) string {
	oi, ni := old.Interface, nw.Interface
	switch {
	case old.Name != nw.Name:
		return "name"
	case old.Layer != nw.Layer:
		return "layer"
	case oi.Device != ni.Device:
		return "[interface] device"
	case oi.Mode != ni.Mode:
		return "[interface] mode"
	case !slices.Equal(oi.Address, ni.Address):
		return "[interface] address"
	case oi.MTU != ni.MTU:
		return "[interface] mtu"
	case oi.MSSClamp != ni.MSSClamp:
		return "[interface] mss_clamp"
	case oi.AllowMove != ni.AllowMove:
		return "[interface] allow_move"
	case oi.MACAge != ni.MACAge:
		return "[interface] mac_age"
	case !slices.Equal(old.Accept.Pool, nw.Accept.Pool):
		return "[accept] pool"
	case old.Accept.Lease != nw.Accept.Lease:
		return "[accept] lease"
	case old.StateDir != nw.StateDir:
		return "state_dir"
	}
	return ""
}

// samePrefixes says whether a and b hold the same prefixes in any order.
func samePrefixes(a, b []netip.Prefix) bool {
	cmp := func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr())*256 + x.Bits() - y.Bits() }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// revoked lists the peers up that cfg no longer admits (a pattern or pin
// removed, authentication turned on), with the reason, by name.
func revoked(cfg *config.Link, admitted map[string]*admission) map[string]error {
	out := map[string]error{}
	for _, name := range slices.Sorted(maps.Keys(admitted)) {
		adm := admitted[name]
		if adm.Dialled && !adm.OnDemand && cfg.Peer(name) == nil {
			continue // removed from the configuration: plan.Removed ends it
		}
		if err := adm.judge(cfg, name); err != nil {
			out[name] = err
		}
	}
	return out
}

// reload reads the configuration file again and applies what changed;
// a file that fails to load or a change that needs a restart changes
// nothing.
func (d *daemon) reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	old := d.config()
	nw, err := config.Load(old.File)
	if err != nil {
		return err
	}
	plan, err := diffConfigs(old, nw)
	if err != nil {
		return err
	}
	// First, as it may fail: a [dns] section whose new settings cannot
	// listen keeps the old bridge, and the reload changes nothing.
	if err := d.dns.apply(nw, nil); err != nil {
		return err
	}
	d.mu.Lock()
	d.cfg = nw
	var stopped []*dialer
	for _, name := range plan.Removed {
		stopped = append(stopped, d.dials[name])
		delete(d.dials, name)
	}
	admitted := maps.Clone(d.admitted)
	d.mu.Unlock()
	for _, dl := range stopped {
		if dl != nil {
			dl.stop()
		}
	}
	for _, name := range plan.Removed {
		d.link.Remove(name, "removed from the configuration")
	}
	for name, why := range revoked(nw, admitted) {
		d.log.Info("peer no longer admitted", "peer", name, "reason", why)
		d.link.Remove(name, "no longer admitted: "+why.Error())
	}
	d.reroute(nw, plan)
	d.republish(nw, plan)
	d.mu.Lock()
	for _, name := range plan.Added {
		d.dials[name] = d.startDialer(d.ctx, name)
	}
	d.mu.Unlock()
	d.log.Info("configuration reloaded", "removed", plan.Removed, "added", plan.Added, "routes changed", len(plan.Update))
	return nil
}

// reroute applies the plan's new routes, with the published addresses
// learned through each peer kept, to the engine and the kernel.
func (d *daemon) reroute(nw *config.Link, plan reloadPlan) {
	d.od.routeMu.Lock()
	defer d.od.routeMu.Unlock()
	if len(plan.Update) > 0 {
		update := slices.Clone(plan.Update)
		for i := range update {
			update[i].Routes = append(slices.Clone(update[i].Routes), d.od.routesVia(update[i].Name, nw)...)
		}
		if err := d.link.Update(update); err != nil {
			d.log.Error("reload: routes not changed in the engine", "err", err)
		}
	}
	if plan.Routes {
		d.applyKernelRoutes()
	}
}

// republish registers the plan's new [[publish]] names and withdraws
// those gone. While irmd is away there is nothing to do: reattaching
// announces the names of the configuration in force.
func (d *daemon) republish(nw *config.Link, plan reloadPlan) {
	p := d.procs.current()
	if p == nil {
		return
	}
	d.withdrawPublished(p, nw, plan.Withdrawn)
	if err := d.announcePublished(d.ctx, p, nw, plan.Published); err != nil {
		d.log.Error("reload: a [[publish]] name is not announced", "err", err)
	}
}
