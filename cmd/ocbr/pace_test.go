package main

import (
	"testing"
	"time"
)

func TestPacerSchedule(t *testing.T) {
	// 1000-byte packets at 8 Mbit/s: one packet a millisecond.
	p := newPacer(1000, 8_000_000, 0)
	for k, want := range map[uint64]time.Duration{0: 0, 1: time.Millisecond, 1000: time.Second, 3_600_000: time.Hour} {
		if got := p.sendTime(k); got != want {
			t.Errorf("sendTime(%d) = %v, want %v", k, got, want)
		}
	}
	for elapsed, want := range map[time.Duration]uint64{0: 1, 999 * time.Microsecond: 1, time.Millisecond: 2, time.Second: 1001} {
		if got := p.due(elapsed); got != want {
			t.Errorf("due(%v) = %d, want %d", elapsed, got, want)
		}
	}
}

func TestPacerExactOverLongRuns(t *testing.T) {
	// 1 Gbit/s of 1400-byte packets: 11.2 µs apart, not a whole number of
	// nanoseconds, so a per-packet increment would drift.
	p := newPacer(1400, 1_000_000_000, 0)
	k := uint64(1_000_000_000) // about three hours in
	if got, want := p.sendTime(k), time.Duration(11_200*k); got != want {
		t.Fatalf("sendTime(%d) = %v, want %v", k, got, want)
	}
	if got := p.due(p.sendTime(k)); got != k+1 {
		t.Fatalf("due at packet %d's time = %d, want %d", k, got, k+1)
	}
	if got := p.sendTime(1 << 62); got <= 0 {
		t.Fatalf("sendTime overflowed to %v", got)
	}
}

func TestPacerNext(t *testing.T) {
	// One packet a millisecond, 1 ms slack.
	p := newPacer(1000, 8_000_000, time.Millisecond)
	// At the start packets 0 and 1 (due within the slack) go together.
	if n, wait := p.next(0, 0, 64); n != 2 || wait != 0 {
		t.Fatalf("next at start = %d, %v; want 2, 0", n, wait)
	}
	// With them sent, packet 2 is due at 2 ms: ahead by more than the slack, sleep.
	if n, wait := p.next(2, 200*time.Microsecond, 64); n != 0 || wait != 1800*time.Microsecond {
		t.Fatalf("next ahead = %d, %v; want 0, 1.8ms", n, wait)
	}
	// A late wake-up sends everything due, in bursts of at most 64.
	if n, _ := p.next(2, 10*time.Millisecond, 64); n != 10 {
		t.Fatalf("next late = %d, want 10 (packets 2..11, with the slack)", n)
	}
	if n, _ := p.next(0, time.Second, 64); n != 64 {
		t.Fatalf("next far behind = %d, want a burst of 64", n)
	}
	// Slow streams: 1000-byte packets at 8 kbit/s, one a second.
	slow := newPacer(1000, 8000, time.Millisecond)
	if n, wait := slow.next(1, 500*time.Millisecond, 64); n != 0 || wait != 500*time.Millisecond {
		t.Fatalf("slow next = %d, %v; want 0, 500ms", n, wait)
	}
}

func TestPacerBefore(t *testing.T) {
	p := newPacer(1000, 8_000_000, time.Millisecond) // one a millisecond
	for d, want := range map[time.Duration]uint64{0: 0, 1: 1, time.Millisecond: 1, time.Millisecond + 1: 2, time.Second: 1000, 2 * time.Second: 2000} {
		if got := p.before(d); got != want {
			t.Errorf("before(%v) = %d, want %d", d, got, want)
		}
	}
}
