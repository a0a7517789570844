package crypt

// WindowSize is how many counters below the highest one opened in an epoch
// the replay window remembers: a counter c is accepted once if
// highest-c < WindowSize, and never if it is further below.
const WindowSize = 2048

// The window is a ring of 64-bit words (RFC 6479): word i of the ring holds
// the bits of the counters in block b = c/64 with b % ringWords == i. One
// word more than the window needs lets the oldest block stay whole while
// the newest fills, so moving the top forward clears whole words and never
// shifts bits.
const (
	wordBits  = 64
	ringWords = WindowSize/wordBits + 1
)

// window is the replay window of one epoch. Its zero value has seen
// nothing. It never allocates.
type window struct {
	top  uint64 // highest counter marked (0 while none: the ring tells)
	ring [ringWords]uint64
}

// check reports whether counter c may be accepted: nil, errSeen or
// errTooOld. It does not change the window.
func (w *window) check(c uint64) error {
	if c > w.top {
		return nil
	}
	if w.top-c >= WindowSize {
		return errTooOld
	}
	if w.ring[(c/wordBits)%ringWords]&(1<<(c%wordBits)) != 0 {
		return errSeen
	}
	return nil
}

// mark records counter c, which check accepted.
func (w *window) mark(c uint64) {
	if c > w.top {
		w.advance(c)
	}
	w.ring[(c/wordBits)%ringWords] |= 1 << (c % wordBits)
}

// advance moves the top to c, clearing the words of the blocks that c
// brings into the window (they held counters that have now left it).
func (w *window) advance(c uint64) {
	from, to := w.top/wordBits, c/wordBits
	if to-from >= ringWords {
		w.ring = [ringWords]uint64{}
	} else {
		for b := from + 1; b <= to; b++ {
			w.ring[b%ringWords] = 0
		}
	}
	w.top = c
}
