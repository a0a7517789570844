package crypt

import (
	"crypto/cipher"
	"fmt"
)

// maxAhead is how many epochs past its current one an Opener accepts: the
// epoch byte can name up to 127 epochs ahead unambiguously. Accepting more
// than the next one matters when every packet of an epoch is lost: a sparse
// sender (one packet more than RekeyAge after the last) starts an epoch with
// every packet, so one lost packet would otherwise strand the flow forever.
const maxAhead = 127

// epochState is the key material, AEAD and replay window of one epoch the
// Opener holds. Its zero value holds nothing.
type epochState struct {
	sec    keyIV
	aead   cipher.AEAD // nil when not live
	win    window
	opened uint64 // packets opened in this epoch, for the grace count
	n      uint32
}

func (st *epochState) live() bool { return st.aead != nil }

// erase overwrites the state, key material included, in place.
func (st *epochState) erase() { *st = epochState{} }

// expireGrace erases the previous epoch once the current one has opened
// GracePackets packets or is GraceAge old.
func (o *Opener) expireGrace() {
	if o.cur.opened >= o.opt.GracePackets || o.opt.Now().Sub(o.switched) >= o.opt.GraceAge {
		o.prev.erase()
	}
}

// aheadKey returns the key material and an AEAD for epoch cur+d,
// 1 <= d <= maxAhead, deriving the keys of the epochs up to it that it has
// not derived yet. Each epoch's key is derived once per current epoch
// however many packets claim it, so forged packets cannot make the Opener
// run HKDF over and over.
func (o *Opener) aheadKey(d uint32) (*keyIV, cipher.AEAD, error) {
	for uint32(len(o.ahead)) < d {
		if err := o.deriveAhead(); err != nil {
			return nil, nil, err
		}
	}
	sec := &o.ahead[d-1]
	if d > 1 {
		// Rare (only after a whole epoch was lost): not worth caching.
		a, err := newAEAD(o.suite, &sec.key)
		return sec, a, err
	}
	if o.nextAEAD == nil {
		a, err := newAEAD(o.suite, &sec.key)
		if err != nil {
			return nil, nil, err
		}
		o.nextAEAD = a
	}
	return sec, o.nextAEAD, nil
}

// deriveAhead appends the key material of the epoch after the last one
// derived. It grows the slice itself so that no abandoned backing array
// keeps a copy of a key.
func (o *Opener) deriveAhead() error {
	n := len(o.ahead)
	from := &o.cur.sec
	if n > 0 {
		from = &o.ahead[n-1]
	}
	e := o.cur.n + uint32(n) + 1
	s, err := from.next(e)
	if err != nil {
		return fmt.Errorf("crypt: derive epoch %d: %w", e, err)
	}
	if n == cap(o.ahead) {
		grown := make([]keyIV, n, min(max(2*n, 2), maxAhead))
		copy(grown, o.ahead)
		eraseAll(o.ahead)
		o.ahead = grown
	}
	o.ahead = append(o.ahead, s)
	s.erase()
	return nil
}

// eraseAll overwrites every secret in s.
func eraseAll(s []keyIV) {
	for i := range s {
		s[i].erase()
	}
}

// dropAhead erases every key ahead of the current epoch.
func (o *Opener) dropAhead() {
	eraseAll(o.ahead)
	o.ahead = o.ahead[:0]
	o.nextAEAD = nil
}

// advance makes epoch cur+d current, after one of its packets
// authenticated under aead, and epoch cur+d-1 previous, for its reordered
// packets. Keys of older epochs are erased.
func (o *Opener) advance(d uint32, aead cipher.AEAD) {
	n := o.cur.n + d
	o.prev.erase()
	if d == 1 {
		o.prev = o.cur
	} else {
		o.cur.erase()
		// The epoch just before was never seen: its packets may still be
		// on their way. Failure to make its AEAD (impossible with a valid
		// key) only loses those.
		if pa, err := newAEAD(o.suite, &o.ahead[d-2].key); err == nil {
			o.prev = epochState{sec: o.ahead[d-2], aead: pa, n: n - 1}
		}
	}
	o.cur = epochState{sec: o.ahead[d-1], aead: aead, n: n}
	// Keys further ahead were derived for forged packets, if any; they
	// are derived again, from the new current key, when needed.
	o.dropAhead()
	o.switched = o.opt.Now()
}
