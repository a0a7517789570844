package shim

import (
	"encoding/binary"
	"errors"

	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// The shim header, inside whatever framing the transport adds (a UDP
// datagram, an Ethernet frame):
//
//	data:        | dst eid u32 (≠ 0) | SDU ... |
//	management:  | 0 u32 | version u8 | code u8 | body ... |
//
// A data packet costs 4 bytes. Management bodies (network byte order):
//
//	FLOW_REQ    src eid u32, token u64, commit [16], cookie length u8 (0 or
//	            16), cookie, QoS (30 bytes), hash length u8, hash,
//	            data length u16, data
//	FLOW_REPLY  src eid u32, dst eid u32, token u64, commit [16], result u8,
//	            reason length u8, reason (why a flow was refused, for its
//	            user), data length u16, data
//	DEALLOC     dst eid u32, secret [16]
//	KEEPALIVE   dst eid u32, token u64
//	QUERY       hash length u8, hash
//	QUERY_REPLY hash length u8, hash
//	COOKIE      dst eid u32 (the requester's), cookie [16]
//
// token and commit are the sender's flow credentials (see creds): a
// KEEPALIVE carries the receiver's token, a DEALLOC the sender's secret,
// whose hash is the commit it sent. A COOKIE asks a requester to repeat its
// FLOW_REQ with the cookie attached (see cookies).
//
// A peer refuses management messages of another version (dropped and
// counted). See docs/protocol.md.

// Version is the shim management protocol version.
const Version = 2

// Management codes.
const (
	codeFlowReq    = 1
	codeFlowReply  = 2
	codeDealloc    = 3
	codeKeepalive  = 4
	codeQuery      = 5
	codeQueryReply = 6
	codeCookie     = 7
)

// Results of a flow request.
const (
	resultOK          = 0
	resultUnreachable = 1 // no such name here, or nobody accepts it
	resultRefused     = 2 // the layer or the host refused the flow
)

const (
	dataHeader = 4
	mgmtHeader = 6
	qosLen     = 30
	maxHashLen = 64
	tokenLen   = 8
	secretLen  = 16 // a teardown secret, its commit, a cookie
	credsLen   = tokenLen + secretLen
)

var errMalformed = errors.New("malformed management message")

// mgmt is a decoded management message.
type mgmt struct {
	code    uint8
	srcEID  uint32
	dstEID  uint32
	result  uint8
	qos     qos.Spec
	hash    []byte // aliases the packet
	data    []byte // FLOW_REQ, FLOW_REPLY: the allocation's data; aliases the packet
	reason  string // FLOW_REPLY: why the flow was refused
	version uint8
	token   uint64          // FLOW_REQ, FLOW_REPLY: the sender's; KEEPALIVE: the receiver's
	secret  [secretLen]byte // FLOW_REQ, FLOW_REPLY: the sender's commit; DEALLOC: its secret; COOKIE: the cookie
	cookie  []byte          // FLOW_REQ: the cookie it repeats (empty or secretLen bytes); aliases the packet
}

func putQoS(b []byte, q qos.Spec) {
	binary.BigEndian.PutUint32(b[0:], q.Delay)
	binary.BigEndian.PutUint64(b[4:], q.Bandwidth)
	b[12] = q.Availability
	binary.BigEndian.PutUint32(b[13:], q.Loss)
	binary.BigEndian.PutUint32(b[17:], q.BER)
	b[21] = 0
	if q.InOrder {
		b[21] = 1
	}
	binary.BigEndian.PutUint32(b[22:], q.MaxGap)
	binary.BigEndian.PutUint32(b[26:], q.Timeout)
}

func getQoS(b []byte) qos.Spec {
	return qos.Spec{
		Delay:        binary.BigEndian.Uint32(b[0:]),
		Bandwidth:    binary.BigEndian.Uint64(b[4:]),
		Availability: b[12],
		Loss:         binary.BigEndian.Uint32(b[13:]),
		BER:          binary.BigEndian.Uint32(b[17:]),
		InOrder:      b[21] != 0,
		MaxGap:       binary.BigEndian.Uint32(b[22:]),
		Timeout:      binary.BigEndian.Uint32(b[26:]),
	}
}

// encodeMgmt appends m to b (which starts the packet) and returns it.
func encodeMgmt(b []byte, m *mgmt) []byte {
	b = append(b, 0, 0, 0, 0, Version, m.code)
	switch m.code {
	case codeFlowReq:
		b = binary.BigEndian.AppendUint32(b, m.srcEID)
		b = binary.BigEndian.AppendUint64(b, m.token)
		b = append(b, m.secret[:]...)
		b = append(b, byte(len(m.cookie)))
		b = append(b, m.cookie...)
		var q [qosLen]byte
		putQoS(q[:], m.qos)
		b = append(b, q[:]...)
		b = append(b, byte(len(m.hash)))
		b = append(b, m.hash...)
		b = appendData(b, m.data)
	case codeFlowReply:
		b = binary.BigEndian.AppendUint32(b, m.srcEID)
		b = binary.BigEndian.AppendUint32(b, m.dstEID)
		b = binary.BigEndian.AppendUint64(b, m.token)
		b = append(b, m.secret[:]...)
		b = append(b, m.result)
		reason := m.reason
		if len(reason) > 255 {
			reason = reason[:255]
		}
		b = append(b, byte(len(reason)))
		b = append(b, reason...)
		b = appendData(b, m.data)
	case codeDealloc, codeCookie:
		b = binary.BigEndian.AppendUint32(b, m.dstEID)
		b = append(b, m.secret[:]...)
	case codeKeepalive:
		b = binary.BigEndian.AppendUint32(b, m.dstEID)
		b = binary.BigEndian.AppendUint64(b, m.token)
	case codeQuery, codeQueryReply:
		b = append(b, byte(len(m.hash)))
		b = append(b, m.hash...)
	}
	return b
}

// decodeMgmt parses a management message (the whole packet, eid 0
// included). It never panics on bad input.
func decodeMgmt(p []byte, m *mgmt) error {
	if len(p) < mgmtHeader {
		return errMalformed
	}
	*m = mgmt{version: p[4], code: p[5]}
	if m.version != Version {
		return errVersion
	}
	b := p[mgmtHeader:]
	switch m.code {
	case codeFlowReq:
		if len(b) < 4+credsLen+1 {
			return errMalformed
		}
		m.srcEID = binary.BigEndian.Uint32(b)
		b = decodeCreds(b[4:], m)
		n := int(b[0])
		if (n != 0 && n != secretLen) || len(b) < 1+n+qosLen+1 {
			return errMalformed
		}
		m.cookie = b[1 : 1+n]
		b = b[1+n:]
		m.qos = getQoS(b)
		if err := decodeHash(b[qosLen:], m); err != nil {
			return err
		}
		return decodeData(b[qosLen+1+len(m.hash):], m)
	case codeFlowReply:
		if len(b) < 8+credsLen+2 {
			return errMalformed
		}
		m.srcEID = binary.BigEndian.Uint32(b)
		m.dstEID = binary.BigEndian.Uint32(b[4:])
		b = decodeCreds(b[8:], m)
		m.result = b[0]
		if len(b) < 2+int(b[1]) {
			return errMalformed
		}
		m.reason = string(b[2 : 2+int(b[1])])
		return decodeData(b[2+int(b[1]):], m)
	case codeDealloc, codeCookie:
		if len(b) != 4+secretLen {
			return errMalformed
		}
		m.dstEID = binary.BigEndian.Uint32(b)
		copy(m.secret[:], b[4:])
	case codeKeepalive:
		if len(b) != 4+tokenLen {
			return errMalformed
		}
		m.dstEID = binary.BigEndian.Uint32(b)
		m.token = binary.BigEndian.Uint64(b[4:])
	case codeQuery, codeQueryReply:
		return decodeHash(b, m)
	default:
		return errMalformed
	}
	return nil
}

var errVersion = errors.New("management message of another version")

// decodeCreds reads a token and a commit (b holds at least credsLen bytes)
// and returns what follows them.
func decodeCreds(b []byte, m *mgmt) []byte {
	m.token = binary.BigEndian.Uint64(b)
	copy(m.secret[:], b[tokenLen:credsLen])
	return b[credsLen:]
}

func appendData(b, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// decodeData reads the data field, which must end the message.
func decodeData(b []byte, m *mgmt) error {
	if len(b) < 2 {
		return errMalformed
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > ipcp.MaxAllocData || len(b) != 2+n {
		return errMalformed
	}
	if n > 0 {
		m.data = b[2:]
	}
	return nil
}

func decodeHash(b []byte, m *mgmt) error {
	if len(b) < 1 {
		return errMalformed
	}
	n := int(b[0])
	if n == 0 || n > maxHashLen || len(b) < 1+n {
		return errMalformed
	}
	m.hash = b[1 : 1+n]
	return nil
}
