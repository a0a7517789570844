package crypt

// Sealing one SDU:
//
//	Seal ─► due? (counter, bytes, age) ─► rekey: next epoch key, erase old
//	     ─► append header (epoch, counter) ─► nonce = IV ^ counter
//	     ─► AEAD seal (AAD = header) ─► counter++

import (
	"crypto/cipher"
	"fmt"
	"math"
	"time"
)

// Sealer seals the packets of one direction of a flow. It is not safe for
// concurrent use: a flow has one writer.
type Sealer struct {
	aead    cipher.AEAD // nil once erased
	sec     keyIV
	nonce   [IVSize]byte // scratch, here so that Seal does not allocate it
	epoch   uint32
	counter uint64 // of the next packet
	bytes   uint64 // plaintext sealed in this epoch
	born    time.Time
	opt     Options
	suite   Suite
	// lastEpoch is the last epoch the Sealer may move to; tests lower it
	// to reach exhaustion.
	lastEpoch uint32
}

// Sealer returns a Sealer for the direction these keys send, with the
// default Options.
func (k Keys) Sealer() (*Sealer, error) { return k.SealerWith(Options{}) }

// SealerWith returns a Sealer for the direction these keys send.
func (k Keys) SealerWith(o Options) (*Sealer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(k.suite, &k.send.key)
	if err != nil {
		return nil, fmt.Errorf("crypt: sealer: %w", err)
	}
	s := &Sealer{aead: aead, sec: k.send, opt: o, suite: k.suite, lastEpoch: math.MaxUint32}
	s.born = o.Now()
	return s, nil
}

// Seal appends the sealed packet of plaintext to dst and returns the
// extended slice; it does not allocate when dst has Overhead+len(plaintext)
// bytes of spare capacity. plaintext may sit exactly at
// dst[len(dst)+HeaderSize:] (sealing in place) but must not overlap dst's
// spare capacity otherwise. The only errors are ErrExhausted, when a rekey
// is due and no epoch is left, and ErrErased; dst is then returned as is.
func (s *Sealer) Seal(dst, plaintext []byte) ([]byte, error) {
	if s.aead == nil {
		return dst, ErrErased
	}
	if s.due() {
		if err := s.rekey(); err != nil {
			return dst, err
		}
	}
	start := len(dst)
	dst = appendHeader(dst, s.epoch, s.counter)
	makeNonce(&s.nonce, &s.sec.iv, s.counter)
	dst = s.aead.Seal(dst, s.nonce[:], plaintext, dst[start:])
	s.counter++
	s.bytes += uint64(len(plaintext))
	return dst, nil
}

// due reports whether the epoch reached a rekey limit.
func (s *Sealer) due() bool {
	return s.counter >= s.opt.RekeyPackets ||
		s.bytes >= s.opt.RekeyBytes ||
		s.opt.Now().Sub(s.born) >= s.opt.RekeyAge
}

// rekey moves to the next epoch and erases the old key.
func (s *Sealer) rekey() error {
	if s.epoch >= s.lastEpoch {
		return ErrExhausted
	}
	next, err := s.sec.next(s.epoch + 1)
	if err != nil {
		return fmt.Errorf("crypt: rekey to epoch %d: %w", s.epoch+1, err)
	}
	aead, err := newAEAD(s.suite, &next.key)
	if err != nil {
		next.erase()
		return fmt.Errorf("crypt: rekey to epoch %d: %w", s.epoch+1, err)
	}
	s.sec, s.aead = next, aead // overwrites the old key in place
	next.erase()
	s.epoch++
	s.counter, s.bytes, s.born = 0, 0, s.opt.Now()
	return nil
}

// Epoch returns the epoch the next packet is sealed in, unless a rekey is
// due first.
func (s *Sealer) Epoch() uint32 { return s.epoch }

// Erase overwrites the Sealer's key; every later Seal fails with ErrErased.
// Call it when the flow ends.
func (s *Sealer) Erase() {
	s.sec.erase()
	s.nonce = [IVSize]byte{}
	s.aead = nil
}
