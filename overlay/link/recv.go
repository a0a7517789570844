package link

// The peer-to-device half of the data path: one goroutine per peer, a
// batch at a time, allocating nothing per packet:
//
//	p.f.ReadBatch(rbufs) ─► for each SDU, by wire.Classify:
//	    control        ─► control(): echo, reply, grant, refuse
//	    IPv4/IPv6, tun ─► routes.Allowed(p, src)? else drop "spoofed"
//	    Ethernet, tap  ─► macs.Learn(src MAC, p): Refused? drop "mac-moved"
//	    anything else  ─► drop "malformed"
//	─► dev.Write(wbufs, Headroom)
//
// Each SDU is read where the device will write it from: rbufs[i] starts at
// store[i][rdOff], with rdOff = Headroom for a tun (the SDU is the packet)
// and Headroom-1 for a tap (the tag byte goes before the headroom's end, so
// the frame starts at Headroom). wbufs[i] is store[i][:Headroom+len]: no
// copy. Frames from a peer go only to the device, never to another peer
// (send.go says why).

import (
	"fmt"

	"o7s.dev/ouroboros/overlay/mac"
	"o7s.dev/ouroboros/overlay/packet"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/tunif"
)

// peerReader is a peer's read goroutine's state.
type peerReader struct {
	p     *Peer
	store [][]byte // whole buffers, capacity Headroom+MaxPacket or more
	rbufs [][]byte // what the flow reads into
	lens  []int
	wbufs [][]byte // what the device writes from, rebuilt every batch
}

func newPeerReader(p *Peer) *peerReader {
	n := p.l.cfg.Device.BatchSize()
	r := &peerReader{
		p:     p,
		store: make([][]byte, n),
		rbufs: make([][]byte, n),
		lens:  make([]int, n),
		wbufs: make([][]byte, 0, n),
	}
	off := r.rdOff()
	size := tunif.Headroom + max(tunif.MaxPacket, p.maxSDU)
	for i := range r.store {
		r.store[i] = make([]byte, size)
		r.rbufs[i] = r.store[i][off:]
	}
	return r
}

func (r *peerReader) rdOff() int {
	if r.p.l.cfg.Mode == wire.Tap {
		return tunif.Headroom - 1
	}
	return tunif.Headroom
}

// run reads the peer's flow until it ends, then ends the peer.
func (r *peerReader) run() {
	p := r.p
	for {
		n, err := p.f.ReadBatch(r.rbufs, r.lens)
		if n > 0 {
			r.receive(n)
		}
		if err != nil {
			select {
			case <-p.ended:
				return // ended here: the read failed because we closed the flow
			default:
			}
			p.end(fmt.Errorf("peer %s: the flow ended: %w", p.Name(), err))
			return
		}
	}
}

// receive checks the n SDUs in r.rbufs and writes those that pass to the
// device.
func (r *peerReader) receive(n int) {
	p, l := r.p, r.p.l
	tap := l.cfg.Mode == wire.Tap
	bytes, ctl := 0, 0 // data counted: control messages (echoes) are not traffic
	for i := range n {
		sdu := r.rbufs[i][:r.lens[i]]
		k := wire.Classify(sdu)
		if k == wire.Control {
			ctl++
			p.control(sdu)
			continue
		}
		bytes += len(sdu)
		switch {
		case (k == wire.IPv4 || k == wire.IPv6) && !tap:
			src, _, ok := packet.Addrs(sdu)
			if !ok {
				p.drop(malformed)
				continue
			}
			if !l.routes.Allowed(p, src) {
				p.drop(spoofed)
				continue
			}
			r.wbufs = append(r.wbufs, r.store[i][:tunif.Headroom+len(sdu)])
		case k == wire.Ethernet && tap:
			frame := sdu[1:]
			if len(frame) < ethHeader {
				p.drop(malformed)
				continue
			}
			if l.macs.Learn([6]byte(frame[6:12]), p) == mac.Refused {
				p.drop(macMoved)
				continue
			}
			r.wbufs = append(r.wbufs, r.store[i][:tunif.Headroom+len(frame)])
		default:
			p.drop(malformed)
		}
	}
	p.rx.add(n-ctl, bytes)
	p.lastRx.Store(l.now().UnixNano())
	if len(r.wbufs) == 0 {
		return
	}
	w, err := l.cfg.Device.Write(r.wbufs, tunif.Headroom)
	if err != nil {
		p.drops.add(deviceWrite, max(len(r.wbufs)-w, 1))
		if p.drops.shouldLog(deviceWrite, l.now()) {
			l.log.Warn("the device refused packets from the peer", "peer", p.Name(), "err", err,
				"dropped", p.drops.n[deviceWrite].Load())
		}
	}
	clear(r.wbufs) // Write may have changed them; they are rebuilt from store
	r.wbufs = r.wbufs[:0]
}

// drop counts one SDU from the peer dropped for r, and logs it now and then.
func (p *Peer) drop(r reason) {
	p.drops.add(r, 1)
	if p.drops.shouldLog(r, p.l.now()) {
		p.l.log.Warn("dropped from peer", "peer", p.Name(), "reason", r.String(), "dropped", p.drops.n[r].Load())
	}
}
