package crypt

import (
	"encoding/binary"
	"math"
	"testing"
)

// windowModel is the specification the window must match: a counter is
// accepted iff it was never accepted and is less than WindowSize below the
// highest accepted one.
type windowModel struct {
	seen map[uint64]bool
	top  uint64
}

func (m *windowModel) accepts(c uint64) bool {
	if m.seen[c] {
		return false
	}
	return len(m.seen) == 0 || c > m.top || m.top-c < WindowSize
}

func (m *windowModel) mark(c uint64) {
	if len(m.seen) == 0 || c > m.top {
		m.top = c
	}
	m.seen[c] = true
}

// replayCounters runs counters through a window and the model and fails
// where they disagree.
func replayCounters(t *testing.T, counters []uint64) {
	t.Helper()
	var w window
	m := windowModel{seen: map[uint64]bool{}}
	for i, c := range counters {
		err := w.check(c)
		if want := m.accepts(c); (err == nil) != want {
			t.Fatalf("step %d, counter %d (top %d): window says %v, model accepts %v", i, c, m.top, err, want)
		}
		if err == nil {
			w.mark(c)
			m.mark(c)
		}
	}
}

func TestWindow(t *testing.T) {
	for name, cs := range map[string][]uint64{
		"in order":       {0, 1, 2, 3, 3, 2, 4},
		"edge":           {5000, 5000 - WindowSize + 1, 5000 - WindowSize, 5000 - WindowSize + 1},
		"word borders":   {63, 64, 127, 128, 0, 63, 64, 191, 192, 2111, 64, 65, 63, 62},
		"ring reuse":     {0, 1, 2111, 2112, 2113, 64, 65, 4000, 2112, 2111, 4000 - 2047, 4000 - 2048},
		"stale word":     {0, 1, 2111, 2113, 2112},
		"jump":           {10, 9, 1 << 40, 10, 9, 1<<40 - 1, 1<<40 - WindowSize},
		"top of counter": {math.MaxUint64 - 1, math.MaxUint64, math.MaxUint64 - WindowSize, math.MaxUint64 - WindowSize + 1, math.MaxUint64},
		"zero late":      {1, 0, 0, 2047, 0, 2048, 1},
	} {
		t.Run(name, func(t *testing.T) { replayCounters(t, cs) })
	}
}

// FuzzReplayWindow drives the window with arbitrary counter sequences: it
// must accept each counter at most once, never one WindowSize or more below
// the highest accepted, and every other one (reordering inside the window
// is accepted). Each 3-byte step is a mode and a 16-bit value relative to
// the highest counter, so sequences stay near the window's edges.
func FuzzReplayWindow(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 1, 1, 0, 1})
	f.Add([]byte{0, 0x08, 0x00, 1, 0x07, 0xff, 1, 0x08, 0x00, 1, 0x07, 0xff})
	f.Add([]byte{3, 0, 1, 1, 0, 5, 4, 0, 0, 5, 0, 2})
	f.Add([]byte{2, 0, 0, 2, 0, 1, 2, 0x08, 0x3f, 2, 0x08, 0x41, 2, 0x08, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		var counters []uint64
		var top uint64
		for len(data) >= 3 {
			v := uint64(binary.BigEndian.Uint16(data[1:3]))
			var c uint64
			switch data[0] % 6 {
			case 0: // ahead
				c = top + v
			case 1: // behind, inside or just outside the window
				c = top - min(top, v%(2*WindowSize))
			case 2: // absolute, small
				c = v
			case 3: // far ahead
				c = top + v<<24
			case 4: // near the end of the counter space
				c = math.MaxUint64 - v
			case 5: // repeat of an earlier one
				if len(counters) > 0 {
					c = counters[int(v)%len(counters)]
				}
			}
			counters = append(counters, c)
			top = max(top, c)
			data = data[3:]
		}
		replayCounters(t, counters)
	})
}
