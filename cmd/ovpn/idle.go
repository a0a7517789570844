package main

import (
	"time"

	"o7s.dev/ouroboros/overlay/link"
)

// minIdleCheck bounds how often a peer's counters are looked at.
const minIdleCheck = 10 * time.Millisecond

// closeWhenIdle closes the on-demand peer p (called name) once it has
// carried no data, either way, for [dns] idle: its data counters are
// unchanged (echoes do not count). The published names learned through
// it and their routes go with it (watchPeer). It returns when p ends; a
// peer that a reload made a [[peer]] is kept.
func (d *daemon) closeWhenIdle(p *link.Peer, name string) {
	var last uint64
	quiet := time.Now()
	for {
		idle := idleAfter(d.config())
		t := time.NewTimer(max(idle/4, minIdleCheck))
		select {
		case <-p.Done():
			t.Stop()
			return
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		st := p.Status()
		if n := st.TxPackets + st.RxPackets; n != last {
			last, quiet = n, time.Now()
			continue
		}
		if time.Since(quiet) < idle || d.config().Peer(name) != nil || d.link.Peer(name) != p {
			continue
		}
		d.log.Info("closing an idle flow set up on demand", "peer", name, "idle", idle)
		p.Remove("idle") // p itself: a flow that took the name since stays
		return
	}
}
