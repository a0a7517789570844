package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

// Timeouts of a flow's set-up: the allocation (which may cross the layer
// and resolve the name in its directory) and the hello exchange after it.
const (
	allocTimeout = 30 * time.Second
	helloTimeout = 5 * time.Second
)

// stableUp is how long a peer's flow must have been up for its end to
// count as a break (re-dial at once) rather than a failure (back off).
const stableUp = 10 * time.Second

// peerFlow is what the command needs of a flow: what the engine moves
// packets on, and what irmd's key exchange proved about the other end.
// *flow.Flow is one.
type peerFlow interface {
	link.Flow
	Peer() flow.Peer
	// Name is the name the flow was allocated to: this end's own, or
	// one of its [[publish]] names (publish.go) for an accepted flow.
	Name() string
}

// dialer keeps one [[peer]]'s flow up: it allocates one whenever the peer
// is not up (by a flow of either end), with backoff after failures.
type dialer struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{} // closed when the loop has returned

	mu      sync.Mutex
	lastErr string    // why the last attempt failed; "" after a success
	next    time.Time // when the next attempt is due, while waiting
}

// state returns the last failure and the next attempt, for status.
func (dl *dialer) state() (string, time.Time) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.lastErr, dl.next
}

func (dl *dialer) setState(lastErr string, next time.Time) {
	dl.mu.Lock()
	dl.lastErr, dl.next = lastErr, next
	dl.mu.Unlock()
}

// stop ends the loop and waits for it.
func (dl *dialer) stop() {
	dl.cancel()
	<-dl.done
}

// startDialer starts the dial loop of the [[peer]] called name.
func (d *daemon) startDialer(ctx context.Context, name string) *dialer {
	ctx, cancel := context.WithCancel(ctx)
	dl := &dialer{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(dl.done)
		d.dialLoop(ctx, dl)
	}()
	return dl
}

// dialLoop is one [[peer]]'s loop: while the peer is up it waits for its
// flow to end; otherwise it dials, backing off after each failure. A flow
// that ends within stableUp of coming up counts as a failure too: the far
// end decides on its own whether to admit this end, and its refusal
// arrives just after the exchange, so a refused peer is up for a moment
// and must not be re-dialled at once.
func (d *daemon) dialLoop(ctx context.Context, dl *dialer) {
	var b backoff
	logged := "" // the last failure logged, so each reason is logged once
	fail := func(err error) {
		wait := b.next()
		dl.setState(err.Error(), time.Now().Add(wait))
		if err.Error() != logged {
			logged = err.Error()
			d.rl.Log(slog.LevelWarn, "dial "+dl.name+": "+logged, "cannot reach peer", "peer", dl.name, "err", err, "retry", wait.Round(time.Millisecond))
		}
		sleep(ctx, wait)
	}
	for ctx.Err() == nil {
		if p := d.link.Peer(dl.name); p != nil {
			since := time.Now()
			dl.setState("", time.Time{})
			select {
			case <-p.Done():
			case <-ctx.Done():
				return
			}
			if time.Since(since) < stableUp && p.Err() != nil {
				fail(p.Err())
				continue
			}
			b.reset()
			logged = ""
			continue
		}
		err := d.dial(ctx, dl.name)
		if err == nil || ctx.Err() != nil || d.link.Peer(dl.name) != nil {
			continue
		}
		fail(err)
	}
}

// dial allocates a flow to the [[peer]] called name and hands it to the
// engine, which runs the hello exchange and admits the peer.
func (d *daemon) dial(ctx context.Context, name string) error {
	f, err := d.alloc(ctx, name)
	if err != nil {
		return err
	}
	return d.add(ctx, f, name)
}

// allocFromIRMd is the daemon's alloc: a flow to name through irmd, in
// the link's layer (no other is asked for the name), allocated as this
// end's name so that the far end can prove who dialled.
// It waits while irmd is away.
func (d *daemon) allocFromIRMd(ctx context.Context, name string) (peerFlow, error) {
	p, err := d.procs.wait(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, allocTimeout)
	defer cancel()
	cfg := d.config()
	f, err := p.AllocIn(ctx, cfg.Layer, name, cfg.Name, qos.Raw)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// addAccepted hands a flow irmd accepted for this end to the engine.
func (d *daemon) addAccepted(ctx context.Context, f peerFlow) {
	if err := d.add(ctx, f, ""); err != nil && ctx.Err() == nil {
		d.rl.Log(slog.LevelWarn, acceptCause(err), "peer not accepted", "err", err)
	}
}

// acceptCauses is how many rate-limit causes refusals of accepted flows
// are spread over.
const acceptCauses = 16

// acceptCause is the rate-limit cause of a refused accepted flow: its
// reason, peer name included, hashed into one of acceptCauses. One peer
// retrying then does not hide another's refusal (one cause for all of them
// hid it for up to the interval and the next retry, 20 s in the tests),
// and a stranger rotating names still gets at most acceptCauses lines per
// interval.
func acceptCause(err error) string {
	h := fnv.New32a()
	io.WriteString(h, err.Error())
	return fmt.Sprintf("accept %d", h.Sum32()%acceptCauses)
}

// add runs the engine's hello exchange on f (dialled to dialled, or
// accepted when dialled is ""), admitting the peer under the configuration
// current at the time, and watches the peer once it is up.
func (d *daemon) add(ctx context.Context, f peerFlow, dialled string) error {
	adm := &admission{Dialled: dialled != "", Proof: f.Peer()}
	var pc link.PeerConfig
	hctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	peer, err := d.link.Add(hctx, f, dialled != "", func(h link.Hello) (link.PeerConfig, error) {
		var err error
		adm.Hello = h.Name
		// A refusal comes back as Add's error, logged by the caller.
		cfg := d.config()
		if pc, err = admit(cfg, dialled, adm.Proof, h); err != nil {
			return pc, err
		}
		// A gateway whose published hosts were learned keeps them on a
		// new flow, whoever dialled it.
		pc.Routes = append(slices.Clone(pc.Routes), d.od.routesVia(pc.Name, cfg)...)
		return pc, nil
	})
	if err != nil {
		return err
	}
	d.watch(peer, pc, adm)
	return nil
}

// watch records an admitted peer until its flow ends, for reload to judge
// it again, and judges it once more under the configuration in force now:
// a reload that came while the peer was being set up did not see it.
// (Recording and reading the configuration under d.mu, as reload swaps
// the configuration and reads the records under it, leaves no gap.) The
// engine logs the peer's coming up and going down.
func (d *daemon) watch(p *link.Peer, pc link.PeerConfig, adm *admission) {
	d.mu.Lock()
	d.admitted[pc.Name] = adm
	cfg := d.cfg
	d.mu.Unlock()
	if err := adm.judge(cfg, pc.Name); err != nil {
		d.log.Info("peer no longer admitted", "peer", pc.Name, "reason", err)
		d.link.Remove(pc.Name, "no longer admitted: "+err.Error())
	}
	go func() {
		<-p.Done()
		d.mu.Lock()
		if d.admitted[pc.Name] == adm {
			delete(d.admitted, pc.Name)
		}
		d.mu.Unlock()
	}()
}
