package crypt

import (
	"errors"
	"fmt"
)

// Errors from Open and Seal, test them with errors.Is: ErrReplay comes
// wrapped with its cause (already seen, too old). They are fixed values,
// without per-packet detail, so that rejecting a packet does not allocate.
var (
	// ErrAuth: the packet failed authentication: it was modified, or it
	// was sealed with another key (another flow, the other direction).
	ErrAuth = errors.New("crypt: packet failed authentication")
	// ErrReplay: the packet's counter was already opened in its epoch, or
	// is older than the replay window.
	ErrReplay = errors.New("crypt: replayed packet")
	// ErrShort: the packet is shorter than Overhead.
	ErrShort = errors.New("crypt: packet too short")
	// ErrEpoch: the packet's epoch is not one the Opener holds a key for:
	// too old (its key was erased) or too far ahead.
	ErrEpoch = errors.New("crypt: unknown epoch")
	// ErrExhausted: the Sealer reached a rekey limit but has no epoch
	// left to move to; the flow must be allocated again.
	ErrExhausted = errors.New("crypt: key exhausted")
	// ErrErased: the Sealer or Opener was erased and holds no key.
	ErrErased = errors.New("crypt: keys erased")
)

// The two causes of ErrReplay, told apart in OpenStats.
var (
	errSeen   = fmt.Errorf("%w: counter already seen", ErrReplay)
	errTooOld = fmt.Errorf("%w: counter older than the window", ErrReplay)
)
