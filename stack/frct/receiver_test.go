package frct

import (
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/qos"
)

// gapReceiver is an in-order receiver with a 64-packet window that has
// started a run at seqno 0.
func gapReceiver(t *testing.T) (*receiver, Config, *pool, *Stats) {
	t.Helper()
	cfg := Config{QoS: qos.Best, Window: 64}.withDefaults()
	r := new(receiver)
	r.init(cfg)
	return r, cfg, new(pool), new(Stats)
}

func arrive(r *receiver, cfg Config, p *pool, st *Stats, seq uint32, at time.Time) {
	h := Header{Flags: FlagData | FlagDRF, Seqno: seq, Start: 0}
	r.onData(cfg, &h, []byte{byte(seq)}, p, st, at)
}

// Once half the window waits behind a gap, the receiver skips it early, so
// that a lost packet does not stall the sender for GapWait; but not before
// the gap is older than the lateness seen on the path, so that a packet
// still on its way, overtaken by jitter, is not skipped. A path that never
// reordered skips at once.
func TestEarlyGapSkipWaitsForLatePackets(t *testing.T) {
	t0 := time.Now()
	for _, tt := range []struct {
		name    string
		late    time.Duration // how late packet 1 arrives, after packet 2; 0: in order
		expired time.Duration // the earliest time after the gap is known that it is skipped
	}{
		{"in order", 0, 0},
		{"late by 3ms", 3 * time.Millisecond, 6 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, cfg, p, st := gapReceiver(t)
			arrive(r, cfg, p, st, 0, t0)
			if tt.late > 0 {
				arrive(r, cfg, p, st, 2, t0)
				arrive(r, cfg, p, st, 1, t0.Add(tt.late))
			} else {
				arrive(r, cfg, p, st, 1, t0)
				arrive(r, cfg, p, st, 2, t0)
			}
			// Packet 3 is missing; half the window arrives behind it.
			known := t0.Add(10 * time.Millisecond)
			for seq := uint32(4); seq < 4+32; seq++ {
				arrive(r, cfg, p, st, seq, known)
			}
			buf := make([]byte, 8)
			for range 3 {
				if _, ok, _ := r.deliver(cfg, p, st, buf, known, false); !ok {
					t.Fatal("the SDUs before the gap are not delivered")
				}
			}
			if tt.expired > 0 && r.gapExpired(cfg, known.Add(tt.expired-time.Microsecond)) {
				t.Fatalf("the gap is skipped %v after it became known, before packets seen %v late could arrive", tt.expired-time.Microsecond, tt.late)
			}
			if !r.gapExpired(cfg, known.Add(tt.expired)) {
				t.Fatalf("the gap is not skipped %v after it became known, with half the window waiting", tt.expired)
			}
		})
	}
}

// A window probe past what arrived, with nothing buffered, reveals a gap
// no arrival would: the receiver skips it at once on a path that never
// reordered (a lost window must not stall the flow), but on one that did
// it waits twice the lateness seen, and a packet that arrives meanwhile
// shows that the rest may still be on its way.
func TestProbeGapWaitsForLatePackets(t *testing.T) {
	t0 := time.Now()
	probe := func(r *receiver, cfg Config, p *pool, st *Stats, seq uint32, at time.Time) {
		h := Header{Flags: FlagRDVS, Seqno: seq}
		r.onProbe(cfg, &h, p, st, at)
	}
	t.Run("in order", func(t *testing.T) {
		r, cfg, p, st := gapReceiver(t)
		arrive(r, cfg, p, st, 0, t0)
		r.deliver(cfg, p, st, make([]byte, 8), t0, false)
		probe(r, cfg, p, st, 10, t0)
		if r.base != 10 || st.Skipped != 9 {
			t.Fatalf("base %d, skipped %d: want the 9 lost packets skipped at once", r.base, st.Skipped)
		}
	})
	t.Run("late by 3ms", func(t *testing.T) {
		r, cfg, p, st := gapReceiver(t)
		arrive(r, cfg, p, st, 0, t0)
		arrive(r, cfg, p, st, 2, t0)
		arrive(r, cfg, p, st, 1, t0.Add(3*time.Millisecond))
		buf := make([]byte, 8)
		for range 3 {
			r.deliver(cfg, p, st, buf, t0, false)
		}
		at := t0.Add(10 * time.Millisecond)
		probe(r, cfg, p, st, 10, at)
		if r.skipProbeGap(cfg, st, at.Add(6*time.Millisecond-time.Microsecond)) || r.base != 3 {
			t.Fatalf("base %d: the probe's gap was skipped before packets seen 3ms late could arrive", r.base)
		}
		arrive(r, cfg, p, st, 3, at.Add(time.Millisecond))
		r.deliver(cfg, p, st, buf, at, false)
		if r.skipProbeGap(cfg, st, at.Add(time.Second)) {
			t.Fatal("a gap was skipped on an old probe, after data arrived that shows the rest may still come")
		}
		probe(r, cfg, p, st, 10, at.Add(time.Second))
		if !r.skipProbeGap(cfg, st, at.Add(time.Second+6*time.Millisecond)) || r.base != 10 || st.Skipped != 6 {
			t.Fatalf("base %d, skipped %d: want 4..9 skipped 6ms after the next probe", r.base, st.Skipped)
		}
	})
}
