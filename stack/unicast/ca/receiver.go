package ca

import "sync"

// Receiver parameters.
const (
	// eceShift sets the smoothing of the congestion level: each marked
	// packet adds its ECN level and the old level decays by 1/32, so in
	// steady congestion ECE settles near 32 × the ECN level.
	eceShift = 5
	// updateEvery is the number of packets between flow updates while the
	// flow is congested.
	updateEvery = 8
	// fadeShift is how fast ECE decays on unmarked packets: by 3/4 each,
	// so the end of congestion is noticed within a few packets.
	fadeShift = 2
)

// Receiver is the receiving side of one flow: it turns the ECN byte of
// arriving packets into a smoothed congestion level (ECE) and says when to
// send it back to the sender in a flow update. The zero value is ready to
// use; it is safe for concurrent use.
type Receiver struct {
	mu  sync.Mutex
	ece uint16 // smoothed congestion level; 0: not congested
	ctr uint32 // marked packets since congestion started
}

// Packet accounts for an arriving packet whose ECN byte is ecn and returns
// whether to send a flow update now and the congestion level to put in it.
// Updates go out when congestion starts (the first marked packet), on
// every 8th marked packet after that, and once when it ends (ece 0): when
// unmarked packets have decayed the level to zero, within 7 packets.
func (r *Receiver) Packet(ecn uint8) (send bool, ece uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case ecn == 0 && r.ece == 0: // no congestion
		return false, 0
	case ecn == 0: // congestion fading: tell the sender only when it is over
		r.ece >>= fadeShift
		return r.ece == 0, r.ece
	case r.ece == 0: // congestion starts
		r.ece, r.ctr = uint16(ecn), 0
		return true, r.ece
	default: // congestion goes on: a moving sum over about 32 packets
		r.ece = r.ece - r.ece>>eceShift + uint16(ecn)
	}
	r.ctr++
	return r.ctr%updateEvery == 0, r.ece
}

// ECE returns the current congestion level.
func (r *Receiver) ECE() uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ece
}
