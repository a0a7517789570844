package unicast

// Wire formats of the unicast IPCP's own messages, network byte order.
// docs/protocol.md is the specification; this is a summary.
//
// Connection establishment (CEP): the first messages on every flow between
// two members, over the lower layer. They start with 8 zero bytes, which no
// data-transfer PDU does (address 0 is no member's), so that a repeated
// CONNECT is recognised on a flow that already carries data.
//
//	zero [8] | version u8 (1) | type u8 | component u8 | code u8 |
//	node id u64 | address u64 | name len u8 | name | layer len u8 | layer | body
//
//	type       1 CONNECT, 2 ACCEPT, 3 REFUSE, 4 DONE (enrollment finished),
//	           5 KEEPALIVE (every LSDead/4 on every member flow; component 0)
//	component  1 data transfer, 2 management, 3 enrollment
//	code       REFUSE only: why (refuse* constants); body is the reason text
//	body       ACCEPT of an enrollment: assigned address u64 | member's clock
//	           (ns since the epoch) i64 | layer configuration (below)
//
// Layer configuration (in an enrollment ACCEPT):
//
//	hash u8 (0 SHA3_224, 1 SHA3_256, 2 SHA3_384, 3 SHA3_512) | address size u8 |
//	ttl u8 | routing u8 (0 link_state, 1 lfa, 2 ecmp) | congestion u8 (0 none,
//	1 mb-ecn) | dht alpha u8 | dht k u8 | reserved u8 (0) | dht expire u32 s |
//	dht refresh u32 s | dht replicate u32 s | ls recalc u32 s | ls update u32 s |
//	ls timeout u32 s | ls dead u32 ms
//
// Flow allocator (FA) messages, in data-transfer PDUs to endpoint 0:
//
//	version u8 (1) | code u8 | body
//	1 FLOW_REQ     src addr u64 | src eid u64 | qos | hash len u8 | hash | data len u16 | data
//	2 FLOW_REPLY   result u8 (0 ok) | src addr u64 | dst eid u64 | src eid u64 | reason len u8 | reason |
//	               data len u16 | data
//	3 FLOW_UPDATE  dst eid u64 | ece u16
//	4 FLOW_DEALLOC dst eid u64 | src eid u64
//	5 FLOW_UNREACH dst eid u64 | src addr u64 | dst addr u64 | cause u8
//	               (1 no route, 2 TTL expired): a FLOW_REQ to dst addr was
//	               dropped at src addr; see unreach.go
//	qos = delay u32 | bandwidth u64 | availability u8 | loss u32 | ber u32 |
//	      in order u8 | max gap u32 | timeout u32

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
	"o7s.dev/ouroboros/stack/unicast/routing"
)

const wireVersion = 1

// CEP message types.
const (
	cepConnect   = 1
	cepAccept    = 2
	cepRefuse    = 3
	cepDone      = 4
	cepKeepalive = 5
)

// Components a flow between members serves.
const (
	compDT     = 1
	compMgmt   = 2
	compEnroll = 3
)

// Refusal codes.
const (
	refuseNotMember = 1 // the acceptor is in no layer yet
	refuseLayer     = 2 // the acceptor is in another layer
	refuseBad       = 3 // the request made no sense
	refuseDuplicate = 4 // the acceptor keeps another flow for the component
)

// FA message codes.
const (
	faReq     = 1
	faReply   = 2
	faUpdate  = 3
	faDealloc = 4
	faUnreach = 5
)

var errShort = errors.New("message too short")

// cep is a connection-establishment message.
type cep struct {
	typ, component, code uint8
	nodeID               uint64
	addr                 addr.Addr
	name, layer          string
	body                 []byte // type-specific, aliases the packet
}

// isCEP reports whether a packet on a member flow is a CEP message.
func isCEP(b []byte) bool {
	return len(b) >= 8 && binary.BigEndian.Uint64(b) == 0
}

func (m *cep) append(b []byte) []byte {
	b = append(b, make([]byte, 8)...)
	b = append(b, wireVersion, m.typ, m.component, m.code)
	b = binary.BigEndian.AppendUint64(b, m.nodeID)
	b = binary.BigEndian.AppendUint64(b, uint64(m.addr))
	b = appendString8(b, m.name)
	b = appendString8(b, m.layer)
	return append(b, m.body...)
}

func parseCEP(b []byte) (cep, error) {
	r := reader{b: b}
	var m cep
	r.skip(8)
	if v := r.u8(); v != wireVersion && r.err == nil {
		return m, fmt.Errorf("CEP version %d: this member speaks %d", v, wireVersion)
	}
	m.typ, m.component, m.code = r.u8(), r.u8(), r.u8()
	m.nodeID = r.u64()
	m.addr = addr.Addr(r.u64())
	m.name = r.string8()
	m.layer = r.string8()
	m.body = r.rest()
	if r.err != nil {
		return cep{}, fmt.Errorf("CEP: %w", r.err)
	}
	if m.typ < cepConnect || m.typ > cepKeepalive {
		return cep{}, fmt.Errorf("CEP: unknown type %d", m.typ)
	}
	if m.typ != cepKeepalive && (m.component < compDT || m.component > compEnroll) {
		return cep{}, fmt.Errorf("CEP: unknown component %d", m.component)
	}
	return m, nil
}

// enrollment is the body of an enrollment ACCEPT.
type enrollment struct {
	assigned addr.Addr
	clock    time.Time
	cfg      Config
}

var hashCodes = []ipcp.HashAlgo{ipcp.SHA3_224, ipcp.SHA3_256, ipcp.SHA3_384, ipcp.SHA3_512}
var policyCodes = []routing.Policy{routing.LinkState, routing.LFA, routing.ECMP}
var congestionCodes = []string{CongestionNone, CongestionMBECN}

func indexOf[T comparable](s []T, v T) uint8 {
	for i, x := range s {
		if x == v {
			return uint8(i)
		}
	}
	return 0
}

func (e *enrollment) append(b []byte) []byte {
	c := &e.cfg
	b = binary.BigEndian.AppendUint64(b, uint64(e.assigned))
	b = binary.BigEndian.AppendUint64(b, uint64(e.clock.UnixNano()))
	b = append(b, indexOf(hashCodes, c.Hash), uint8(c.AddrSize), c.TTL, indexOf(policyCodes, c.Routing),
		indexOf(congestionCodes, c.Congestion), uint8(c.DHTAlpha), uint8(c.DHTK), 0)
	for _, d := range []time.Duration{c.DHTExpire, c.DHTRefresh, c.DHTReplicate, c.LSRecalc, c.LSUpdate, c.LSTimeout} {
		b = binary.BigEndian.AppendUint32(b, uint32(d/time.Second))
	}
	return binary.BigEndian.AppendUint32(b, uint32(c.LSDead/time.Millisecond))
}

// parseEnrollment decodes an enrollment and checks the configuration as
// bootstrap would, so that a member cannot hand out a broken layer.
func parseEnrollment(layer string, b []byte) (enrollment, error) {
	r := reader{b: b}
	var e enrollment
	e.assigned = addr.Addr(r.u64())
	e.clock = time.Unix(0, int64(r.u64()))
	h, size, ttl, pol, cong, alpha, k := r.u8(), r.u8(), r.u8(), r.u8(), r.u8(), r.u8(), r.u8()
	r.skip(1)
	var secs [6]uint32
	for i := range secs {
		secs[i] = r.u32()
	}
	dead := r.u32()
	if r.err == nil && len(r.rest()) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return e, fmt.Errorf("enrollment: %w", r.err)
	}
	if int(h) >= len(hashCodes) || int(pol) >= len(policyCodes) || int(cong) >= len(congestionCodes) {
		return e, fmt.Errorf("enrollment: unknown hash, routing or congestion code")
	}
	opts := map[string]string{
		"hash": string(hashCodes[h]), "addr": fmt.Sprint(size), "ttl": fmt.Sprint(ttl),
		"routing": string(policyCodes[pol]), "congestion": congestionCodes[cong],
		"dht_alpha": fmt.Sprint(alpha), "dht_k": fmt.Sprint(k),
		"dht_t_expire": fmt.Sprint(secs[0]), "dht_t_refresh": fmt.Sprint(secs[1]),
		"dht_t_replicate": fmt.Sprint(secs[2]), "ls_t_recalc": fmt.Sprint(secs[3]),
		"ls_t_update": fmt.Sprint(secs[4]), "ls_t_timeo": fmt.Sprint(secs[5]), "ls_t_dead": fmt.Sprint(dead),
	}
	cfg, err := ParseOptions(layer, opts)
	if err != nil {
		return e, fmt.Errorf("enrollment: the member's configuration: %w", err)
	}
	if e.assigned == addr.None || e.assigned > addr.Max(cfg.AddrSize) {
		return e, fmt.Errorf("enrollment: assigned address %v does not fit %d bytes", e.assigned, cfg.AddrSize)
	}
	e.cfg = cfg
	return e, nil
}

// faMsg is a flow allocator message; which fields count depends on code.
type faMsg struct {
	code    uint8
	result  uint8 // REPLY: 0 accepted, 1 refused; UNREACH: the cause
	srcAddr addr.Addr
	dstAddr addr.Addr // UNREACH: the destination that cannot be reached
	srcEID  uint64
	dstEID  uint64
	qos     qos.Spec
	hash    []byte // aliases the packet
	data    []byte // REQ, REPLY: the allocation's data; aliases the packet
	reason  string
	ece     uint16
}

func (m *faMsg) append(b []byte) []byte {
	b = append(b, wireVersion, m.code)
	be := binary.BigEndian
	switch m.code {
	case faReq:
		b = be.AppendUint64(b, uint64(m.srcAddr))
		b = be.AppendUint64(b, m.srcEID)
		b = appendQoS(b, m.qos)
		b = append(b, uint8(len(m.hash)))
		b = append(b, m.hash...)
		b = be.AppendUint16(b, uint16(len(m.data)))
		b = append(b, m.data...)
	case faReply:
		b = append(b, m.result)
		b = be.AppendUint64(b, uint64(m.srcAddr))
		b = be.AppendUint64(b, m.dstEID)
		b = be.AppendUint64(b, m.srcEID)
		b = appendString8(b, m.reason)
		b = be.AppendUint16(b, uint16(len(m.data)))
		b = append(b, m.data...)
	case faUpdate:
		b = be.AppendUint64(b, m.dstEID)
		b = be.AppendUint16(b, m.ece)
	case faDealloc:
		b = be.AppendUint64(b, m.dstEID)
		b = be.AppendUint64(b, m.srcEID)
	case faUnreach:
		b = be.AppendUint64(b, m.dstEID)
		b = be.AppendUint64(b, uint64(m.srcAddr))
		b = be.AppendUint64(b, uint64(m.dstAddr))
		b = append(b, m.result)
	}
	return b
}

func parseFA(b []byte) (faMsg, error) {
	r := reader{b: b}
	var m faMsg
	if v := r.u8(); v != wireVersion && r.err == nil {
		return m, fmt.Errorf("FA version %d: this member speaks %d", v, wireVersion)
	}
	m.code = r.u8()
	switch m.code {
	case faReq:
		m.srcAddr = addr.Addr(r.u64())
		m.srcEID = r.u64()
		m.qos = r.qos()
		m.hash = r.bytes(int(r.u8()))
		m.data = r.data()
	case faReply:
		m.result = r.u8()
		m.srcAddr = addr.Addr(r.u64())
		m.dstEID = r.u64()
		m.srcEID = r.u64()
		m.reason = r.string8()
		m.data = r.data()
	case faUpdate:
		m.dstEID = r.u64()
		m.ece = r.u16()
	case faDealloc:
		m.dstEID = r.u64()
		m.srcEID = r.u64()
	case faUnreach:
		m.dstEID = r.u64()
		m.srcAddr = addr.Addr(r.u64())
		m.dstAddr = addr.Addr(r.u64())
		m.result = r.u8()
	default:
		if r.err == nil {
			return m, fmt.Errorf("FA: unknown code %d", m.code)
		}
	}
	if r.err == nil && len(r.rest()) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return faMsg{}, fmt.Errorf("FA: %w", r.err)
	}
	if m.code == faReq && (m.srcAddr == addr.None || len(m.hash) == 0) {
		return faMsg{}, errors.New("FA: request without source address or hash")
	}
	return m, nil
}

func appendQoS(b []byte, q qos.Spec) []byte {
	be := binary.BigEndian
	b = be.AppendUint32(b, q.Delay)
	b = be.AppendUint64(b, q.Bandwidth)
	b = append(b, q.Availability)
	b = be.AppendUint32(b, q.Loss)
	b = be.AppendUint32(b, q.BER)
	b = append(b, boolByte(q.InOrder))
	b = be.AppendUint32(b, q.MaxGap)
	return be.AppendUint32(b, q.Timeout)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString8(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(b, uint8(len(s))), s...)
}

// reader decodes fields in order; the first short read sets err and every
// later read returns zero, so a decoder checks err once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errShort
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) skip(n int) { r.bytes(n) }

func (r *reader) u8() uint8 {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *reader) string8() string { return string(r.bytes(int(r.u8()))) }

// data reads an allocation's data field: u16 length, at most
// ipcp.MaxAllocData bytes; nil when empty.
func (r *reader) data() []byte {
	n := int(r.u16())
	if n > ipcp.MaxAllocData && r.err == nil {
		r.err = errors.New("allocation data too long")
	}
	if d := r.bytes(n); len(d) > 0 {
		return d
	}
	return nil
}

func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	v := r.b
	r.b = nil
	return v
}

func (r *reader) qos() qos.Spec {
	var q qos.Spec
	q.Delay = r.u32()
	q.Bandwidth = r.u64()
	q.Availability = r.u8()
	q.Loss = r.u32()
	q.BER = r.u32()
	q.InOrder = r.u8() != 0
	q.MaxGap = r.u32()
	q.Timeout = r.u32()
	return q
}
