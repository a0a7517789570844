package frct

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The FRCT header (network byte order). One flags byte says which fields
// follow, so a packet carries only what it needs:
//
//	+-------+--------------+--------------+--------------+--------------+-----------------+
//	| flags | seqno        | start        | ackno        | rwe          | sack bitmap     |
//	+-------+--------------+--------------+--------------+--------------+-----------------+
//	 1 byte  4 if DATA,     4 if DRF       4 if ACK       4 if FC        8 if SACK
//	         RDVS or FIN
//
// The last flag bit, FIN (orderly close), came with FRCT version 2.
//
// A data packet is 5 bytes of header (1 + seqno), 13 with a piggy-backed
// acknowledgement and window; 4 more while its run is unacknowledged. See
// docs/protocol.md.

// Flags say which fields a packet carries and what it asks for.
type Flags uint8

// Header flags.
const (
	// FlagData: the packet carries an SDU and a sequence number.
	FlagData Flags = 1 << iota
	// FlagACK: the packet acknowledges every DATA packet before ackno.
	FlagACK
	// FlagFC: the packet advertises the receiver's right window edge: the
	// sender may send sequence numbers before rwe.
	FlagFC
	// FlagSACK: a bitmap follows of the packets received after ackno: bit i
	// set means ackno+1+i arrived. Requires FlagACK.
	FlagSACK
	// FlagDRF: the data run flag: this packet belongs to a sequence run the
	// receiver has not acknowledged yet; the start field gives the run's
	// first seqno, so a receiver starts the run in the right place whichever
	// of its packets arrives first. Requires FlagData or FlagRDVS.
	FlagDRF
	// FlagRDVS: rendezvous: the sender's window is closed; answer with FC.
	// The seqno field holds the sender's next sequence number.
	FlagRDVS
	// FlagKA: keepalive: the sender is alive but has nothing to say.
	FlagKA
	// FlagFIN: the sender closes the flow in order (FRCT version 2). The
	// seqno field holds its next sequence number, one past its last SDU;
	// with DRF, start equal to seqno says that it sent no SDU. The end that
	// closes first resends its FIN until a FIN comes back; the other end
	// answers every FIN it accepts. See close.go.
	FlagFIN

	flagsKnown = FlagData | FlagACK | FlagFC | FlagSACK | FlagDRF | FlagRDVS | FlagKA | FlagFIN
)

// MaxHeader is the longest header: flags, seqno, start, ackno, rwe and SACK.
const MaxHeader = 1 + 4 + 4 + 4 + 4 + 8

// Header is a decoded FRCT header. Fields whose flag is not set are zero.
type Header struct {
	Flags Flags
	Seqno uint32
	Start uint32
	Ackno uint32
	RWE   uint32
	SACK  uint64
}

// Errors from Decode.
var (
	ErrShort    = errors.New("frct: packet shorter than its header")
	ErrBadFlags = errors.New("frct: unknown or inconsistent header flags")
)

// Len returns the encoded header length.
func (h *Header) Len() int {
	n := 1
	if h.Flags.hasSeqno() {
		n += 4
	}
	if h.Flags&FlagDRF != 0 {
		n += 4
	}
	if h.Flags&FlagACK != 0 {
		n += 4
	}
	if h.Flags&FlagFC != 0 {
		n += 4
	}
	if h.Flags&FlagSACK != 0 {
		n += 8
	}
	return n
}

// valid reports whether the flags make sense together.
func (f Flags) valid() bool {
	switch {
	case f&^flagsKnown != 0, f == 0:
		return false
	case f&FlagSACK != 0 && f&FlagACK == 0:
		return false
	case f&FlagDRF != 0 && !f.hasSeqno():
		return false
	}
	return true
}

// hasSeqno: DATA packets carry their sequence number; RDVS probes carry the
// sender's next one, so that an in-order receiver can give up on packets
// that will never come; FIN carries it so that a reliable receiver can tell
// that it has every SDU before the close.
func (f Flags) hasSeqno() bool { return f&(FlagData|FlagRDVS|FlagFIN) != 0 }

// Encode writes the header to the start of b, which must hold Len() bytes,
// and returns the length written.
func (h *Header) Encode(b []byte) int {
	b[0] = byte(h.Flags)
	n := 1
	if h.Flags.hasSeqno() {
		binary.BigEndian.PutUint32(b[n:], h.Seqno)
		n += 4
	}
	if h.Flags&FlagDRF != 0 {
		binary.BigEndian.PutUint32(b[n:], h.Start)
		n += 4
	}
	if h.Flags&FlagACK != 0 {
		binary.BigEndian.PutUint32(b[n:], h.Ackno)
		n += 4
	}
	if h.Flags&FlagFC != 0 {
		binary.BigEndian.PutUint32(b[n:], h.RWE)
		n += 4
	}
	if h.Flags&FlagSACK != 0 {
		binary.BigEndian.PutUint64(b[n:], h.SACK)
		n += 8
	}
	return n
}

// Decode reads a header from the start of b and returns its length; the
// payload is b[n:]. It never panics: bad input gives ErrShort or ErrBadFlags.
func (h *Header) Decode(b []byte) (int, error) {
	if len(b) < 1 {
		return 0, ErrShort
	}
	*h = Header{Flags: Flags(b[0])}
	if !h.Flags.valid() {
		return 0, fmt.Errorf("%w: %#02x", ErrBadFlags, b[0])
	}
	n := h.Len()
	if len(b) < n {
		return 0, ErrShort
	}
	i := 1
	if h.Flags.hasSeqno() {
		h.Seqno = binary.BigEndian.Uint32(b[i:])
		i += 4
	}
	if h.Flags&FlagDRF != 0 {
		h.Start = binary.BigEndian.Uint32(b[i:])
		i += 4
	}
	if h.Flags&FlagACK != 0 {
		h.Ackno = binary.BigEndian.Uint32(b[i:])
		i += 4
	}
	if h.Flags&FlagFC != 0 {
		h.RWE = binary.BigEndian.Uint32(b[i:])
		i += 4
	}
	if h.Flags&FlagSACK != 0 {
		h.SACK = binary.BigEndian.Uint64(b[i:])
	}
	return n, nil
}
