package ca

import (
	"math"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

const initRate = float64(initLimit) * 1e9 / (1 << initSlotShift) // bytes/s

// greedy sends n-byte packets as fast as s allows from *now until end,
// honouring every wait, calling hook after each packet; it returns the
// bytes sent.
func greedy(s *Sender, now *time.Time, end time.Time, n int, hook func()) int64 {
	var sent int64
	for now.Before(end) {
		*now = now.Add(s.Admit(n, *now))
		sent += int64(n)
		*now = now.Add(time.Microsecond) // the packet's own send time
		if hook != nil {
			hook()
		}
	}
	return sent
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }

func TestSenderInitial(t *testing.T) {
	s := NewSender(t0)
	if !near(s.Rate(), initRate, 1e-9) || !s.SlowStart() {
		t.Fatalf("initial rate %.0f B/s, slow start %t", s.Rate(), s.SlowStart())
	}
	// An eighth of the slot's limit goes at once, then pacing starts.
	var burst int
	for s.Admit(1000, t0) == 0 {
		burst += 1000
	}
	if burst != initLimit/burstDiv/1000*1000 {
		t.Fatalf("initial burst %d bytes, want about %d", burst, initLimit/burstDiv)
	}
}

func TestSenderSlowStartDoubles(t *testing.T) {
	now := t0
	s := NewSender(now)
	// A greedy flow: the rate doubles at every slot end, whatever the
	// slot rescaling does to the slot length.
	rates := []float64{s.Rate()}
	for len(rates) < 8 {
		start := s.start
		now = now.Add(s.Admit(1400, now) + time.Microsecond)
		if s.start != start {
			rates = append(rates, s.Rate())
		}
	}
	for i := 1; i < len(rates); i++ {
		if !near(rates[i], 2*rates[i-1], 0.01) {
			t.Fatalf("slow start rates %.0f: not doubling", rates)
		}
	}
	if !s.SlowStart() {
		t.Fatal("slow start ended without congestion")
	}
	// An update without congestion does not end it; one with does.
	s.Update(0, now)
	if !s.SlowStart() {
		t.Fatal("ece 0 ended slow start")
	}
	s.Update(1, now)
	if s.SlowStart() {
		t.Fatal("congestion did not end slow start")
	}
	// A flow that does not use its limit does not double it.
	idle := NewSender(t0)
	for i := range 100 {
		idle.Admit(1400, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if !near(idle.Rate(), initRate, 1e-9) {
		t.Fatalf("application-limited flow in slow start went to %.0f B/s", idle.Rate())
	}
}

func TestSenderHoldsItsRate(t *testing.T) {
	// Congested with a tiny ece: the limit barely moves, so the achieved
	// rate must match Rate.
	now := t0
	s := NewSender(now)
	s.Update(1, now)
	var sent int64
	pkts := 0
	start := now
	sent = greedy(s, &now, now.Add(2*time.Second), 1400, func() {
		if pkts++; pkts%8 == 0 {
			s.Update(1, now)
		}
	})
	got := float64(sent) / now.Sub(start).Seconds()
	if !near(got, s.Rate(), 0.05) {
		t.Fatalf("sent at %.0f B/s, limit %.0f B/s", got, s.Rate())
	}
}

func TestSenderMultiplicativeDecrease(t *testing.T) {
	now := t0
	s := NewSender(now)
	s.Update(4096, now) // halve at the end of each slot
	before := s.Rate()
	for i := range 3 {
		start := s.start
		for s.start == start { // one slot, greedy
			now = now.Add(s.Admit(1400, now) + time.Microsecond)
		}
		if want := before / float64(int(1)<<(i+1)); !near(s.Rate(), want, 0.01) {
			t.Fatalf("after %d slots: rate %.0f, want %.0f", i+1, s.Rate(), want)
		}
		s.Update(4096, now)
	}
	// Congestion reported many times within one slot cuts once.
	s.Update(4096, now)
	s.Update(4096, now)
	if r := s.Rate(); !near(r, before/8, 0.01) {
		t.Fatalf("updates within a slot changed the rate to %.0f", r)
	}
	// The worst level from the network never zeroes or inverts the limit.
	for range 1000 {
		s.Update(math.MaxUint16, now)
		now = now.Add(time.Duration(1) << s.shift)
		s.Admit(1400, now)
	}
	if r := s.Rate(); r <= 0 || r > initRate {
		t.Fatalf("rate %.0f after sustained maximal congestion", r)
	}
}

func TestSenderAdditiveIncrease(t *testing.T) {
	now := t0
	s := NewSender(now)
	s.Update(1, now)
	s.Update(0, now)
	// A greedy flow out of slow start gains about 3.9 MB/s every 16.8 ms,
	// whatever its slot length: linear, not exponential, growth.
	r0 := s.Rate()
	greedy(s, &now, now.Add(100*time.Millisecond), 1400, nil)
	r1 := s.Rate()
	greedy(s, &now, now.Add(100*time.Millisecond), 1400, nil)
	r2 := s.Rate()
	perSec := float64(increase) * 1e9 / (1 << initSlotShift) * 1e9 / (1 << initSlotShift)
	if !near(r1-r0, perSec/10, 0.3) || !near(r2-r1, perSec/10, 0.3) {
		t.Fatalf("rates %.0f %.0f %.0f: want +%.0f per 100 ms", r0, r1, r2, perSec/10)
	}
	// An application-limited flow does not build up a limit it never used.
	s2 := NewSender(now)
	s2.Update(1, now)
	s2.Update(0, now)
	for range 200 {
		s2.Admit(100, now)
		now = now.Add(10 * time.Millisecond)
	}
	if s2.Rate() > initRate {
		t.Fatalf("application-limited flow grew to %.0f B/s", s2.Rate())
	}
}

func TestSenderLostEndOfCongestion(t *testing.T) {
	now := t0
	s := NewSender(now)
	s.Update(100, now)
	// No further updates: after quietSlots slots the sender stops cutting
	// and grows again.
	greedy(s, &now, now.Add(time.Second), 1400, nil)
	low := s.Rate()
	greedy(s, &now, now.Add(time.Second), 1400, nil)
	if s.Rate() <= low {
		t.Fatalf("rate %.0f did not recover from %.0f", s.Rate(), low)
	}
}

func TestSenderWaitsAndOddClocks(t *testing.T) {
	now := t0
	s := NewSender(now)
	if w := s.Admit(1<<30, now); w != maxWait {
		t.Fatalf("huge packet: wait %v, want the 1 s cap", w)
	}
	// The debt of the huge packet is forgiven after a long idle time, and
	// a day of idleness does not overflow anything.
	now = now.Add(24 * time.Hour)
	if w := s.Admit(1400, now); w != 0 {
		t.Fatalf("after a day: wait %v", w)
	}
	if r := s.Rate(); r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		t.Fatalf("rate %v", r)
	}
	// A clock stepping back is treated as no time passing.
	if w := s.Admit(1400, now.Add(-time.Hour)); w < 0 || w > maxWait {
		t.Fatalf("clock stepped back: wait %v", w)
	}
	if w := s.Admit(-5, now); w < 0 {
		t.Fatalf("negative size: wait %v", w)
	}
}

func TestSenderConcurrent(t *testing.T) {
	s := NewSender(t0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			now := t0
			for i := range 2000 {
				now = now.Add(time.Duration(g+1) * time.Microsecond)
				s.Admit(1400, now)
				if i%50 == 0 {
					s.Update(uint16(i%3), now)
				}
				_ = s.Rate()
			}
		})
	}
	wg.Wait()
}

func BenchmarkSenderAdmit(b *testing.B) {
	s := NewSender(t0)
	now := t0
	for b.Loop() {
		now = now.Add(time.Microsecond)
		s.Admit(1400, now)
	}
}
