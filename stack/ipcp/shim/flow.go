package shim

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
)

// txBatch is how many SDUs a flow's sender moves per system call.
const txBatch = 32

// flow is one flow through the shim.
type flow[A comparable] struct {
	local, remote uint32
	peer          A
	port          ipcp.Port
	reply         []byte // the data answered to the request, for repeats
	mine          creds  // this side's token and secret
	peerToken     uint64 // what this side's keepalives carry
	peerCommit    [secretLen]byte
	lastSent      atomic.Int64 // Unix ns; keepalives go out when idle
	lastHeard     atomic.Int64 // Unix ns; the flow ends when silent too long
	endOnce       sync.Once
}

// heard notes that the peer sent something.
func (f *flow[A]) heard() { f.lastHeard.Store(time.Now().UnixNano()) }

// startFlow registers a flow and starts its sender.
func (c *Core[A]) startFlow(f *flow[A]) error {
	local, remote, peer := f.local, f.remote, f.peer
	now := time.Now().UnixNano()
	f.lastSent.Store(now)
	f.lastHeard.Store(now)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ctrl.Errorf(ctrl.CodeDown, "%s is shutting down", c.cfg.Name)
	}
	c.flows[local] = f
	c.byPeer[peerKey[A]{peer, remote}] = f
	c.wg.Add(1)
	c.mu.Unlock()
	go c.routineSend(f)
	return nil
}

// routineSend moves SDUs from the application to the peer, each behind the
// peer's endpoint id, read straight into buffers with room for it.
func (c *Core[A]) routineSend(f *flow[A]) {
	defer c.wg.Done()
	mtu := c.tr.MTU()
	bufs := make([][]byte, txBatch)
	raw := make([][]byte, txBatch)
	for i := range bufs {
		raw[i] = make([]byte, mtu)
		bufs[i] = raw[i][dataHeader:]
	}
	lens := make([]int, txBatch)
	msgs := make([]Msg[A], txBatch)
	for {
		n, err := f.port.ReadBatch(bufs, lens)
		for i := 0; i < n; i++ {
			binary.BigEndian.PutUint32(raw[i], f.remote)
			msgs[i] = Msg[A]{Buf: raw[i], N: dataHeader + lens[i], Addr: f.peer}
		}
		if n > 0 {
			c.tr.WriteBatch(msgs[:n]) // a datagram layer may lose: errors are loss
			f.lastSent.Store(time.Now().UnixNano())
		}
		if err != nil {
			// The application deallocated (or its port was ended).
			c.endFlow(f, ctrl.ReasonPeer, true)
			return
		}
	}
}

// endFlow removes a flow, tells the peer when tell is set, and ends the
// application's side with reason (unless it ended the flow itself).
func (c *Core[A]) endFlow(f *flow[A], reason ctrl.Reason, tell bool) {
	f.endOnce.Do(func() {
		c.mu.Lock()
		delete(c.flows, f.local)
		delete(c.byPeer, peerKey[A]{f.peer, f.remote})
		c.mu.Unlock()
		if tell {
			d := encodeMgmt(make([]byte, 0, 32), &mgmt{code: codeDealloc, dstEID: f.remote, secret: f.mine.secret})
			c.send(f.peer, d)
			c.send(f.peer, d) // twice: a lost deallocation costs the peer a timeout
		}
		f.port.Down(reason)
	})
}

// send writes one datagram; losses are the layer's business.
func (c *Core[A]) send(to A, b []byte) {
	msgs := [1]Msg[A]{{Buf: b, N: len(b), Addr: to}}
	c.tr.WriteBatch(msgs[:])
}

// routineKeepalive sends a keepalive on every flow that has sent nothing
// for the keepalive interval, so that its peer knows it is alive and NATs
// keep their mappings, and ends the flows whose peer has been silent for
// the dead timeout (the peer vanished, or never meant to use the flow).
func (c *Core[A]) routineKeepalive() {
	defer c.wg.Done()
	every := c.keepalive()
	tick := time.NewTicker(max(every/4, 10*time.Millisecond))
	defer tick.Stop()
	buf := make([]byte, 0, 32)
	for {
		select {
		case <-c.done:
			return
		case now := <-tick.C:
			idle, dead := c.idleFlows(now, every)
			for _, f := range idle {
				c.send(f.peer, encodeMgmt(buf[:0], &mgmt{code: codeKeepalive, dstEID: f.remote, token: f.peerToken}))
				f.lastSent.Store(now.UnixNano())
			}
			for _, f := range dead {
				c.refused.Log(slog.LevelInfo, "dead", "flow ended: its peer has been silent for the dead timeout",
					"peer", fmt.Sprint(f.peer), "silence", c.cfg.Dead)
				c.endFlow(f, ctrl.ReasonPeer, true)
			}
		}
	}
}

// idleFlows returns the flows that sent nothing for every, and those whose
// peer was silent for the dead timeout.
func (c *Core[A]) idleFlows(now time.Time, every time.Duration) (idle, dead []*flow[A]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := now.UnixNano()
	for _, f := range c.flows {
		switch {
		case ns-f.lastHeard.Load() >= int64(c.cfg.Dead):
			dead = append(dead, f)
		case ns-f.lastSent.Load() >= int64(every):
			idle = append(idle, f)
		}
	}
	return idle, dead
}
