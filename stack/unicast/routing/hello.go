package routing

import (
	"encoding/binary"
	"fmt"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// Hello tells a neighbour that the sender is alive, and who it is: the
// neighbour learns the sender's address and instance on a management flow.
type Hello struct {
	// Origin is the sender's address; never 0.
	Origin addr.Addr
	// NodeID is random per IPCP instance, as in LSU.
	NodeID uint64
}

// AppendBinary appends the wire encoding of h to b. It refuses origin 0,
// which ParseHello would reject.
func (h *Hello) AppendBinary(b []byte) ([]byte, error) {
	if h.Origin == addr.None {
		return b, fmt.Errorf("encoding HELLO: %w", ErrOrigin)
	}
	b = append(b, Version, TypeHello, 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Origin))
	b = binary.BigEndian.AppendUint64(b, h.NodeID)
	return b, nil
}

// ParseHello decodes a HELLO. It rejects a message of the wrong length,
// version or type, non-zero padding, and origin 0.
func ParseHello(b []byte) (Hello, error) {
	if len(b) < HelloLen {
		return Hello{}, fmt.Errorf("HELLO of %d bytes: %w", len(b), ErrShort)
	}
	if err := checkHeader(b, TypeHello); err != nil {
		return Hello{}, fmt.Errorf("HELLO: %w", err)
	}
	if len(b) != HelloLen {
		return Hello{}, fmt.Errorf("HELLO of %d bytes, want %d: %w", len(b), HelloLen, ErrLength)
	}
	if b[2] != 0 || b[3] != 0 {
		return Hello{}, fmt.Errorf("HELLO: %w", ErrPad)
	}
	h := Hello{
		Origin: addr.Addr(binary.BigEndian.Uint64(b[4:])),
		NodeID: binary.BigEndian.Uint64(b[12:]),
	}
	if h.Origin == addr.None {
		return Hello{}, fmt.Errorf("HELLO: %w", ErrOrigin)
	}
	return h, nil
}
