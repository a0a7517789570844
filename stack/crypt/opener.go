package crypt

// Opening one packet:
//
//	Open ─► length ─► grace over? erase previous epoch
//	     ─► epoch byte ─► previous | current | ahead (derive keys) | ErrEpoch
//	     ─► replay window check ─► AEAD open (AAD = header) ─► window mark
//	     ─► [ahead: that epoch becomes current, the one before it previous]

import (
	"crypto/cipher"
	"fmt"
	"math"
	"time"
)

// OpenStats counts what an Opener did with the packets it was given.
type OpenStats struct {
	Opened uint64 // authenticated and decrypted
	Auth   uint64 // failed authentication (ErrAuth)
	Replay uint64 // counter already opened in its epoch (ErrReplay)
	TooOld uint64 // counter below the replay window (ErrReplay)
	Epoch  uint64 // epoch without a key (ErrEpoch)
	Short  uint64 // shorter than Overhead (ErrShort)
}

// Opener opens the packets of one direction of a flow, rejecting replays.
// It is not safe for concurrent use: a flow has one reader.
type Opener struct {
	cur  epochState // the highest epoch that opened a packet (0 at first)
	prev epochState // cur-1, live during the grace after a rekey
	// ahead holds the key material of epochs cur+1, cur+2, ..., derived
	// from cur's as packets claiming those epochs show up; nextAEAD is the
	// AEAD of ahead[0], kept because the next epoch is the one that comes.
	ahead    []keyIV
	nextAEAD cipher.AEAD
	switched time.Time    // when cur became current: the grace clock
	nonce    [IVSize]byte // scratch, here so that Open does not allocate it
	suite    Suite
	opt      Options
	stats    OpenStats
}

// Opener returns an Opener for the direction these keys receive, with the
// default Options.
func (k Keys) Opener() (*Opener, error) { return k.OpenerWith(Options{}) }

// OpenerWith returns an Opener for the direction these keys receive.
func (k Keys) OpenerWith(o Options) (*Opener, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(k.suite, &k.recv.key)
	if err != nil {
		return nil, fmt.Errorf("crypt: opener: %w", err)
	}
	op := &Opener{suite: k.suite, opt: o}
	op.cur = epochState{sec: k.recv, aead: aead}
	return op, nil
}

// Open authenticates and decrypts a packet and appends its plaintext to
// dst, returning the extended slice; it does not allocate in steady state
// when dst has len(packet)-Overhead bytes of spare capacity. dst may be
// packet[HeaderSize:HeaderSize] (opening in place) but must not overlap
// packet otherwise. On error dst is returned with its length unchanged (its
// spare capacity may have been written) and the Opener's state is as
// before, except for its statistics: an error never moves the replay window
// or the epoch. Errors: ErrShort, ErrEpoch, ErrReplay, ErrAuth, ErrErased.
func (o *Opener) Open(dst, packet []byte) ([]byte, error) {
	if !o.cur.live() {
		return dst, ErrErased
	}
	if len(packet) < Overhead {
		o.stats.Short++
		return dst, ErrShort
	}
	if o.prev.live() {
		o.expireGrace()
	}
	b, ctr := parseHeader(packet)
	// The epoch number nearest cur whose low byte is b.
	d := int8(b - byte(o.cur.n))
	switch {
	case d == 0:
		return o.openIn(&o.cur, dst, packet, ctr)
	case d == -1 && o.prev.live():
		return o.openIn(&o.prev, dst, packet, ctr)
	case d > 0 && uint64(o.cur.n)+uint64(d) <= math.MaxUint32:
		return o.openAhead(uint32(d), dst, packet, ctr)
	}
	o.stats.Epoch++
	return dst, ErrEpoch
}

// openIn opens a packet of an epoch the Opener holds.
func (o *Opener) openIn(st *epochState, dst, packet []byte, ctr uint64) ([]byte, error) {
	if err := st.win.check(ctr); err != nil {
		if err == errTooOld {
			o.stats.TooOld++
		} else {
			o.stats.Replay++
		}
		return dst, err
	}
	out, err := o.decrypt(st.aead, &st.sec.iv, dst, packet, ctr)
	if err != nil {
		return dst, err
	}
	st.win.mark(ctr)
	st.opened++
	o.stats.Opened++
	return out, nil
}

// openAhead opens a packet of epoch cur+d and, if it authenticates, makes
// that epoch current. Its window is new, so there is nothing to check.
func (o *Opener) openAhead(d uint32, dst, packet []byte, ctr uint64) ([]byte, error) {
	sec, aead, err := o.aheadKey(d)
	if err != nil {
		// Unreachable with valid keys; reject rather than guess.
		o.stats.Epoch++
		return dst, ErrEpoch
	}
	out, err := o.decrypt(aead, &sec.iv, dst, packet, ctr)
	if err != nil {
		return dst, err
	}
	o.advance(d, aead)
	o.cur.win.mark(ctr)
	o.cur.opened++
	o.stats.Opened++
	return out, nil
}

// decrypt runs the AEAD over a packet whose header is valid.
func (o *Opener) decrypt(aead cipher.AEAD, iv *[IVSize]byte, dst, packet []byte, ctr uint64) ([]byte, error) {
	makeNonce(&o.nonce, iv, ctr)
	out, err := aead.Open(dst, o.nonce[:], packet[HeaderSize:], packet[:HeaderSize])
	if err != nil {
		o.stats.Auth++
		return dst, ErrAuth
	}
	return out, nil
}

// Stats returns the Opener's counts so far.
func (o *Opener) Stats() OpenStats { return o.stats }

// Epoch returns the Opener's current epoch: the highest one that opened a
// packet.
func (o *Opener) Epoch() uint32 { return o.cur.n }

// Erase overwrites every key the Opener holds; every later Open fails with
// ErrErased. Call it when the flow ends.
func (o *Opener) Erase() {
	o.cur.erase()
	o.prev.erase()
	o.dropAhead()
	o.nonce = [IVSize]byte{}
}
