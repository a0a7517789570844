package eth

import (
	"encoding/binary"
	"net"

	"o7s.dev/ouroboros/stack/schema"
)

// The two frame formats, each carrying one shim datagram (the payload:
// `eid u32 | SDU` or a management message, see package shim):
//
//	eth-dix:  | dst MAC 6 | src MAC 6 | ethertype 2 | length 2 | payload ... | padding |
//	eth-llc:  | dst MAC 6 | src MAC 6 | length 2 | DSAP 1 | SSAP 1 | control 1 | payload ... | padding |
//
// In eth-dix, length is the payload's, since the Ethernet II header has
// none and short frames are padded to 60 bytes. In eth-llc, length is the
// 802.3 length: the LLC header and the payload (3 + payload); DSAP = SSAP =
// SAP, control 0x03 (UI). See docs/protocol.md.

// Frame header sizes.
const (
	ethHeader = 14            // dst, src, ethertype or 802.3 length
	dixHeader = ethHeader + 2 // + payload length
	llcHeader = ethHeader + 3 // + DSAP, SSAP, control
	maxHeader = max(dixHeader, llcHeader)
)

// SAP is the LLC service access point of every eth-llc layer: an
// individual (I/G bit 0), locally administered (bit 1 set) SAP that no
// standard protocol uses.
const SAP = 0x7A

const (
	llcUI = 0x03 // unnumbered information: a datagram, no LLC connection

	// max802Len is the largest 802.3 length: larger values up to 0x05FF are
	// undefined and from 0x0600 on the field is an ethertype.
	max802Len = 1500

	// DefaultEthertype is the eth-dix ethertype when none is given, from
	// the range IEEE leaves unassigned for private protocols in practice.
	DefaultEthertype = schema.DefaultEthertype

	// minEthertype and maxEthertype bound the ethertypes a layer may use:
	// smaller values are 802.3 lengths, 0xFFFF is reserved.
	minEthertype = 0x0600
	maxEthertype = 0xFFFE
)

// MAC is an Ethernet address, the shim transport address of both types.
type MAC [6]byte

// broadcastMAC is the destination of name queries.
func broadcastMAC() MAC { return MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }

// String formats m as aa:bb:cc:dd:ee:ff.
func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// framing is the frame format of one IPCP.
type framing struct {
	llc       bool
	ethertype uint16 // eth-dix only
}

// verdict is what a received frame is to the layer.
type verdict uint8

const (
	frameOK    verdict = iota // ours: the payload goes to the shim core
	frameOther                // another protocol's, or another layer's: ignored
	frameBad                  // ours, but malformed: dropped and counted
)

// header returns the size of the frame header.
func (f framing) header() int {
	if f.llc {
		return llcHeader
	}
	return dixHeader
}

// payloadMTU returns the largest payload a frame carries on an interface
// whose MTU is ifMTU (the MTU counts everything after the Ethernet
// header), or a negative number if there is no room at all.
func (f framing) payloadMTU(ifMTU int) int {
	if f.llc {
		return min(ifMTU, max802Len) - (llcHeader - ethHeader)
	}
	return min(ifMTU, 0xFFFF) - (dixHeader - ethHeader)
}

// put writes into h the header of a frame that carries n payload bytes
// (n ≤ the payload MTU) from src to dst.
func (f framing) put(h []byte, dst, src MAC, n int) {
	_ = h[f.header()-1]
	copy(h[0:6], dst[:])
	copy(h[6:12], src[:])
	if f.llc {
		binary.BigEndian.PutUint16(h[12:], uint16(llcHeader-ethHeader+n))
		h[14], h[15], h[16] = SAP, SAP, llcUI
		return
	}
	binary.BigEndian.PutUint16(h[12:], f.ethertype)
	binary.BigEndian.PutUint16(h[14:], uint16(n))
}

// parse checks a received frame: got bytes in all, whose first
// min(got, f.header()) bytes are in h. For an OK frame it returns the
// payload's length, which follows the header; padding after it is not
// part of it. It never reads past h nor trusts a length beyond got.
func (f framing) parse(h []byte, got int) (int, verdict) {
	got = max(got, 0)
	if len(h) < f.header() || got < ethHeader+1 {
		return 0, frameOther
	}
	if f.llc {
		return parseLLC(h, got)
	}
	if binary.BigEndian.Uint16(h[12:]) != f.ethertype {
		return 0, frameOther
	}
	if got < dixHeader {
		return 0, frameBad
	}
	n := int(binary.BigEndian.Uint16(h[14:]))
	if n > got-dixHeader {
		return 0, frameBad
	}
	return n, frameOK
}

// parseLLC checks an 802.3 frame addressed to our SAP.
func parseLLC(h []byte, got int) (int, verdict) {
	l := int(binary.BigEndian.Uint16(h[12:]))
	if l >= minEthertype || h[14] != SAP {
		return 0, frameOther // an Ethernet II frame, or another SAP's
	}
	// The SSAP's low bit is the command/response bit: either will do.
	if got < llcHeader || h[15]&^1 != SAP || h[16] != llcUI {
		return 0, frameBad
	}
	if l < llcHeader-ethHeader || l > max802Len || l > got-ethHeader {
		return 0, frameBad
	}
	return l - (llcHeader - ethHeader), frameOK
}
