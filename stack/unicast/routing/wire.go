package routing

import (
	"errors"
	"fmt"
)

// Routing messages travel on the management flows between neighbours. All
// fields are in network byte order; addresses are always 8 bytes here,
// whatever the layer's address size.
//
// LSU (link-state update), 28 + 10*count bytes:
//
//	+---------+---------+------------+------------+------------+------------+
//	| version | type    | link count | origin     | node id    | seq        |
//	| u8 (=1) | u8 (=1) | u16        | u64        | u64        | u64        |
//	+---------+---------+------------+------------+------------+------------+
//	followed by count links, each:
//	+------------+------------+
//	| neighbour  | metric     |
//	| u64        | u16        |
//	+------------+------------+
//
// The count is at most 1024; links are sorted by neighbour with no
// duplicates; no neighbour is 0 or the origin; every metric is at least 1.
// The origin is never 0. An LSU with any other length is malformed.
//
// Neighbour liveness is not a routing message: the unicast IPCP's
// keepalives cover every flow between members, management or not.
//
// Node id is random per IPCP instance: two members claiming one address
// tell themselves apart by it. Seq is higher for newer LSUs; originators
// start it from the wall clock in nanoseconds so a restarted member's LSUs
// are newer than the ones it sent before.

// Version is the version of the routing messages this package speaks.
const Version = 1

// Message types, the second byte of every routing message.
const (
	TypeLSU = 1
)

// Sizes of the routing messages.
const (
	// MaxLinks is the most links one LSU may list.
	MaxLinks = 1024
	// LSUHeaderLen is the length of an LSU without links.
	LSUHeaderLen = 1 + 1 + 2 + 8 + 8 + 8
	// LinkLen is the length of one link in an LSU.
	LinkLen = 8 + 2
	// MaxLSULen is the length of an LSU with MaxLinks links: the buffer
	// size that holds any valid LSU.
	MaxLSULen = LSUHeaderLen + MaxLinks*LinkLen
)

// Errors from decoding and encoding; the returned errors wrap these with
// context, so test them with errors.Is.
var (
	ErrShort        = errors.New("routing: message too short")
	ErrLength       = errors.New("routing: message length does not match its contents")
	ErrVersion      = errors.New("routing: unknown message version")
	ErrType         = errors.New("routing: unknown or unexpected message type")
	ErrOrigin       = errors.New("routing: origin address is 0")
	ErrTooManyLinks = errors.New("routing: too many links")
	ErrLinkOrder    = errors.New("routing: links not sorted by neighbour or duplicated")
	ErrNeighbour    = errors.New("routing: link to address 0 or to the origin itself")
	ErrMetric       = errors.New("routing: link metric 0")
)

// MessageType returns the type of the routing message b (TypeLSU is the
// only one so far) so a receiver can hand it to the right parser. It checks only
// the first two bytes: the parser checks the rest.
func MessageType(b []byte) (byte, error) {
	if len(b) < 2 {
		return 0, fmt.Errorf("routing message of %d bytes: %w", len(b), ErrShort)
	}
	if b[0] != Version {
		return 0, fmt.Errorf("routing message version %d: %w", b[0], ErrVersion)
	}
	switch t := b[1]; t {
	case TypeLSU:
		return t, nil
	default:
		return 0, fmt.Errorf("routing message type %d: %w", t, ErrType)
	}
}

// checkHeader validates the version and type bytes of a message known to be
// at least two bytes long.
func checkHeader(b []byte, want byte) error {
	if b[0] != Version {
		return fmt.Errorf("version %d: %w", b[0], ErrVersion)
	}
	if b[1] != want {
		return fmt.Errorf("type %d, want %d: %w", b[1], want, ErrType)
	}
	return nil
}
