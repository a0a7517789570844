package frct

// pool recycles packet buffers in a few size classes, so that a Conn in
// steady state allocates nothing. It is not safe for concurrent use; the
// Conn guards it with its mutex.
type pool struct {
	free [len(classes)][][]byte
}

var classes = [...]int{256, 2048, 16 << 10, 64<<10 + MaxHeader}

func classOf(n int) int {
	for i, c := range classes {
		if n <= c {
			return i
		}
	}
	return -1
}

// get returns a buffer of length n.
func (p *pool) get(n int) []byte {
	c := classOf(n)
	if c < 0 {
		return make([]byte, n)
	}
	if f := p.free[c]; len(f) > 0 {
		b := f[len(f)-1]
		p.free[c] = f[:len(f)-1]
		return b[:n]
	}
	return make([]byte, n, classes[c])
}

// put returns a buffer from get.
func (p *pool) put(b []byte) {
	if c := classOf(cap(b)); c >= 0 && cap(b) == classes[c] {
		p.free[c] = append(p.free[c], b[:0])
	}
}
