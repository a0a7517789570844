package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"o7s.dev/ouroboros/stack/flow"
)

// Timeouts of the calls to irmd the daemon makes.
const (
	attachTimeout = 10 * time.Second
	callTimeout   = 10 * time.Second
)

// maxPending bounds the accepted flows whose hello exchange is under way
// (each for up to helloTimeout).
const maxPending = 64

// procs holds the daemon's current attachment to irmd, which changes when
// irmd restarts. Dial loops wait on it while there is none.
type procs struct {
	mu    sync.Mutex
	cur   *flow.Process
	ready chan struct{} // closed while cur is set
}

func newProcs() *procs { return &procs{ready: make(chan struct{})} }

// set makes p the current attachment.
func (h *procs) set(p *flow.Process) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur = p
	close(h.ready)
}

// clear forgets the current attachment, which irmd ended, and returns it.
func (h *procs) clear() *flow.Process {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.cur
	if p != nil {
		h.cur = nil
		h.ready = make(chan struct{})
	}
	return p
}

// current returns the attachment, nil while there is none.
func (h *procs) current() *flow.Process {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// wait returns the attachment once there is one, or ctx's error.
func (h *procs) wait(ctx context.Context) (*flow.Process, error) {
	for {
		h.mu.Lock()
		p, ready := h.cur, h.ready
		h.mu.Unlock()
		if p != nil {
			return p, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// attach attaches to irmd; its error says how to start irmd.
func attach(ctx context.Context, rundir string) (*flow.Process, error) {
	ctx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	p, err := flow.Attach(ctx, flow.Config{RunDir: rundir})
	if err != nil && errors.Is(err, flow.ErrIRMd) {
		return nil, fmt.Errorf("irmd is not running (no socket in %s): start it with 'systemctl start irmd' or 'irmd' (%w)", rundir, err)
	}
	return p, err
}

// announce registers this end's name in its layer and binds the process
// to it, so that peers can dial it.
func (d *daemon) announce(ctx context.Context, p *flow.Process) error {
	cfg := d.config()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	existed, err := p.NameExists(ctx, cfg.Name)
	if err != nil {
		return err
	}
	if !existed {
		d.created.Store(true)
	}
	if err := p.Register(ctx, cfg.Name, cfg.Layer); err != nil {
		return fmt.Errorf("cannot register %s in layer %s: %w; is %s a layer this host's irmd is a member of? (irm ipcp list)",
			cfg.Name, cfg.Layer, err, cfg.Layer)
	}
	if err := p.Bind(ctx, cfg.Name); err != nil {
		return fmt.Errorf("cannot bind this process to %s: %w", cfg.Name, err)
	}
	return d.announcePublished(ctx, p, cfg, publishNames(cfg))
}

// withdraw undoes announce, at teardown; irmd may be gone already. A name
// the link created (irmd did not know it before) is removed from irmd too;
// one that an admin created or irmd.conf names stays, unregistered.
func (d *daemon) withdraw(p *flow.Process) {
	cfg := d.config()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := p.Unbind(ctx, cfg.Name); err != nil {
		d.log.Warn("unbind failed", "name", cfg.Name, "err", err)
	}
	if err := p.Unregister(ctx, cfg.Name, cfg.Layer); err != nil {
		d.log.Warn("unregister failed", "name", cfg.Name, "layer", cfg.Layer, "err", err)
	}
	if d.created.Load() {
		if err := p.DestroyName(ctx, cfg.Name); err != nil {
			d.log.Warn("cannot remove the name this link created", "name", cfg.Name, "err", err)
		}
	}
	d.withdrawPublished(p, cfg, publishNames(cfg))
}

// runSessions serves flows through p, and through a new attachment each
// time irmd goes away and comes back, until ctx ends. It leaves the last
// attachment in d.procs for teardown.
func (d *daemon) runSessions(ctx context.Context, p *flow.Process) {
	for {
		d.procs.set(p)
		sctx, cancel := context.WithCancel(ctx)
		go d.acceptLoop(sctx, p)
		select {
		case <-p.Done():
		case <-ctx.Done():
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		d.procs.clear()
		p.Close()
		d.log.Warn("irmd went away; attaching again when it is back (the interface stays up)")
		if p = d.reattach(ctx); p == nil {
			return
		}
		d.log.Info("attached to irmd again", "name", d.config().Name, "layer", d.config().Layer)
		if err := d.ctl.renew(); err != nil {
			d.log.Error("cannot make the control socket again: ovpn status, reload and down cannot reach this link; stop it with SIGTERM", "err", err)
		}
	}
}

// reattachMax caps the backoff of reattach: attaching and registering are
// calls to this host's irmd, cheap enough to try every second while irmd
// restarts and its layer comes up (enrollment takes seconds), and each
// second saved is a second sooner that traffic flows again.
const reattachMax = time.Second

// reattach attaches and announces with backoff until it works or ctx ends.
func (d *daemon) reattach(ctx context.Context) *flow.Process {
	b := backoff{max: reattachMax}
	for sleep(ctx, b.next()) {
		p, err := attach(ctx, d.rundir)
		if err == nil {
			if err = d.announce(ctx, p); err == nil {
				return p
			}
			p.Close()
		}
		d.rl.Log(slog.LevelWarn, "reattach", "cannot attach to irmd yet", "err", err)
	}
	return nil
}

// acceptLoop hands every flow irmd gives this process to the engine, until
// ctx ends or the attachment does.
func (d *daemon) acceptLoop(ctx context.Context, p *flow.Process) {
	for {
		f, err := p.Accept(ctx)
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-p.Done():
				return
			default:
			}
			d.rl.Log(slog.LevelWarn, "accept", "accepting a flow failed", "err", err)
			if !sleep(ctx, backoffMin) {
				return
			}
			continue
		}
		d.take(ctx, f)
	}
}

// take hands an accepted flow to the engine, in a goroutine of its own,
// unless maxPending flows are in their hello exchange already: then it
// closes the flow. A member of the layer that opens flows faster than they
// finish their hello so costs a bounded number of goroutines and flows.
// It reports whether it took the flow.
func (d *daemon) take(ctx context.Context, f peerFlow) bool {
	select {
	case d.pending <- struct{}{}:
	default:
		f.Close()
		d.rl.Log(slog.LevelWarn, "accept-busy", "flow closed: too many peers are setting up at once", "max", maxPending)
		return false
	}
	go func() {
		defer func() { <-d.pending }()
		if pub := publishEntry(d.config(), f.Name()); pub != nil {
			d.answer(ctx, f, *pub)
			return
		}
		d.addAccepted(ctx, f)
	}()
	return true
}
