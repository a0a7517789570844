package main

// Flows set up on demand: a lookup of a name that is not up allocates a
// flow to it in the link's layer.
//
//	lookup(NAME) ─► one attempt per name at a time (the others wait for it)
//	   alloc ─► no such name: ErrNoName (NXDOMAIN); not allowed: ErrRefused
//	   link.AddOnDemand with admitOnDemand:
//	      hello with Gateway: a published name's answer (learn.go) ─► refuse "resolved"
//	      else: NAME proven (authenticate) ─► a peer, closed when idle (idle.go)
//	   refused by either end: ErrRefused, kept in the refusals for status

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/resolver"
	"o7s.dev/ouroboros/stack/flow"
)

// relearnAfter is how long a published name's answer is used before the
// next lookup asks its gateway again (twice the bridge's TTL: a client
// that caches it asks no more often than that).
const relearnAfter = 2 * resolver.DefaultTTL

// maxAttempts bounds the lookups setting a flow up at once (each may take
// allocTimeout): a client that asks for many names in turn, within its
// rate, so costs a bounded number of flows and goroutines.
const maxAttempts = 64

// maxRefusals is how many refusals status keeps, the newest.
const maxRefusals = 32

// Bounds of the wait after an on-demand peer came up for the far end's
// refusal, which trails its hello (it decides on ours): the exchange's own
// duration, clamped to these.
const (
	minSettle = 20 * time.Millisecond
	maxSettle = 500 * time.Millisecond
)

// errResolved is how this end refuses the flow of a published name's
// answer once it has read it: the flow has done its work.
var errResolved = errors.New("resolved")

// onDemand is what a link set up and learned on demand. Its methods are
// safe for concurrent use.
type onDemand struct {
	mu        sync.Mutex
	calls     map[string]*odCall  // lookups under way, by name
	peers     map[string]odPeer   // endpoints dialled on demand that are up, by name
	published map[string]dnsEntry // published names learned, by name
	watched   map[*link.Peer]bool // peers whose end drops what came through them
	refused   []dnsRefusal        // newest last
	created   map[string]bool     // [[publish]] names announce created in irmd
	relearn   time.Duration       // a published name learned is asked again after this
	// routeMu serialises changes of the routes (engine and kernel) made
	// from what was learned, and reload's.
	routeMu sync.Mutex
}

// odCall is one lookup under way, shared by the queries for its name.
type odCall struct {
	done    chan struct{}
	addrs   []netip.Addr // set before done is closed
	err     error
	callers int // the lookups that share it (guarded by onDemand.mu)
}

// odPeer is an endpoint dialled on demand.
type odPeer struct {
	peer  *link.Peer
	since time.Time
}

func newOnDemand() *onDemand {
	return &onDemand{calls: map[string]*odCall{}, peers: map[string]odPeer{},
		published: map[string]dnsEntry{}, watched: map[*link.Peer]bool{}, created: map[string]bool{},
		relearn: relearnAfter}
}

// lookup sets up a flow to name, or joins the attempt under way, and
// returns the addresses it gives.
func (o *onDemand) lookup(ctx context.Context, d *daemon, name string) ([]netip.Addr, error) {
	return o.do(ctx, name, func() ([]netip.Addr, error) { return d.resolve(name) })
}

// do runs fn once for all the callers that ask with one key at a time,
// and returns its result; a caller whose ctx ends stops waiting, but the
// attempt runs on (a DNS client asks again, and finds it done).
func (o *onDemand) do(ctx context.Context, key string, fn func() ([]netip.Addr, error)) ([]netip.Addr, error) {
	o.mu.Lock()
	c := o.calls[key]
	if c == nil && len(o.calls) >= maxAttempts {
		o.mu.Unlock()
		return nil, fmt.Errorf("%d names are being set up already; try again shortly", maxAttempts)
	}
	if c == nil {
		c = &odCall{done: make(chan struct{})}
		o.calls[key] = c
		go func() {
			c.addrs, c.err = fn()
			o.mu.Lock()
			delete(o.calls, key)
			o.mu.Unlock()
			close(c.done)
		}()
	}
	c.callers++
	o.mu.Unlock()
	select {
	case <-c.done:
		return slices.Clone(c.addrs), c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer yet (a flow is being set up): %w", context.Cause(ctx))
	}
}

// resolve is one attempt: what is known now, else a flow to name.
func (d *daemon) resolve(name string) ([]netip.Addr, error) {
	if addrs, ok := d.known(name); ok {
		return addrs, nil
	}
	ctx, cancel := context.WithTimeout(d.ctx, allocTimeout+helloTimeout)
	defer cancel()
	addrs, err := d.dialOnDemand(ctx, name, true)
	if errors.Is(err, resolver.ErrNoName) || errors.Is(err, resolver.ErrRefused) {
		d.forget(name) // its gateway withdrew it, or no longer admits this end
	}
	return addrs, err
}

// forget drops the published name learned as name, if any, and its
// routes through its gateway.
func (d *daemon) forget(name string) {
	d.od.routeMu.Lock()
	defer d.od.routeMu.Unlock()
	d.od.mu.Lock()
	e, ok := d.od.published[name]
	delete(d.od.published, name)
	d.od.mu.Unlock()
	if !ok {
		return
	}
	if d.link.Peer(e.Gateway) != nil {
		if err := d.link.Update([]link.PeerConfig{d.gatewayConfig(d.config(), e.Gateway)}); err != nil {
			d.log.Error("cannot remove a published host's routes", "name", name, "gateway", e.Gateway, "err", err)
		}
	}
	d.applyKernelRoutes()
}

// dialOnDemand allocates a flow to name and runs the hello exchange on it:
// the far end becomes a peer, or (if published) answers for a published
// name.
func (d *daemon) dialOnDemand(ctx context.Context, name string, published bool) ([]netip.Addr, error) {
	f, err := d.alloc(ctx, name)
	if err != nil {
		return nil, d.allocError(name, err)
	}
	adm := &admission{Dialled: true, OnDemand: true, Proof: f.Peer()}
	var pc link.PeerConfig
	var answer *dnsEntry
	var ours error // this end's refusal
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	peer, err := d.link.AddOnDemand(hctx, f, func(h link.Hello) (link.PeerConfig, error) {
		adm.Hello = h.Name
		cfg := d.config()
		if h.Gateway != "" && !published {
			ours = fmt.Errorf("%s is a name %s publishes, not an ovpn endpoint", name, h.Gateway)
			return link.PeerConfig{}, ours
		}
		if h.Gateway != "" {
			answer, ours = checkAnswer(cfg, name, adm.Proof, h)
			if ours != nil {
				return link.PeerConfig{}, ours
			}
			return link.PeerConfig{}, errResolved
		}
		pc, ours = admitOnDemand(cfg, name, adm.Proof, h)
		if ours != nil {
			return link.PeerConfig{}, ours
		}
		pc.Routes = append(pc.Routes, d.od.routesVia(name, cfg)...)
		return pc, nil
	})
	switch {
	case answer != nil && ours == nil:
		return d.learn(ctx, name, *answer)
	case ours != nil:
		return nil, d.refusal(name, ours)
	case err != nil:
		return nil, d.farError(name, err)
	}
	if err := settle(peer, time.Since(start)); err != nil {
		return nil, d.farError(name, err)
	}
	d.upOnDemand(peer, pc, adm)
	st := peer.Status()
	addrs := d.routedAddrs(st)
	if len(addrs) == 0 && len(st.Addrs) > 0 {
		return nil, d.refusal(name, fmt.Errorf("its tunnel addresses %v lie outside this end's subnets, so nothing routes to them: give both ends addresses in one subnet, or give %s a [[peer]] entry whose routes hold them", st.Addrs, name))
	}
	return addrs, nil
}

// settle waits, after a peer came up, for a refusal of the far end: it
// decides on this end's hello as this end decides on its, and its
// refusal arrives just after its hello. took is how long the exchange
// took; the wait is as long, within minSettle and maxSettle.
func settle(p *link.Peer, took time.Duration) error {
	t := time.NewTimer(min(max(took, minSettle), maxSettle))
	defer t.Stop()
	select {
	case <-p.Done():
		return p.Err()
	case <-t.C:
		return nil
	}
}

// allocError maps an allocation's failure onto the bridge's answers.
func (d *daemon) allocError(name string, err error) error {
	switch {
	case errors.Is(err, flow.ErrNoName):
		return fmt.Errorf("%w: %s: %v", resolver.ErrNoName, name, err)
	case errors.Is(err, flow.ErrNotAllowed):
		return d.refusal(name, err)
	}
	return fmt.Errorf("cannot set up a flow to %s: %w", name, err)
}

// farError maps a failed exchange onto the bridge's answers: a refusal by
// the far end is REFUSED, anything else a failure.
func (d *daemon) farError(name string, err error) error {
	if errors.Is(err, link.ErrRefused) {
		return d.refusal(name, err)
	}
	return fmt.Errorf("cannot set up a flow to %s: %w", name, err)
}

// refusal records that name refused a lookup, and why, logs it (rate
// limited: a client can ask for many names) and returns the lookup's error.
func (d *daemon) refusal(name string, why error) error {
	d.od.mu.Lock()
	d.od.refused = append(d.od.refused, dnsRefusal{Name: name, Reason: why.Error(), At: time.Now()})
	if n := len(d.od.refused); n > maxRefusals {
		d.od.refused = slices.Delete(d.od.refused, 0, n-maxRefusals)
	}
	d.od.mu.Unlock()
	d.rl.Log(slog.LevelWarn, "on-demand "+acceptCause(why), "name refused on demand", "name", name, "reason", why)
	return fmt.Errorf("%w: %s: %v", resolver.ErrRefused, name, why)
}

// refusalList returns the refusals kept, newest first.
func (o *onDemand) refusalList() []dnsRefusal {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := slices.Clone(o.refused)
	slices.Reverse(out)
	return out
}

// upOnDemand records a peer dialled on demand: reload judges it again,
// and it is closed when idle (unless a [[peer]] entry names it).
func (d *daemon) upOnDemand(p *link.Peer, pc link.PeerConfig, adm *admission) {
	d.watch(p, pc, adm)
	if d.config().Peer(pc.Name) != nil {
		d.watchPeer(p, pc.Name)
		return
	}
	d.od.mu.Lock()
	d.od.peers[pc.Name] = odPeer{peer: p, since: time.Now()}
	d.od.mu.Unlock()
	d.watchPeer(p, pc.Name)
	go d.closeWhenIdle(p, pc.Name)
}

// watchPeer makes p's end drop what was set up through it: its entry as
// an on-demand peer, the published names learned through it and their
// routes. Once per peer.
func (d *daemon) watchPeer(p *link.Peer, name string) {
	d.od.mu.Lock()
	if d.od.watched[p] {
		d.od.mu.Unlock()
		return
	}
	d.od.watched[p] = true
	d.od.mu.Unlock()
	go func() {
		select {
		case <-p.Done():
		case <-d.ctx.Done():
			return
		}
		d.od.routeMu.Lock()
		defer d.od.routeMu.Unlock()
		// A flow that took the gateway's name since carries its published
		// hosts (its admission routes them: routesVia); they go when it
		// does. Dropping them now would unroute what it was given.
		if np := d.link.Peer(name); np != nil && np != p {
			d.od.mu.Lock()
			delete(d.od.watched, p)
			d.od.mu.Unlock()
			d.watchPeer(np, name)
			return
		}
		d.od.mu.Lock()
		delete(d.od.watched, p)
		if d.od.peers[name].peer == p {
			delete(d.od.peers, name)
		}
		dropped := false
		for n, e := range d.od.published {
			if e.Gateway == name {
				delete(d.od.published, n)
				dropped = true
			}
		}
		d.od.mu.Unlock()
		if dropped {
			d.applyKernelRoutes()
		}
	}()
}

// entries lists the on-demand peers that are up and the published names
// learned whose gateway is up, by name.
func (o *onDemand) entries(lk *link.Link) []dnsEntry {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []dnsEntry
	for name, p := range o.peers {
		out = append(out, dnsEntry{Name: name, Addrs: hostAddrs(p.peer.Status().Addrs), Since: p.since})
	}
	for _, e := range o.published {
		if lk.Peer(e.Gateway) != nil {
			e.Addrs = slices.Clone(e.Addrs)
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b dnsEntry) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// learnedAddrs returns the addresses of a published name learned whose
// gateway is up, if it was learned less than o.relearn ago: the gateway
// may have withdrawn the name or changed its address since, so an older
// one is asked again.
func (o *onDemand) learnedAddrs(lk *link.Link, name string) ([]netip.Addr, bool) {
	o.mu.Lock()
	e, ok := o.published[name]
	o.mu.Unlock()
	if !ok || lk.Peer(e.Gateway) == nil || time.Since(e.Since) >= o.relearn {
		return nil, false
	}
	return slices.Clone(e.Addrs), true
}

// reverse returns the published name learned that has addr.
func (o *onDemand) reverse(addr netip.Addr) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for name, e := range o.published {
		if slices.Contains(e.Addrs, addr) {
			return name, true
		}
	}
	return "", false
}

// idleAfter is how long an on-demand peer may carry no data: [dns] idle.
func idleAfter(cfg *config.Link) time.Duration {
	if cfg.DNS == nil || cfg.DNS.Idle <= 0 {
		return config.DefaultIdle
	}
	return cfg.DNS.Idle
}
