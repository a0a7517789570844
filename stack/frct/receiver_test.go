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
