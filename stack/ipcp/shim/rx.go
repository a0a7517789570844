package shim

import (
	"encoding/binary"
	"errors"
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
	case codeFlowReply:
		c.onReply(from, m)
	case codeDealloc:
		// DEALLOC is sent twice: the second, for a flow already gone, is
		// expected and not counted as a drop.
		c.mu.Lock()
		f := c.flows[m.dstEID]
		c.mu.Unlock()
		if f != nil && f.peer == from {
			c.endFlow(f, ctrl.ReasonPeer, false)
		}
	case codeKeepalive:
		c.flowFrom(from, m.dstEID) // validates; the datagram itself kept the NAT open
	case codeQuery:
		c.onQuery(from, m)
	case codeQueryReply:
		c.onQueryReply(from, m)
	}
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

func (c *Core[A]) onRequest(from A, m mgmt) {
	key := peerKey[A]{from, m.srcEID}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if f, ok := c.byPeer[key]; ok { // a repeat of an answered request
		c.mu.Unlock()
		c.send(from, encodeMgmt(make([]byte, 0, 16+len(f.reply)), &mgmt{code: codeFlowReply, srcEID: f.local, dstEID: m.srcEID, result: resultOK, data: f.reply}))
		return
	}
	if _, ok := c.arriving[key]; ok { // a repeat while the answer is on its way
		c.mu.Unlock()
		return
	}
	c.arriving[key] = struct{}{}
	c.wg.Add(1)
	c.mu.Unlock()
	m.hash = append([]byte(nil), m.hash...) // the read buffer is reused
	m.data = append([]byte(nil), m.data...)
	go c.arrived(from, m)
}

func (c *Core[A]) onReply(from A, m mgmt) {
	c.mu.Lock()
	ch := c.pending[m.dstEID]
	c.mu.Unlock()
	if ch == nil {
		return // late or repeated: the allocation is over
	}
	m.data = append([]byte(nil), m.data...) // the read buffer is reused
	select {
	case ch <- m:
	default:
	}
}
