package ca

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzSender drives a Sender, a Receiver and a Policer with arbitrary
// events, as a hostile or broken peer could: flow updates with any ece,
// packets of any size, clocks jumping both ways. Nothing may panic, waits
// stay within [0, 1 s] and the rate stays positive and finite.
func FuzzSender(f *testing.F) {
	f.Add([]byte{0, 0, 10, 5, 220, 1, 255, 255, 0, 3, 0, 0, 0, 4})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 2, 0x80, 0, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		now := t0
		s := NewSender(now)
		p := NewPolicer(1_000_000, 0, now)
		var r Receiver
		for len(ops) >= 3 {
			op, arg := ops[0], binary.BigEndian.Uint16(ops[1:3])
			ops = ops[3:]
			switch op % 4 {
			case 0: // time passes, up to 65 s
				now = now.Add(time.Duration(arg) * time.Millisecond)
			case 1: // time steps back
				now = now.Add(-time.Duration(arg) * time.Microsecond)
			case 2: // a flow update
				s.Update(arg, now)
			case 3: // a packet
				if w := s.Admit(int(arg), now); w < 0 || w > maxWait {
					t.Fatalf("wait %v", w)
				}
				p.Allow(int(arg), now)
				r.Packet(uint8(arg))
			}
			if rate := s.Rate(); rate <= 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
				t.Fatalf("rate %v", rate)
			}
		}
	})
}
