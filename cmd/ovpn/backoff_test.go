package main

import (
	"testing"
	"time"
)

func TestBackoffDoublesToTheCapAndResets(t *testing.T) {
	b := backoff{rand: func() float64 { return 0.5 }} // no jitter
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second}
	for i, w := range want {
		if got := b.next(); got != w {
			t.Fatalf("wait %d = %v, want %v", i, got, w)
		}
	}
	b.reset()
	if got := b.next(); got != backoffMin {
		t.Fatalf("after reset: %v, want %v", got, backoffMin)
	}
}

func TestBackoffJitter(t *testing.T) {
	for _, r := range []struct {
		rand float64
		want time.Duration
	}{{0, 3 * time.Second / 4}, {0.999999, 5 * time.Second / 4}} {
		b := backoff{cur: time.Second, rand: func() float64 { return r.rand }}
		if got := b.next(); got.Round(time.Millisecond) != r.want {
			t.Errorf("rand %v: %v, want %v", r.rand, got, r.want)
		}
	}
	var b backoff // the real source stays within ±25%
	for range 100 {
		b.reset()
		if got := b.next(); got < backoffMin*3/4 || got > backoffMin*5/4 {
			t.Fatalf("first wait %v outside ±25%% of %v", got, backoffMin)
		}
	}
}

func TestBackoffOwnCap(t *testing.T) {
	b := backoff{max: time.Second, rand: func() float64 { return 0.5 }}
	var got []time.Duration
	for range 5 {
		got = append(got, b.next())
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, time.Second, time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
}
