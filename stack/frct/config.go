package frct

import (
	"time"

	"o7s.dev/ouroboros/stack/qos"
)

// Config configures a Conn. Zero fields take the defaults below.
type Config struct {
	// QoS selects what runs: ordering for in-order specs, retransmission for
	// reliable ones (loss 0), and the peer timeout (Timeout, 0: none).
	QoS qos.Spec
	// MTU is the largest PDU the Lower carries; SDUs may be MTU-MaxHeader long.
	MTU int
	// Window is the receive window in packets, a power of two (default 256).
	Window int
	// MPL is the layer's maximum packet lifetime (default 1 s); with A and R
	// it sets the delta-t idle times after which sequence runs restart.
	MPL time.Duration
	// A bounds how long a receiver may delay an acknowledgement in the
	// delta-t sense (default 10 s). R bounds how long a sender retransmits
	// one packet before it gives the peer up (default 120 s).
	A, R time.Duration
	// MinRTO is the least retransmission timeout (default 2 ms).
	MinRTO time.Duration
	// InitialRTO is the timeout before the first RTT sample (default 250 ms).
	InitialRTO time.Duration
	// AckDelay is how long a receiver may hold back an acknowledgement
	// (default 1 ms); it acknowledges at once every AckEvery packets
	// (default 16) and on anything out of order.
	AckDelay time.Duration
	AckEvery int
	// GapWait caps how long an in-order (not reliable) receiver waits for a
	// missing packet when the spec's max_gap is larger (default 250 ms).
	GapWait time.Duration
	// Seed, if not zero, makes the first sequence number of each run
	// reproducible (tests); otherwise runs start at a random number.
	Seed uint64
	// Notify, if set, is called whenever the Conn may have become readable
	// or has ended, possibly before New returns; it must not block. Event
	// sets use it.
	Notify func(*Conn)
}

// startWindow is how many packets a sender may send into a new run before
// the receiver's first window advertisement.
const startWindow = 64

// maxRTO caps the retransmission timeout's backoff.
const maxRTO = 60 * time.Second

func (c Config) withDefaults() Config {
	if c.MTU == 0 {
		c.MTU = 65535
	}
	// The rings index by seqno modulo Window: a power of two, at least the
	// start window.
	switch {
	case c.Window == 0:
		c.Window = 256
	case c.Window < startWindow:
		c.Window = startWindow
	}
	for c.Window&(c.Window-1) != 0 {
		c.Window += c.Window & -c.Window
	}
	setDur(&c.MPL, time.Second)
	setDur(&c.A, 10*time.Second)
	setDur(&c.R, 120*time.Second)
	setDur(&c.MinRTO, 2*time.Millisecond)
	setDur(&c.InitialRTO, 250*time.Millisecond)
	setDur(&c.AckDelay, time.Millisecond)
	setDur(&c.GapWait, 250*time.Millisecond)
	if c.AckEvery == 0 {
		c.AckEvery = 16
	}
	return c
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// senderIdle is how long a sender must be idle before it starts a new run;
// receiverIdle how long a receiver must have heard no data before it
// accepts one. The receiver's is the shorter by one MPL, so a new run is
// always accepted.
func (c Config) senderIdle() time.Duration   { return 3*c.MPL + c.A + c.R }
func (c Config) receiverIdle() time.Duration { return 2*c.MPL + c.A + c.R }

// gapWait is how long an in-order receiver waits for a missing packet.
func (c Config) gapWait() time.Duration {
	if c.QoS.MaxGap == qos.Unbounded {
		return c.GapWait
	}
	return min(time.Duration(c.QoS.MaxGap)*time.Millisecond, c.GapWait)
}

// keepaliveEvery is how long an end that sent nothing waits before it sends
// a keepalive, for a peer timeout t: eight chances per timeout, so that
// the short default timeout (15 s) does not end an idle flow on a lossy
// path (at 30% loss, eight keepalives in a row are lost once in 15 000
// timeouts; four, once in 120).
func keepaliveEvery(t time.Duration) time.Duration { return t / 8 }

// peerTimeout is how long silence means the peer is dead (0: never).
func (c Config) peerTimeout() time.Duration {
	return time.Duration(c.QoS.Timeout) * time.Millisecond
}
