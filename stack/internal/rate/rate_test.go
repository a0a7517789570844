package rate

import (
	"testing"
	"time"
)

func TestBurstThenRate(t *testing.T) {
	var b Bucket
	now := time.Unix(100, 0)
	for i := range 10 {
		if !b.Take(now, 5, 10) {
			t.Fatalf("event %d of a burst of 10 refused", i)
		}
	}
	if b.Take(now, 5, 10) {
		t.Fatal("an 11th event in the same instant passed a burst of 10")
	}
	now = now.Add(time.Second) // 5 tokens back
	n := 0
	for b.Take(now, 5, 10) {
		n++
	}
	if n != 5 {
		t.Fatalf("%d events passed a second after the burst, want the rate, 5", n)
	}
	if b.Full(now, 5, 10) || !b.Full(now.Add(2*time.Second), 5, 10) {
		t.Fatal("Full: want false while empty, true once refilled to the burst")
	}
}

// A clock that steps back (another goroutine's earlier now) neither adds
// nor removes tokens.
func TestClockBackwards(t *testing.T) {
	var b Bucket
	now := time.Unix(100, 0)
	b.Take(now, 1, 1)
	if b.Take(now.Add(-time.Hour), 1, 1) {
		t.Fatal("a step back in time refilled the bucket")
	}
	if !b.Take(now.Add(time.Second), 1, 1) {
		t.Fatal("the bucket did not refill a second later")
	}
}

// Ready does not take: an event refused by a second bucket costs the
// first nothing.
func TestReadyDoesNotTake(t *testing.T) {
	var a, b Bucket
	now := time.Unix(100, 0)
	b.Take(now, 1, 1) // empty
	if !a.Ready(now, 1, 1) || b.Ready(now, 1, 1) {
		t.Fatal("want a ready, b empty")
	}
	if !a.Take(now, 1, 1) {
		t.Fatal("Ready took a's token")
	}
}
