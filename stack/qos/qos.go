// Package qos describes what an application asks of a flow: delay, bandwidth, loss,
// ordering and liveness. A layer maps a Spec onto one of its QoS cubes, the classes
// it schedules by; the end-to-end protocol (FRCT) reads the same Spec to decide
// whether it sequences, acknowledges and retransmits.
package qos

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Spec is a flow's quality-of-service specification. The zero value is not a
// useful spec; start from one of the named specs (Raw, Best, Video, Voice, Data).
type Spec struct {
	// Delay is the largest one-way delay the application can use, in milliseconds.
	Delay uint32 `json:"delay"`
	// Bandwidth is the rate the application will send at, in bits per second
	// (0: no commitment).
	Bandwidth uint64 `json:"bandwidth"`
	// Availability is the class of service continuity asked for: 0 (none) to 5 (highest).
	Availability uint8 `json:"availability"`
	// Loss is the packet loss the application tolerates: 0 asks for reliable delivery.
	Loss uint32 `json:"loss"`
	// BER is the bit error rate tolerated: 0 means corrupted packets must be dropped.
	BER uint32 `json:"ber"`
	// InOrder asks for in-order delivery (FRCT sequencing).
	InOrder bool `json:"in_order"`
	// MaxGap is how long, in milliseconds, an ordered receiver waits for a missing
	// packet before skipping it.
	MaxGap uint32 `json:"max_gap"`
	// Timeout is how long, in milliseconds, a silent peer is considered alive.
	Timeout uint32 `json:"timeout"`
}

// Unbounded marks a Delay or MaxGap with no limit.
const Unbounded = math.MaxUint32

// DefaultTimeout is the peer timeout of the named specs.
const DefaultTimeout = 15 * time.Second

var defaultTimeoutMS = uint32(DefaultTimeout / time.Millisecond)

// The named specs, with the values the reference implementation uses.
var (
	// Raw: datagrams as they come, no end-to-end header at all.
	Raw = Spec{Delay: Unbounded, Loss: 1, BER: 1, MaxGap: Unbounded, Timeout: defaultTimeoutMS}
	// Best: best effort, ordered, gaps skipped.
	Best = Spec{Delay: Unbounded, Loss: 1, InOrder: true, MaxGap: Unbounded, Timeout: defaultTimeoutMS}
	// Video: low delay, high bandwidth, ordered.
	Video = Spec{Delay: 100, Bandwidth: math.MaxUint64, Availability: 3, Loss: 1, InOrder: true, MaxGap: 100, Timeout: defaultTimeoutMS}
	// Voice: lowest delay, low bandwidth, ordered.
	Voice = Spec{Delay: 50, Bandwidth: 100_000, Availability: 5, Loss: 1, InOrder: true, MaxGap: 50, Timeout: defaultTimeoutMS}
	// Data: reliable and ordered: every SDU exactly once, in order.
	Data = Spec{Delay: 1000, Loss: 0, InOrder: true, MaxGap: 2000, Timeout: defaultTimeoutMS}
)

// Names lists the named specs accepted by Parse, in the order the tools document them.
var Names = []string{"raw", "best", "video", "voice", "data"}

// Parse returns the named spec. It accepts the names in Names and "best-effort".
func Parse(name string) (Spec, error) {
	switch strings.ToLower(name) {
	case "raw":
		return Raw, nil
	case "best", "best-effort", "be":
		return Best, nil
	case "video":
		return Video, nil
	case "voice":
		return Voice, nil
	case "data":
		return Data, nil
	}
	return Spec{}, fmt.Errorf("unknown QoS %q: use one of %s", name, strings.Join(Names, ", "))
}

// Reliable reports whether the spec asks for every SDU to arrive (loss 0).
func (s Spec) Reliable() bool { return s.Loss == 0 }

// NeedsFRCT reports whether the end-to-end protocol runs on a flow with this
// spec: only raw flows (unordered, lossy) go without a header.
func (s Spec) NeedsFRCT() bool { return s.InOrder || s.Loss == 0 }

// String names the spec if it is one of the named ones, else lists its fields.
func (s Spec) String() string {
	for _, n := range Names {
		if p, _ := Parse(n); p == s {
			return n
		}
	}
	return fmt.Sprintf("delay=%s bw=%d avail=%d loss=%d ber=%d in_order=%t max_gap=%s timeout=%dms",
		msOrInf(s.Delay), s.Bandwidth, s.Availability, s.Loss, s.BER, s.InOrder, msOrInf(s.MaxGap), s.Timeout)
}

func msOrInf(v uint32) string {
	if v == Unbounded {
		return "inf"
	}
	return fmt.Sprintf("%dms", v)
}

// Cube is a QoS class a layer schedules by. Higher cubes are served first.
type Cube uint8

// The cubes, in wire order.
const (
	CubeBE    Cube = 0
	CubeVideo Cube = 1
	CubeVoice Cube = 2
)

func (c Cube) String() string {
	switch c {
	case CubeBE:
		return "best-effort"
	case CubeVideo:
		return "video"
	case CubeVoice:
		return "voice"
	}
	return fmt.Sprintf("cube(%d)", uint8(c))
}

// Cube maps the spec onto a cube: voice for tight delay, low bandwidth and high
// availability; video for moderate delay; best effort otherwise.
func (s Spec) Cube() Cube {
	switch {
	case s.Delay <= 50 && s.Bandwidth <= 100_000 && s.Availability >= 5 && s.MaxGap <= 50:
		return CubeVoice
	case s.Delay <= 100 && s.Availability >= 3 && s.MaxGap <= 100:
		return CubeVideo
	}
	return CubeBE
}
