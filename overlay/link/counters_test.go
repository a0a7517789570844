package link

import (
	"testing"
	"time"
)

// TestDropLogLimit: drops of one reason are all counted but logged at most
// once per logEvery; another reason is not held back by the first.
func TestDropLogLimit(t *testing.T) {
	var c counters
	now := time.Unix(1000, 0)
	logged := 0
	for range 1000 {
		c.add(spoofed, 1)
		if c.shouldLog(spoofed, now) {
			logged++
		}
	}
	if logged != 1 || c.n[spoofed].Load() != 1000 {
		t.Errorf("1000 drops: %d logged, %d counted; want 1 and 1000", logged, c.n[spoofed].Load())
	}
	if !c.shouldLog(malformed, now) {
		t.Error("another reason was held back")
	}
	if c.shouldLog(spoofed, now.Add(logEvery-time.Millisecond)) || !c.shouldLog(spoofed, now.Add(logEvery)) {
		t.Error("not logged again exactly after logEvery")
	}
	if got := c.snapshot(); len(got) != 1 || got["spoofed"] != 1000 {
		t.Errorf("snapshot %v", got)
	}
}
