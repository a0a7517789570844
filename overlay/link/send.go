package link

// The device-to-peers half of the data path. One goroutine (Run) does it
// all, a batch at a time, allocating nothing per packet:
//
//	dev.Read(bufs, devOff) ─► for each packet:
//	    tun: dst = packet.Addrs ─► routes.Lookup(dst) ─► peer p
//	         no peer  ─► drop "no-route", ICMP unreachable ─► replies
//	         too big  ─► drop "too-big",  ICMP too big    ─► replies
//	         MSSClamp ─► packet.ClampMSS (SYNs)
//	    tap: tag byte written in front of the frame (bufs[i][devOff-1])
//	         macs.Learn(src MAC, nil): this side's MACs are nobody's to take
//	         macs.Lookup(dst MAC) ─► peer p, this side (drop), or every peer (flood)
//	    append the SDU to p.txq (a peer is "touched" once per batch)
//	─► for each touched peer: p.f.WriteBatch(p.txq)
//	─► dev.Write(replies)
//
// A flooded frame's buffer sits in several peers' txq at once: flows do not
// change what they write (sealed flows seal into their own buffers).
//
// tap floods to peers only: frames read from the tap go to peers, frames
// from a peer go only to the tap (recv.go), never on to another peer. So
// with a full mesh of sites (every site a peer of every other, as VXLAN's
// ingress replication) each frame crosses one flow at most and no loop can
// form; the Linux bridge the tap sits in floods on to the site's LAN.

import (
	"o7s.dev/ouroboros/overlay/packet"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/tunif"
)

// devOff is where a packet read from the device starts in its buffer: one
// byte after the device's headroom, for a tap frame's wire.EthernetTag.
const devOff = tunif.Headroom + 1

// replySize is the room for one ICMP answer: an IPv6 "packet too big"
// holds at most 1280 bytes (RFC 4443), an IPv4 one less.
const replySize = 1280

// ethHeader is the length of an Ethernet header without VLAN tag.
const ethHeader = 14

// devReader is Run's state: the read buffers and the per-batch lists.
type devReader struct {
	l       *Link
	bufs    [][]byte // each devOff+tunif.MaxPacket bytes
	sizes   []int
	touched []*Peer // peers with SDUs in their txq this batch

	replyBufs [][]byte // each tunif.Headroom+replySize bytes of capacity
	replies   [][]byte // answers to write back to the device this batch
	tokens    float64  // ICMP answers that may be sent now
	refilled  int64    // when tokens was last refilled, Unix nanoseconds
}

// ICMP answers are rate-limited, as the kernel limits its own (a host
// sending to nowhere in a loop gets a trickle, not one answer per packet).
const (
	answerRate  = 1000 // per second
	answerBurst = 50
)

func newDevReader(l *Link) *devReader {
	n := l.cfg.Device.BatchSize()
	r := &devReader{
		l:         l,
		bufs:      make([][]byte, n),
		sizes:     make([]int, n),
		replyBufs: make([][]byte, n),
		replies:   make([][]byte, 0, n),
	}
	for i := range r.bufs {
		r.bufs[i] = make([]byte, devOff+tunif.MaxPacket)
		r.replyBufs[i] = make([]byte, tunif.Headroom, tunif.Headroom+replySize)
	}
	return r
}

// forward sends the n packets in r.bufs to their peers, and writes the
// ICMP answers to those that went nowhere.
func (r *devReader) forward(n int) {
	tap := r.l.cfg.Mode == wire.Tap
	for i := range n {
		if tap {
			r.frame(r.bufs[i][devOff-1 : devOff+r.sizes[i]])
		} else {
			r.packet(r.bufs[i][devOff : devOff+r.sizes[i]])
		}
	}
	for _, p := range r.touched {
		p.send(p.txq)
		clear(p.txq) // let go of the buffers, for the race detector's sake as for the GC's
		p.txq = p.txq[:0]
	}
	clear(r.touched)
	r.touched = r.touched[:0]
	if len(r.replies) > 0 {
		// What the kernel refuses of our own ICMP answers is not worth
		// more than the drop already counted.
		r.l.cfg.Device.Write(r.replies, tunif.Headroom) //nolint:errcheck
		r.replies = r.replies[:0]
	}
}

// packet routes one IP packet from a tun.
func (r *devReader) packet(pkt []byte) {
	l := r.l
	_, dst, ok := packet.Addrs(pkt)
	if !ok {
		l.drops.add(notIP, 1)
		return
	}
	p, ok := l.routes.Lookup(dst)
	if !ok {
		l.drops.add(noRoute, 1)
		r.answer(pkt, false, 0)
		return
	}
	if len(pkt) > p.maxSDU {
		l.drops.add(tooBig, 1)
		r.answer(pkt, true, l.mtuFor(p.maxSDU))
		return
	}
	if l.cfg.MSSClamp {
		packet.ClampMSS(pkt, int(l.mtu.Load()))
	}
	r.queue(p, pkt)
}

// frame switches one tagged frame from a tap: sdu is the tag and the frame.
func (r *devReader) frame(sdu []byte) {
	l := r.l
	sdu[0] = wire.EthernetTag
	if len(sdu) < 1+ethHeader {
		l.drops.add(shortFrame, 1)
		return
	}
	frame := sdu[1:]
	// This side's MACs are learned as the nil peer: a peer then cannot
	// take them over (mac-moved), and a frame to one goes nowhere.
	l.macs.Learn([6]byte(frame[6:12]), nil)
	if p, ok := l.macs.Lookup([6]byte(frame[:6])); ok {
		if p != nil {
			r.queueFit(p, sdu)
		}
		return
	}
	for _, p := range *l.up.Load() {
		r.queueFit(p, sdu)
	}
}

// queueFit queues sdu for p if p's flow carries it (tap: no ICMP answer;
// the MTU derived from the flows keeps such frames rare).
func (r *devReader) queueFit(p *Peer, sdu []byte) {
	if len(sdu) > p.maxSDU {
		r.l.drops.add(tooBig, 1)
		return
	}
	r.queue(p, sdu)
}

func (r *devReader) queue(p *Peer, sdu []byte) {
	if len(p.txq) == 0 {
		r.touched = append(r.touched, p)
	}
	p.txq = append(p.txq, sdu) // at most one per packet read: cap(txq) is the batch size
}

// answer queues an ICMP "too big" (big) or "unreachable" answer to pkt,
// if packet says pkt deserves one. The answer comes from pkt's destination:
// the kernel drops a packet that arrives on the tun from one of its own
// addresses (a martian), so an answer from this end's tunnel address never
// reached the host; the destination is what the kernel routed into the
// tun, so an answer from it passes reverse-path filtering, and hosts match
// ICMP errors by the header they quote, not by their source.
func (r *devReader) answer(pkt []byte, big bool, mtu int) {
	_, from, ok := packet.Addrs(pkt)
	if !ok || from.IsMulticast() || !r.allowAnswer() {
		return
	}
	buf := r.replyBufs[len(r.replies)]
	var rep []byte
	if big {
		rep = packet.TooBig(buf[tunif.Headroom:tunif.Headroom], pkt, from, mtu)
	} else {
		rep = packet.Unreachable(buf[tunif.Headroom:tunif.Headroom], pkt, from)
	}
	if len(rep) == 0 || len(rep) > replySize {
		return // no answer due, or one that did not fit our buffer
	}
	r.replies = append(r.replies, buf[:tunif.Headroom+len(rep)])
}

// allowAnswer takes a token for an ICMP answer, if one is left.
func (r *devReader) allowAnswer() bool {
	now := r.l.now().UnixNano()
	r.tokens = min(answerBurst, r.tokens+float64(now-r.refilled)*answerRate/1e9)
	r.refilled = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
