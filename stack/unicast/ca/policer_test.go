package ca

import (
	"sync"
	"testing"
	"time"
)

func TestPolicerRate(t *testing.T) {
	for _, bps := range []uint64{1_000_000, 10_000_000, 100_000_000} {
		p := NewPolicer(bps, 0, t0)
		const pkt = 1250
		// Offer twice the declared rate for 10 simulated seconds.
		interval := time.Duration(float64(pkt*8) / float64(2*bps) * 1e9)
		var passed, offered int64
		for now := t0; now.Before(t0.Add(10 * time.Second)); now = now.Add(interval) {
			offered++
			if p.Allow(pkt, now) {
				passed++
			}
		}
		// The initial full bucket (12000 bytes) is 1% of 10 s at 1 Mbit/s.
		got := float64(passed*pkt*8) / 10
		if !near(got, float64(bps), 0.05) {
			t.Errorf("%d bit/s: passed %.0f bit/s", bps, got)
		}
		if p.Dropped() != uint64(offered-passed) || p.Dropped() < uint64(offered)*4/10 {
			t.Errorf("%d bit/s: %d dropped of %d offered, %d passed", bps, p.Dropped(), offered, passed)
		}
	}
}

func TestPolicerUnderRateAndUnlimited(t *testing.T) {
	p := NewPolicer(8_000_000, 0, t0) // 1 MB/s
	for i := range 10000 {
		if !p.Allow(900, t0.Add(time.Duration(i)*time.Millisecond)) { // 0.9 MB/s
			t.Fatalf("packet %d under the rate dropped", i)
		}
	}
	u := NewPolicer(0, 0, t0)
	for range 10000 {
		if !u.Allow(65535, t0) {
			t.Fatal("unlimited policer dropped")
		}
	}
	if u.Dropped() != 0 {
		t.Fatal("unlimited policer counted drops")
	}
}

func TestPolicerBurst(t *testing.T) {
	p := NewPolicer(1000, 100, t0) // tiny rate: only the burst passes
	n := 0
	for p.Allow(1500, t0) {
		n++
	}
	if n != 8 {
		t.Fatalf("burst of %d packets, want 8 (the 12000-byte minimum)", n)
	}
	big := NewPolicer(1000, 30000, t0)
	n = 0
	for big.Allow(1500, t0) {
		n++
	}
	if n != 20 {
		t.Fatalf("burst of %d packets, want 20", n)
	}
	// A packet larger than the burst passes on a full bucket, then the
	// debt holds the rate.
	j := NewPolicer(8_000_000, 0, t0) // 1 MB/s, 12000-byte bucket
	if !j.Allow(60000, t0) {
		t.Fatal("jumbo packet refused on a full bucket")
	}
	if j.Allow(1000, t0.Add(40*time.Millisecond)) { // 48000 bytes of debt left
		t.Fatal("packet passed while the bucket is in debt")
	}
	if !j.Allow(1000, t0.Add(60*time.Millisecond)) {
		t.Fatal("bucket did not refill after the debt")
	}
	// A clock stepping back adds no tokens.
	k := NewPolicer(8_000_000, 0, t0)
	for k.Allow(1500, t0) {
	}
	if k.Allow(1500, t0.Add(-time.Hour)) {
		t.Fatal("time going back refilled the bucket")
	}
}

func TestPolicerConcurrent(t *testing.T) {
	p := NewPolicer(8_000_000, 0, t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				if p.Allow(1000, t0.Add(time.Duration(i*4+g)*time.Microsecond)) {
					mu.Lock()
					passed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	// 4 ms at 1 MB/s plus the 12000-byte bucket: at most 16 packets,
	// give or take the out-of-order clocks of the goroutines.
	if passed > 20 || uint64(passed)+p.Dropped() != 4000 {
		t.Fatalf("%d passed, %d dropped", passed, p.Dropped())
	}
}
