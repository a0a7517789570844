package dir

import (
	"encoding/binary"
	"slices"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// DHT messages travel as unreliable datagrams in the layer's data transfer.
// All fields are in network byte order. Every message starts with:
//
//	version u8 (1) | type u8 | sender u64 (≠ 0) | key length u8 | key
//
// where the key length is the layer's hash length (28, 32, 48 or 64) and
// the key is a name's hash (STORE, FIND_VALUE, VALUE) or any id (FIND_NODE,
// NODES). The body follows, by type:
//
//	1 STORE       cookie u64 | value u64 (≠ 0) | lifetime u32 (seconds)
//	2 STORE_ACK   cookie u64 (≠ 0)
//	3 FIND_NODE   cookie u64 (≠ 0)
//	4 NODES       cookie u64 (≠ 0) | n u8 (≤ 20) | n × contact u64
//	5 FIND_VALUE  cookie u64 (≠ 0)
//	6 VALUE       cookie u64 (≠ 0) | v u8 (≤ 8) | v × value u64 |
//	              n u8 (≤ 20, and 0 if v > 0) | n × contact u64
//
// A STORE asks the receiver to hold value (a member's address) under key
// for lifetime seconds (capped at its own TExpire); lifetime 0 removes the
// value, and only the value's own member may send that. A STORE with a
// cookie is answered by a STORE_ACK with the same cookie, which says it
// arrived (even if the receiver's store was full or it refused the
// removal); cookie 0 asks for no answer. FIND_NODE is answered by NODES: the receiver's closest contacts
// to key. FIND_VALUE is answered by VALUE: the values held under key if
// any, otherwise the closest contacts. Responses echo the request's key and
// cookie; a response whose cookie, sender, type or key does not match an
// outstanding request is dropped.
//
// Addresses in lists are never 0 and never repeated. A message with
// another version, a key of another length, sender 0, an unknown type, a
// list over its bound or bytes past its end is dropped and counted.

// Version is the DHT protocol version.
const Version = 1

// Message types.
const (
	typeStore     = 1
	typeStoreAck  = 2
	typeFindNode  = 3
	typeNodes     = 4
	typeFindValue = 5
	typeValue     = 6
)

// Bounds on lists in a message.
const (
	maxValues   = 8  // values in one VALUE
	maxContacts = 20 // contacts in one NODES or VALUE
)

// headerLen is the fixed part of the header, before the key.
const headerLen = 11

// MaxMessage is the longest message, with the longest key (64 bytes): a
// VALUE with no values and 20 contacts.
const MaxMessage = headerLen + 64 + 8 + 1 + maxContacts*8 + 1

// message is a decoded DHT message. Key aliases the parsed bytes.
type message struct {
	typ      uint8
	sender   addr.Addr
	key      []byte
	cookie   uint64
	value    addr.Addr   // STORE
	lifetime uint32      // STORE, seconds
	values   []addr.Addr // VALUE
	contacts []addr.Addr // NODES, VALUE
}

// isResponse reports whether the type answers a request.
func isResponse(typ uint8) bool {
	return typ == typeStoreAck || typ == typeNodes || typ == typeValue
}

// appendTo appends the encoding of m to b. m must be valid: lists within
// their bounds, a key of at most 255 bytes.
func (m *message) appendTo(b []byte) []byte {
	b = append(b, Version, m.typ)
	b = binary.BigEndian.AppendUint64(b, uint64(m.sender))
	b = append(b, byte(len(m.key)))
	b = append(b, m.key...)
	b = binary.BigEndian.AppendUint64(b, m.cookie)
	switch m.typ {
	case typeStore:
		b = binary.BigEndian.AppendUint64(b, uint64(m.value))
		b = binary.BigEndian.AppendUint32(b, m.lifetime)
	case typeNodes:
		b = appendList(b, m.contacts)
	case typeValue:
		b = appendList(b, m.values)
		b = appendList(b, m.contacts)
	}
	return b
}

func appendList(b []byte, l []addr.Addr) []byte {
	b = append(b, byte(len(l)))
	for _, a := range l {
		b = binary.BigEndian.AppendUint64(b, uint64(a))
	}
	return b
}

// wireError is why a message was refused; cause names the drop counter.
type wireError struct {
	cause dropCause
	text  string
}

func (e *wireError) Error() string { return "dir: " + e.text }

var (
	errVersion   = &wireError{dropVersion, "message of another protocol version"}
	errSender    = &wireError{dropSender, "message from address 0"}
	errKeyLen    = &wireError{dropKeyLen, "key of the wrong length"}
	errShort     = &wireError{dropMalformed, "message truncated"}
	errTrailing  = &wireError{dropMalformed, "bytes past the end of the message"}
	errType      = &wireError{dropMalformed, "unknown message type"}
	errCookie    = &wireError{dropMalformed, "request or response without a cookie"}
	errList      = &wireError{dropMalformed, "list longer than its bound"}
	errZeroAddr  = &wireError{dropMalformed, "address 0 in a message body"}
	errDuplicate = &wireError{dropMalformed, "address repeated in a list"}
	errBoth      = &wireError{dropMalformed, "VALUE with both values and contacts"}
)

// parseMessage decodes b, a whole message whose key must be hashLen bytes
// long. It never panics; the returned message's key aliases b.
func parseMessage(b []byte, hashLen int) (message, error) {
	var m message
	if len(b) < headerLen {
		return m, errShort
	}
	if b[0] != Version {
		return m, errVersion
	}
	m.typ = b[1]
	m.sender = addr.Addr(binary.BigEndian.Uint64(b[2:]))
	if m.sender == addr.None {
		return m, errSender
	}
	if int(b[10]) != hashLen {
		return m, errKeyLen
	}
	r := reader{b: b[headerLen:]}
	m.key = r.bytes(hashLen)
	m.cookie = r.u64()
	var err error
	switch m.typ {
	case typeStore:
		m.value = addr.Addr(r.u64())
		m.lifetime = r.u32()
		if !r.short && m.value == addr.None {
			err = errZeroAddr
		}
	case typeStoreAck, typeFindNode, typeFindValue:
	case typeNodes:
		m.contacts, err = r.list(maxContacts)
	case typeValue:
		m.values, err = r.list(maxValues)
		if err == nil {
			m.contacts, err = r.list(maxContacts)
		}
		if err == nil && len(m.values) > 0 && len(m.contacts) > 0 {
			err = errBoth
		}
	default:
		return m, errType
	}
	switch {
	case r.short:
		return m, errShort
	case err != nil:
		return m, err
	case len(r.b) > 0:
		return m, errTrailing
	case m.cookie == 0 && m.typ != typeStore:
		return m, errCookie
	}
	return m, nil
}

// reader takes fields off the front of a buffer; once a read runs past the
// end, short is set and every later read returns zero.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) bytes(n int) []byte {
	if r.short || len(r.b) < n {
		r.short = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// list reads a count byte and that many addresses, all non-zero and
// distinct.
func (r *reader) list(bound int) ([]addr.Addr, error) {
	c := r.bytes(1)
	if c == nil {
		return nil, nil
	}
	n := int(c[0])
	if n > bound {
		return nil, errList
	}
	if n == 0 {
		return nil, nil
	}
	raw := r.bytes(8 * n)
	if raw == nil {
		return nil, nil
	}
	l := make([]addr.Addr, n)
	for i := range l {
		l[i] = addr.Addr(binary.BigEndian.Uint64(raw[8*i:]))
		if l[i] == addr.None {
			return nil, errZeroAddr
		}
		if slices.Contains(l[:i], l[i]) {
			return nil, errDuplicate
		}
	}
	return l, nil
}
