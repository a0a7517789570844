package dt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

// The data-transfer header (network byte order, no padding), prepended by
// the source IPCP and read at every hop:
//
//	+----------------+------+-----+-----+-----------------+
//	| dst address    | cube | ttl | ecn | dst endpoint id |
//	+----------------+------+-----+-----+-----------------+
//	 4 or 8 bytes     1      1     1     8
//
// The address size is the layer's, fixed when it bootstraps. Only TTL and
// ECN change on the way, so a transit hop rewrites them in place at
// TTLOffset and ECNOffset instead of encoding the header again.

// Reserved endpoint ids. A flow's endpoint id is random and at least
// FirstFlowEID, so that ids below it are free for the layer's own
// components.
const (
	// EIDFlowAllocator addresses the flow allocator of the destination IPCP.
	EIDFlowAllocator uint64 = 0
	// EIDDirectory addresses the directory (DHT) of the destination IPCP.
	EIDDirectory uint64 = 1
	// FirstFlowEID is the smallest endpoint id a flow may have.
	FirstFlowEID uint64 = 64
)

// DefaultTTL is the TTL a source puts on a packet: more hops than any path
// in a sane layer, few enough that a transient loop ends quickly.
const DefaultTTL = 60

// Header is a decoded data-transfer header.
type Header struct {
	Dst  addr.Addr // destination IPCP
	Cube qos.Cube  // QoS cube the packet is scheduled in
	TTL  uint8     // hops left; a hop that would send it with 0 drops it
	ECN  uint8     // congestion level seen on the path so far (0: none)
	EID  uint64    // endpoint id at the destination
}

// Errors from Parse.
var (
	ErrShort   = errors.New("dt: packet shorter than the data-transfer header")
	ErrCube    = errors.New("dt: unknown QoS cube")
	ErrNoDst   = errors.New("dt: zero destination address")
	ErrDstSize = errors.New("dt: destination address larger than the layer's address size")
)

// Codec encodes and decodes headers for one address size. The zero Codec
// is not usable; get one from NewCodec.
type Codec struct {
	size int // address size in bytes: 4 or 8
}

// NewCodec returns the codec for a layer with addresses of addrSize bytes
// (4 or 8).
func NewCodec(addrSize int) (Codec, error) {
	if err := addr.CheckSize(addrSize); err != nil {
		return Codec{}, fmt.Errorf("dt: %w", err)
	}
	return Codec{size: addrSize}, nil
}

// AddrSize returns the address size in bytes.
func (c Codec) AddrSize() int { return c.size }

// Len returns the header length: 15 bytes with 4-byte addresses, 19 with 8.
func (c Codec) Len() int { return c.size + 3 + 8 }

// CubeOffset returns the offset of the cube byte.
func (c Codec) CubeOffset() int { return c.size }

// TTLOffset returns the offset of the TTL byte, for in-place updates.
func (c Codec) TTLOffset() int { return c.size + 1 }

// ECNOffset returns the offset of the ECN byte, for in-place updates.
func (c Codec) ECNOffset() int { return c.size + 2 }

// EIDOffset returns the offset of the endpoint id.
func (c Codec) EIDOffset() int { return c.size + 3 }

// Put writes h into the first Len bytes of b. It panics if b is shorter
// than Len or if h.Dst does not fit the address size: both are the
// caller's mistakes, since addresses are checked when they enter the layer
// (configuration, enrollment, Parse).
func (c Codec) Put(b []byte, h Header) {
	_ = b[c.Len()-1] // one bounds check, and the panic for a short b
	if h.Dst > addr.Max(c.size) {
		panic(fmt.Sprintf("dt: address %v does not fit in %d bytes", h.Dst, c.size))
	}
	if c.size == 4 {
		binary.BigEndian.PutUint32(b, uint32(h.Dst))
	} else {
		binary.BigEndian.PutUint64(b, uint64(h.Dst))
	}
	b[c.size] = byte(h.Cube)
	b[c.size+1] = h.TTL
	b[c.size+2] = h.ECN
	binary.BigEndian.PutUint64(b[c.size+3:], h.EID)
}

// Parse decodes the header at the start of b; the SDU follows at b[Len:].
// It rejects a packet shorter than the header, an unknown cube and the zero
// address. The address is read in exactly the layer's size, so it cannot
// exceed it (ErrDstSize is kept for callers that check addresses from
// elsewhere with CheckDst).
func (c Codec) Parse(b []byte) (Header, error) {
	if c.size == 0 {
		return Header{}, errors.New("dt: zero Codec")
	}
	if len(b) < c.Len() {
		return Header{}, fmt.Errorf("%w: %d bytes, need %d", ErrShort, len(b), c.Len())
	}
	var h Header
	if c.size == 4 {
		h.Dst = addr.Addr(binary.BigEndian.Uint32(b))
	} else {
		h.Dst = addr.Addr(binary.BigEndian.Uint64(b))
	}
	if h.Dst == addr.None {
		return Header{}, ErrNoDst
	}
	h.Cube = qos.Cube(b[c.size])
	if h.Cube > qos.CubeVoice {
		return Header{}, fmt.Errorf("%w: %d", ErrCube, h.Cube)
	}
	h.TTL = b[c.size+1]
	h.ECN = b[c.size+2]
	h.EID = binary.BigEndian.Uint64(b[c.size+3:])
	return h, nil
}

// CheckDst reports whether a can be a destination in this layer: not zero
// and within the address size. Put panics on addresses it rejects.
func (c Codec) CheckDst(a addr.Addr) error {
	switch {
	case a == addr.None:
		return ErrNoDst
	case a > addr.Max(c.size):
		return fmt.Errorf("%w: %v in %d bytes", ErrDstSize, a, c.size)
	}
	return nil
}
