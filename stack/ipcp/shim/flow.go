package shim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// txBatch is how many SDUs a flow's sender moves per system call.
const txBatch = 32

// flow is one flow through the shim.
type flow[A comparable] struct {
	local, remote uint32
	peer          A
	port          ipcp.Port
	reply         []byte       // the data answered to the request, for repeats
	lastSent      atomic.Int64 // Unix ns; keepalives go out when idle
	endOnce       sync.Once
}

// startFlow registers a flow and starts its sender.
func (c *Core[A]) startFlow(local, remote uint32, peer A, q qos.Spec, reply []byte, port ipcp.Port) error {
	f := &flow[A]{local: local, remote: remote, peer: peer, port: port, reply: reply}
	f.lastSent.Store(time.Now().UnixNano())
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
			d := encodeMgmt(make([]byte, 0, 16), &mgmt{code: codeDealloc, dstEID: f.remote})
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

// arrived answers a flow request: it asks the IRM for an accepting process
// and replies with the outcome. Repeated requests while this runs, or
// after, get the same answer.
func (c *Core[A]) arrived(from A, m mgmt) {
	defer c.wg.Done()
	key := peerKey[A]{from, m.srcEID}
	defer func() {
		c.mu.Lock()
		delete(c.arriving, key)
		c.mu.Unlock()
	}()
	reply := func(local uint32, result uint8, data []byte, reason string) {
		c.send(from, encodeMgmt(make([]byte, 0, 16+len(data)+len(reason)),
			&mgmt{code: codeFlowReply, srcEID: local, dstEID: m.srcEID, result: result, data: data, reason: reason}))
	}
	if !c.registered(m.hash) {
		reply(0, resultUnreachable, nil, "the name is not registered in "+c.cfg.Name+" on that host")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	port, data, err := c.cfg.Host.Arrived(ctx, c.self, fmt.Sprint(from), m.hash, m.qos, m.data)
	if err != nil {
		c.log.Info("flow request refused", "from", from, "err", err)
		result := uint8(resultUnreachable)
		if ce := (*ctrl.Error)(nil); errors.As(err, &ce) && ce.Code == ctrl.CodeNotAllowed {
			result = resultRefused // found, but the host will not have it (policy, certificates)
		}
		reply(0, result, nil, err.Error())
		return
	}
	if len(data) > ipcp.MaxAllocData || mgmtHeader+13+len(data) > c.MaxSDU()+dataHeader {
		c.log.Warn("flow request refused: the reply's data does not fit a packet", "from", from, "bytes", len(data))
		port.Down(ctrl.ReasonDown)
		reply(0, resultRefused, nil, "the reply's key exchange does not fit a packet")
		return
	}
	c.mu.Lock()
	local := c.newEIDLocked()
	c.mu.Unlock()
	if err := c.startFlow(local, m.srcEID, from, m.qos, data, port); err != nil {
		port.Down(ctrl.ReasonDown)
		reply(0, resultRefused, nil, err.Error())
		return
	}
	reply(local, resultOK, data, "")
}

// routineKeepalive sends a keepalive on every flow idle for the keepalive
// interval, so that NATs keep their mappings.
func (c *Core[A]) routineKeepalive() {
	defer c.wg.Done()
	tick := time.NewTicker(max(c.cfg.Keepalive/4, 10*time.Millisecond))
	defer tick.Stop()
	buf := make([]byte, 0, 16)
	for {
		select {
		case <-c.done:
			return
		case now := <-tick.C:
			for _, f := range c.idleFlows(now) {
				c.send(f.peer, encodeMgmt(buf[:0], &mgmt{code: codeKeepalive, dstEID: f.remote}))
				f.lastSent.Store(now.UnixNano())
			}
		}
	}
}

func (c *Core[A]) idleFlows(now time.Time) []*flow[A] {
	c.mu.Lock()
	defer c.mu.Unlock()
	var idle []*flow[A]
	for _, f := range c.flows {
		if now.UnixNano()-f.lastSent.Load() >= int64(c.cfg.Keepalive) {
			idle = append(idle, f)
		}
	}
	return idle
}
