package main

import (
	"encoding/binary"
	"errors"
)

// A ping is one SDU:
//
//	0      4      8               16
//	+------+------+---------------+--------- - -
//	| type | seq  | sent (ns)     | padding to the size asked for
//	+------+------+---------------+--------- - -
//
// big-endian. sent is the client's monotonic clock when it sent the ping, in
// nanoseconds since the client started: it is opaque to the server, which
// only turns the request into a reply, so the round-trip time needs no
// clock shared by the two ends.
const headerLen = 16

// Ping types.
const (
	typeRequest uint32 = 1
	typeReply   uint32 = 2
)

var errShort = errors.New("ping shorter than its header")

type header struct {
	typ  uint32
	seq  uint32
	sent int64 // nanoseconds since the client's start
}

// encode writes h at the start of b, which must hold headerLen bytes.
func (h header) encode(b []byte) {
	binary.BigEndian.PutUint32(b[0:], h.typ)
	binary.BigEndian.PutUint32(b[4:], h.seq)
	binary.BigEndian.PutUint64(b[8:], uint64(h.sent))
}

func decode(b []byte) (header, error) {
	if len(b) < headerLen {
		return header{}, errShort
	}
	return header{
		typ:  binary.BigEndian.Uint32(b[0:]),
		seq:  binary.BigEndian.Uint32(b[4:]),
		sent: int64(binary.BigEndian.Uint64(b[8:])),
	}, nil
}

// toReply turns a request into its reply in place. It reports false, leaving
// b alone, for anything that is not a request.
func toReply(b []byte) bool {
	if len(b) < headerLen || binary.BigEndian.Uint32(b) != typeRequest {
		return false
	}
	binary.BigEndian.PutUint32(b, typeReply)
	return true
}
