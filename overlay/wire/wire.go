// Package wire is the format of the SDUs on an ovpn flow: how data packets
// and control messages share the flow, and the control messages the two
// ends exchange when the flow comes up (tunnel addresses, routes, a request
// for an address from the pool and the address granted) and afterwards
// (echoes for the round-trip time). docs/protocol.md, section "ovpn control
// messages", is the specification; this package is its one implementation.
//
// Every SDU's first byte says what it carries (Classify):
//
//	0x00        a control message (both modes)
//	0x01        an Ethernet frame follows, from the next byte (tap mode)
//	0x40-0x4f   the SDU is an IPv4 packet, as is (tun mode)
//	0x60-0x6f   the SDU is an IPv6 packet, as is (tun mode)
//	other       invalid: dropped and counted
//
// In tun mode an IP packet needs no tag, since its version nibble cannot be
// 0; in tap mode a frame's first byte is its destination MAC, which can be
// anything, so every frame carries the one-byte tag (the engine reads the tap
// into its buffer at offset 1, so the tag costs a byte of MTU and no copy).
// Because the engine writes the tag itself, nothing a host behind the tap or
// tun sends can pass for a control message.
//
// Parse never panics and rejects, with an error, any input that is not a
// well-formed message of version 1; the engine drops and counts it.
package wire

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Kind is what an SDU carries, from its first byte.
type Kind uint8

const (
	Invalid  Kind = iota // empty, or a first byte no kind has
	Control              // a control message: Parse it
	Ethernet             // an Ethernet frame from SDU[1:]
	IPv4                 // an IPv4 packet: the whole SDU
	IPv6                 // an IPv6 packet: the whole SDU
)

// Tags: the first byte of control messages and of Ethernet frames.
const (
	ControlTag  = 0x00
	EthernetTag = 0x01
)

// Version is the control message version this package speaks.
const Version = 1

// Classify returns what sdu carries. It does not check the payload: an IPv4
// SDU is only one whose first nibble is 4.
func Classify(sdu []byte) Kind {
	if len(sdu) == 0 {
		return Invalid
	}
	switch b := sdu[0]; {
	case b == ControlTag:
		return Control
	case b == EthernetTag:
		return Ethernet
	case b>>4 == 4:
		return IPv4
	case b>>4 == 6:
		return IPv6
	}
	return Invalid
}

// Type is a control message's type.
type Type uint8

const (
	Hello  Type = 1 // each end's first message: name, mode, MTU, addresses, routes, wants
	Grant  Type = 2 // the accepting end's answer to a Want: addresses from its pool
	Refuse Type = 3 // why this end closes the flow, sent before it does
	Echo   Type = 4 // asks for an EchoReply with the same cookie: RTT, liveness
	Reply  Type = 5 // answers an Echo
)

func (t Type) String() string {
	switch t {
	case Hello:
		return "hello"
	case Grant:
		return "grant"
	case Refuse:
		return "refuse"
	case Echo:
		return "echo"
	case Reply:
		return "reply"
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// Mode is the kind of interface an end runs; both ends must run the same.
type Mode uint8

const (
	Tun Mode = 1 // IP packets
	Tap Mode = 2 // Ethernet frames
)

func (m Mode) String() string {
	switch m {
	case Tun:
		return "tun"
	case Tap:
		return "tap"
	}
	return fmt.Sprintf("mode %d", uint8(m))
}

// Want is the set of address families a Hello asks the pool for.
type Want uint8

const (
	WantIPv4 Want = 1 << iota
	WantIPv6

	wantAll = WantIPv4 | WantIPv6
)

// Limits of a message, beyond which Append and Parse refuse it.
const (
	MaxPrefixes = 255 // of each of Addrs and Routes
	MaxReason   = 255 // bytes of Reason
	MaxName     = 255 // bytes of Name
)

// Msg is a control message. Which fields a type carries:
//
//	Hello:  Name (required: the sender's Ouroboros name, as it claims it;
//	        UTF-8, at most MaxName bytes), Mode (required), MTU (0: not said), Addrs (the sender's tunnel
//	        addresses with their subnet lengths, 10.77.0.1/24), Routes (the
//	        prefixes the sender says are behind it), Want, Gateway (UTF-8,
//	        at most MaxName bytes, not Name)
//	Grant:  Addrs (at least one: the granted addresses with the pool's
//	        subnet length), Lease (at least 1 s; sent in whole seconds,
//	        a fraction is dropped)
//	Refuse: Reason (required, UTF-8, at most MaxReason bytes)
//	Echo, Reply: Cookie (required, not 0), which a Reply copies from its Echo
//
// Routes and Addrs in a Hello are claims: the receiver installs only those
// its configuration gives the sender.
type Msg struct {
	Type   Type
	Name   string
	Mode   Mode
	MTU    uint32
	Addrs  []netip.Prefix
	Routes []netip.Prefix
	Want   Want
	Lease  time.Duration
	Reason string
	Cookie uint64
	// Gateway, in a Hello, says that the flow was allocated to a name the
	// sender publishes for a host behind it (Name, at Addrs) and that
	// the sender is the endpoint called Gateway: the receiver routes
	// Addrs through its flow with Gateway. Optional attribute 0x81.
	Gateway string
}

// ErrVersion is wrapped by Parse's error for a message of a version other
// than Version, so that the engine can say the far end must be upgraded
// rather than that it sent garbage.
var ErrVersion = errors.New("ovpn control message of an unknown version")

// attribute codes. Codes from 0x80 are optional: a receiver that does not
// know one skips it; an unknown code below 0x80 makes the message malformed.
const (
	attrMode    = 1
	attrMTU     = 2
	attrAddress = 3
	attrRoute   = 4
	attrWant    = 5
	attrLease   = 6
	attrReason  = 7
	attrCookie  = 8
	// attrPeerName is the hello's name attribute (code 9); attrName
	// names attributes in errors.
	attrPeerName = 9

	attrOptional = 0x80
	// attrGateway is the hello's optional gateway attribute: an end that
	// does not know it skips it, and sees a hello from Name.
	attrGateway = 0x81
)

// bit is an attribute's bit in a set of attributes: 1<<code for the codes
// below attrOptional, and bits from 16 up for the optional ones this
// version knows.
func bit(code byte) uint32 {
	if code >= attrOptional {
		return 1 << (16 + code - attrOptional)
	}
	return 1 << code
}

// attrs returns the attributes type t may carry and those it must carry;
// ok is false for an unknown type.
func attrs(t Type) (allowed, required uint32, ok bool) {
	switch t {
	case Hello:
		return 1<<attrPeerName | 1<<attrMode | 1<<attrMTU | 1<<attrAddress | 1<<attrRoute | 1<<attrWant | bit(attrGateway),
			1<<attrPeerName | 1<<attrMode, true
	case Grant:
		return 1<<attrAddress | 1<<attrLease, 1<<attrAddress | 1<<attrLease, true
	case Refuse:
		return 1 << attrReason, 1 << attrReason, true
	case Echo, Reply:
		return 1 << attrCookie, 1 << attrCookie, true
	}
	return 0, 0, false
}

const (
	headerLen = 3 // tag, version, type
	attrHdr   = 3 // code, 16-bit length
)
