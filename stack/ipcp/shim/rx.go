package shim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
)

// rxBatch is how many datagrams routineRead takes per system call.
const rxBatch = 64

// routineRead reads the transport and hands each datagram to its flow, or
// to the management protocol.
func (c *Core[A]) routineRead() {
	defer c.wg.Done()
	mtu := c.tr.MTU()
	msgs := make([]Msg[A], rxBatch)
	for i := range msgs {
		msgs[i].Buf = make([]byte, mtu)
	}
	sdus := make([][]byte, 0, rxBatch)
	for {
		n, err := c.tr.ReadBatch(msgs)
		// Consecutive datagrams of one flow go to its application in one call.
		var cur *flow[A]
		for i := 0; i < n; i++ {
			f, sdu := c.classify(&msgs[i])
			if f != cur && len(sdus) > 0 {
				c.deliver(cur, sdus)
				sdus = sdus[:0]
			}
			cur = f
			if f != nil {
				sdus = append(sdus, sdu)
			}
		}
		if len(sdus) > 0 {
			c.deliver(cur, sdus)
			sdus = sdus[:0]
		}
		if err != nil {
			select {
			case <-c.done:
				return
			default:
			}
			c.log.Error("transport failed", "err", err)
			time.Sleep(100 * time.Millisecond) // do not spin on a persistent error
		}
	}
}

// classify returns the flow a data datagram belongs to, with its SDU, or
// handles a management message (returning nil).
func (c *Core[A]) classify(m *Msg[A]) (*flow[A], []byte) {
	p := m.Buf[:m.N]
	if len(p) < dataHeader {
		c.stats.Malformed.Add(1)
		c.logDrop("short datagram", m.Addr)
		return nil, nil
	}
	eid := binary.BigEndian.Uint32(p)
	if eid == 0 {
		c.management(m.Addr, p)
		return nil, nil
	}
	c.mu.Lock()
	f := c.flows[eid]
	c.mu.Unlock()
	switch {
	case f == nil:
		c.stats.UnknownEID.Add(1)
		c.logDrop("unknown endpoint", m.Addr)
		return nil, nil
	case f.peer != m.Addr:
		c.stats.WrongSource.Add(1) // data is accepted only from the flow's peer
		c.logDrop("datagram from the wrong source", m.Addr)
		return nil, nil
	case len(p) == dataHeader:
		c.stats.Malformed.Add(1)
		return nil, nil
	}
	return f, p[dataHeader:]
}

// deliver hands SDUs to a flow's application without blocking.
func (c *Core[A]) deliver(f *flow[A], sdus [][]byte) {
	f.heard()
	n, err := f.port.TryWriteBatch(sdus)
	if err != nil {
		// The application is gone: what it did not take counts as for a
		// flow that no longer exists, not as an application too slow.
		c.stats.UnknownEID.Add(uint64(len(sdus) - n))
		c.endFlow(f, ctrl.ReasonPeer, true)
		return
	}
	if n < len(sdus) {
		c.stats.AppFull.Add(uint64(len(sdus) - n))
	}
}

// management handles one management message.
func (c *Core[A]) management(from A, p []byte) {
	var m mgmt
	if err := decodeMgmt(p, &m); err != nil {
		if errors.Is(err, errVersion) {
			c.stats.WrongVersion.Add(1)
		} else {
			c.stats.Malformed.Add(1)
		}
		c.logDrop(err.Error(), from)
		return
	}
	switch m.code {
	case codeFlowReq:
		c.onRequest(from, m)
	case codeFlowReply, codeCookie:
		c.onReply(from, m)
	case codeDealloc:
		c.onDealloc(from, m)
	case codeKeepalive:
		if f := c.flowFrom(from, m.dstEID); f != nil {
			if m.token != f.mine.token {
				c.forged("keepalive", from)
				return
			}
			f.heard()
		}
	case codeQuery:
		c.onQuery(from, m)
	case codeQueryReply:
		c.onQueryReply(from, m)
	}
}

// onDealloc ends a flow if the DEALLOC comes from its peer and reveals the
// secret behind the peer's commit: nothing else can end a flow.
func (c *Core[A]) onDealloc(from A, m mgmt) {
	c.mu.Lock()
	f := c.flows[m.dstEID]
	c.mu.Unlock()
	switch {
	case f == nil:
		// DEALLOC is sent twice: the second, for a flow already gone, is
		// expected and not counted as a drop.
	case f.peer != from || !opens(f.peerCommit, m.secret):
		c.forged("deallocation", from)
	default:
		c.endFlow(f, ctrl.ReasonPeer, false)
	}
}

// forged counts and logs a control message for a flow that does not prove
// it comes from the flow's peer.
func (c *Core[A]) forged(what string, from A) {
	c.stats.Forged.Add(1)
	c.refused.Log(slog.LevelWarn, "forged "+what, "dropping a forged "+what+": it does not carry the flow's credentials",
		"from", fmt.Sprint(from))
}

// flowFrom returns the flow with local eid whose peer is from.
func (c *Core[A]) flowFrom(from A, eid uint32) *flow[A] {
	c.mu.Lock()
	f := c.flows[eid]
	c.mu.Unlock()
	if f == nil || f.peer != from {
		c.stats.UnknownEID.Add(1)
		return nil
	}
	return f
}

// onReply hands a FLOW_REPLY or a COOKIE to the allocation waiting for it,
// if it comes from the address the request went to.
func (c *Core[A]) onReply(from A, m mgmt) {
	c.mu.Lock()
	w, ok := c.pending[m.dstEID]
	c.mu.Unlock()
	if !ok || w.peer != from {
		return // late or repeated: the allocation is over; or not from the peer
	}
	m.data = append([]byte(nil), m.data...) // the read buffer is reused
	select {
	case w.ch <- m:
	default:
	}
}
