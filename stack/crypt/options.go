package crypt

import (
	"fmt"
	"time"
)

// Defaults for Options.
const (
	// DefaultRekeyPackets keeps an epoch's packet count well inside the
	// AES-GCM integrity bound for one key.
	DefaultRekeyPackets = 1 << 32
	// DefaultRekeyBytes (64 GiB) keeps an epoch's volume well inside the
	// AES-GCM confidentiality bound for one key.
	DefaultRekeyBytes = 1 << 36
	// DefaultRekeyAge bounds how long one key lives in memory: what a
	// compromise of the running process can reveal of earlier traffic.
	DefaultRekeyAge = 2 * time.Minute
	// DefaultGracePackets and DefaultGraceAge bound how long an Opener
	// keeps the previous epoch's key after a rekey, for packets reordered
	// across it: until this many packets of the new epoch opened, or this
	// long after the first one, whichever comes first.
	DefaultGracePackets = 1024
	DefaultGraceAge     = 5 * time.Second
)

// Options tune a Sealer's rekeying and an Opener's grace. A zero field
// takes its default; both ends need not agree on any of them.
type Options struct {
	// RekeyPackets: the Sealer moves to the next epoch before an epoch's
	// counter reaches this value, so counters run 0..RekeyPackets-1.
	RekeyPackets uint64
	// RekeyBytes: the Sealer moves to the next epoch once an epoch has
	// sealed this many plaintext bytes.
	RekeyBytes uint64
	// RekeyAge: the Sealer moves to the next epoch at its first Seal once
	// the epoch is this old.
	RekeyAge time.Duration
	// GracePackets and GraceAge: see DefaultGracePackets.
	GracePackets uint64
	GraceAge     time.Duration
	// Now is the clock for RekeyAge and GraceAge; nil means time.Now.
	Now func() time.Time
}

// withDefaults returns o with every zero field set to its default, or an
// error for a negative duration.
func (o Options) withDefaults() (Options, error) {
	if o.RekeyAge < 0 || o.GraceAge < 0 {
		return o, fmt.Errorf("crypt: negative duration in options (rekey age %v, grace %v)", o.RekeyAge, o.GraceAge)
	}
	if o.RekeyPackets == 0 {
		o.RekeyPackets = DefaultRekeyPackets
	}
	if o.RekeyBytes == 0 {
		o.RekeyBytes = DefaultRekeyBytes
	}
	if o.RekeyAge == 0 {
		o.RekeyAge = DefaultRekeyAge
	}
	if o.GracePackets == 0 {
		o.GracePackets = DefaultGracePackets
	}
	if o.GraceAge == 0 {
		o.GraceAge = DefaultGraceAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
