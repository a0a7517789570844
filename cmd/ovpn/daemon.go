package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"o7s.dev/ouroboros/internal/ratelog"
	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/overlay/netcfg"
	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/tunif"
)

// daemon is one link, brought up by `ovpn up` and kept up until `ovpn
// down`, SIGTERM or SIGINT.
type daemon struct {
	log    *slog.Logger
	rl     *ratelog.Limiter
	rundir string // irmd's run directory; the control socket is in rundir/ovpn

	link  *link.Link
	iface netcfg.Iface
	procs *procs
	ctl   *control
	dns   *dnsBridge // the [dns] bridge; not running without the section
	// alloc allocates a flow to a peer: allocFromIRMd, or a test's.
	alloc func(ctx context.Context, name string) (peerFlow, error)
	// routedElsewhere says why a host route through the interface would
	// take an address over (iface.RoutedElsewhere, or a test's).
	routedElsewhere func(netip.Addr) (string, error)

	created atomic.Bool   // announce created the name in irmd: withdraw destroys it
	od      *onDemand     // what was set up and learned on demand (DNS lookups)
	pending chan struct{} // a token per accepted flow in its hello exchange

	mu       sync.Mutex
	cfg      *config.Link
	dials    map[string]*dialer    // by [[peer]] name
	admitted map[string]*admission // peers up, by name

	ctx      context.Context    // the loops'; ends at teardown (a reload may use it before start)
	cancel   context.CancelFunc // ends ctx
	reloadMu sync.Mutex         // one reload at a time
	stopOnce sync.Once
	stopped  chan struct{} // closed when teardown is over
}

// config returns the configuration in force (reload replaces it).
func (d *daemon) config() *config.Link {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// newDaemon returns a daemon for cfg that is not up yet.
func newDaemon(cfg *config.Link, rundir string, log *slog.Logger) *daemon {
	d := &daemon{log: log, rl: &ratelog.Limiter{Logger: log}, rundir: rundir, cfg: cfg,
		procs: newProcs(), dials: map[string]*dialer{}, admitted: map[string]*admission{},
		stopped: make(chan struct{}), iface: netcfg.Iface{Name: cfg.Interface.Device},
		pending: make(chan struct{}, maxPending), od: newOnDemand()}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.alloc = d.allocFromIRMd
	d.routedElsewhere = d.iface.RoutedElsewhere
	d.dns = newDNSBridge(d)
	return d
}

// up brings the link cfg describes up: the device, its addresses and
// routes, the engine, the name in irmd, the loops and the control socket.
// On error everything it did is undone.
func up(ctx context.Context, cfg *config.Link, rundir string, log *slog.Logger) (_ *daemon, err error) {
	d := newDaemon(cfg, rundir, log) // not the result: the undo functions use it after a failed return set that to nil
	if err := checkCapNetAdmin(); err != nil {
		return nil, err
	}
	if err := refuseIfUp(ctx, rundir, cfg.Link); err != nil {
		return nil, err
	}
	p, err := attach(ctx, rundir)
	if err != nil {
		return nil, err
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	undo = append(undo, func() { p.Close() })
	lk, err := d.openLink(cfg)
	if err != nil {
		return nil, err
	}
	d.link = lk
	undo = append(undo, func() { lk.Close() })
	// Withdrawn even when announce fails half way: what it registered
	// before the failure (the link's name, earlier [[publish]] names)
	// must not stay behind in irmd.
	undo = append(undo, func() { d.withdraw(p) })
	if err := d.announce(ctx, p); err != nil {
		return nil, err
	}
	// The interface has its addresses: the bridge can listen on them (a
	// client without addresses starts it once granted).
	if err := d.dns.apply(cfg, cfg.Interface.Address); err != nil {
		return nil, err
	}
	undo = append(undo, d.dns.close)
	if d.ctl, err = listenControl(rundir, cfg.Link, d.serve); err != nil {
		return nil, err
	}
	d.start(p)
	return d, nil
}

// openLink opens the device, sets its addresses, state and routes, and
// makes the engine on it.
func (d *daemon) openLink(cfg *config.Link) (*link.Link, error) {
	dev, err := openDevice(cfg.Interface)
	if err != nil {
		return nil, err
	}
	if err := d.configureIface(cfg); err != nil {
		dev.Close()
		return nil, err
	}
	lc := link.Config{
		Name: cfg.Name, Mode: cfg.Interface.Mode, Device: dev, Addrs: cfg.Interface.Address,
		MTU: cfg.Interface.MTU, MSSClamp: cfg.Interface.MSSClamp,
		AllowMove: cfg.Interface.AllowMove, MACAge: cfg.Interface.MACAge,
		OnAddrs: d.granted, Log: d.log, // the engine logs MTU changes itself
	}
	if len(cfg.Accept.Pool) > 0 {
		if lc.Pool, err = openPool(cfg); err != nil {
			dev.Close()
			return nil, err
		}
	}
	lk, err := link.New(lc)
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("link %s: %w", cfg.Link, err)
	}
	return lk, nil
}

// openDevice opens the tun or tap interface; a busy device is named.
func openDevice(ic config.Interface) (tunif.Device, error) {
	tc := tunif.Config{Name: ic.Device, MTU: ic.MTU}
	var dev tunif.Device
	var err error
	if ic.Mode == wire.Tap {
		dev, err = tunif.OpenTAP(tc)
	} else {
		dev, err = tunif.OpenTUN(tc)
	}
	if err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return nil, fmt.Errorf("device %s is busy: another program (another ovpn link?) holds it; pick another [interface] device (%w)", ic.Device, err)
		}
		return nil, fmt.Errorf("cannot open %s device %s: %w", ic.Mode, ic.Device, err)
	}
	return dev, nil
}

// configureIface gives the interface its addresses, brings it up and, in
// tun mode, routes through it what kernelRoutes says (at up: every
// [[peer]]'s routes).
func (d *daemon) configureIface(cfg *config.Link) error {
	if err := d.iface.SetAddrs(cfg.Interface.Address); err != nil {
		return err
	}
	if err := d.iface.Up(); err != nil {
		return err
	}
	if cfg.Interface.Mode != wire.Tun {
		return nil
	}
	return d.iface.SetRoutes(kernelRoutes(cfg, d.od.learnedPrefixes()))
}

// peerRoutes lists the routes of every [[peer]].
func peerRoutes(cfg *config.Link) []netip.Prefix {
	var rs []netip.Prefix
	for _, p := range cfg.Peers {
		rs = append(rs, p.Routes...)
	}
	return rs
}

// openPool opens the address pool, its leases kept in StateDir/LINK.leases.
func openPool(cfg *config.Link) (*pool.Pool, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory for leases: %w", err)
	}
	var reserved []netip.Addr
	for _, a := range cfg.Interface.Address {
		reserved = append(reserved, a.Addr())
	}
	p, err := pool.Open(pool.Config{Prefixes: cfg.Accept.Pool, Reserved: reserved, Lease: cfg.Accept.Lease,
		File: cfg.LeaseFile()})
	if err != nil {
		return nil, fmt.Errorf("[accept] pool: %w", err)
	}
	return p, nil
}

// granted sets the addresses a peer's pool granted this end (a client).
func (d *daemon) granted(addrs []netip.Prefix) {
	if err := d.iface.SetAddrs(addrs); err != nil {
		d.log.Error("cannot set the granted addresses", "addresses", addrs, "err", err)
		return
	}
	d.log.Info("addresses granted", "addresses", addrs)
	if err := d.dns.apply(d.config(), addrs); err != nil {
		d.log.Error("DNS bridge not started on the granted address", "err", err)
	}
}

// start runs the engine, the irmd sessions with their accept loop, and a
// dial loop per [[peer]].
func (d *daemon) start(p *flow.Process) {
	ctx := d.ctx
	go func() {
		if err := d.link.Run(ctx); err != nil {
			d.log.Error("the device failed; taking the link down", "err", err)
			d.stop()
		}
	}()
	if p != nil { // nil: a test's daemon without irmd
		go d.runSessions(ctx, p)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, pc := range d.cfg.Peers {
		d.dials[pc.Name] = d.startDialer(ctx, pc.Name)
	}
}

// stop tears the link down once, whoever asks first (ovpn down, a signal,
// a failed device), and returns when it is over.
func (d *daemon) stop() {
	d.stopOnce.Do(func() {
		go d.teardown()
	})
	<-d.stopped
}

// teardown undoes up: the loops, the name in irmd, the flows, the device
// (its addresses and routes go with it) and the control socket.
func (d *daemon) teardown() {
	defer close(d.stopped)
	d.cancel()
	d.dns.close() // before the device goes: resolvectl revert names it
	d.mu.Lock()
	dials := d.dials
	d.dials = map[string]*dialer{}
	d.mu.Unlock()
	for _, dl := range dials {
		dl.stop()
	}
	p := d.procs.current()
	if p != nil {
		d.withdraw(p)
	}
	if d.config().Interface.Mode == wire.Tun {
		if err := d.iface.SetRoutes(nil); err != nil {
			d.log.Warn("removing routes", "err", err)
		}
	}
	if err := d.link.Close(); err != nil {
		d.log.Warn("closing the link", "err", err)
	}
	if p != nil {
		p.Close()
	}
	if d.ctl != nil {
		d.ctl.close()
	}
	d.log.Info("link down", "link", d.config().Link)
}

// wait serves signals until the link is down: SIGHUP reloads, SIGTERM and
// SIGINT take it down.
func (d *daemon) wait(notify func(string)) {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	for {
		select {
		case <-d.stopped:
			return
		case s := <-sig:
			if s != syscall.SIGHUP {
				d.log.Info("signal: taking the link down", "signal", s)
				notify("STOPPING=1")
				d.stop()
				return
			}
			notify(reloadingState())
			if err := d.reload(); err != nil {
				d.log.Error("reload refused; the link runs as before", "err", err)
			}
			notify("READY=1")
		}
	}
}
