package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
	"unicode/utf8"
)

// Append appends m, encoded, to b. It fails, leaving b as it was, if m
// breaks the rules of its type (see Msg).
func Append(b []byte, m *Msg) ([]byte, error) {
	if err := m.check(); err != nil {
		return b, err
	}
	b = append(b, ControlTag, Version, byte(m.Type))
	switch m.Type {
	case Hello:
		b = appendAttr(b, attrPeerName, []byte(m.Name)...)
		b = appendAttr(b, attrMode, byte(m.Mode))
		if m.MTU != 0 {
			b = appendAttr(b, attrMTU, binary.BigEndian.AppendUint32(nil, m.MTU)...)
		}
		b = appendPrefixes(b, attrAddress, m.Addrs)
		b = appendPrefixes(b, attrRoute, m.Routes)
		if m.Want != 0 {
			b = appendAttr(b, attrWant, byte(m.Want))
		}
		if m.Gateway != "" {
			b = appendAttr(b, attrGateway, []byte(m.Gateway)...)
		}
	case Grant:
		b = appendPrefixes(b, attrAddress, m.Addrs)
		b = appendAttr(b, attrLease, binary.BigEndian.AppendUint32(nil, uint32(m.Lease/time.Second))...)
	case Refuse:
		b = appendAttr(b, attrReason, []byte(m.Reason)...)
	case Echo, Reply:
		b = appendAttr(b, attrCookie, binary.BigEndian.AppendUint64(nil, m.Cookie)...)
	}
	return b, nil
}

// check applies the rules of Msg's doc comment.
func (m *Msg) check() error {
	if _, _, ok := attrs(m.Type); !ok {
		return fmt.Errorf("ovpn control message: unknown %v", m.Type)
	}
	var has uint32 // fields set, as attribute bits
	set := func(code byte, on bool) {
		if on {
			has |= bit(code)
		}
	}
	set(attrMode, m.Mode != 0)
	set(attrMTU, m.MTU != 0)
	set(attrAddress, len(m.Addrs) > 0)
	set(attrRoute, len(m.Routes) > 0)
	set(attrWant, m.Want != 0)
	set(attrLease, m.Lease != 0)
	set(attrReason, m.Reason != "")
	set(attrCookie, m.Cookie != 0)
	set(attrPeerName, m.Name != "")
	set(attrGateway, m.Gateway != "")
	if err := checkSet(m.Type, has); err != nil {
		return err
	}
	switch {
	case m.Type == Hello && m.Mode != Tun && m.Mode != Tap:
		return fmt.Errorf("ovpn hello: %v is neither tun nor tap", m.Mode)
	case m.Want&^wantAll != 0:
		return fmt.Errorf("ovpn hello: want %#x has unknown bits", uint8(m.Want))
	case m.Type == Grant && (m.Lease < time.Second || m.Lease/time.Second > math.MaxUint32):
		return fmt.Errorf("ovpn grant: lease %v is not between 1 s and 2^32-1 s", m.Lease)
	case len(m.Reason) > MaxReason || !utf8.ValidString(m.Reason):
		return fmt.Errorf("ovpn refuse: reason is not UTF-8 of at most %d bytes", MaxReason)
	case len(m.Name) > MaxName || !utf8.ValidString(m.Name):
		return fmt.Errorf("ovpn hello: name is not UTF-8 of at most %d bytes", MaxName)
	case len(m.Gateway) > MaxName || !utf8.ValidString(m.Gateway):
		return fmt.Errorf("ovpn hello: gateway is not UTF-8 of at most %d bytes", MaxName)
	case m.Gateway != "" && m.Gateway == m.Name:
		return errGatewayName
	}
	for _, l := range [][]netip.Prefix{m.Addrs, m.Routes} {
		if len(l) > MaxPrefixes {
			return fmt.Errorf("ovpn %v: %d prefixes in one list, at most %d", m.Type, len(l), MaxPrefixes)
		}
		for _, p := range l {
			if !p.IsValid() {
				return fmt.Errorf("ovpn %v: invalid prefix %v", m.Type, p)
			}
		}
	}
	return nil
}

// checkSet checks that the attributes in has are those type t allows, with
// those it requires.
func checkSet(t Type, has uint32) error {
	allowed, required, _ := attrs(t)
	if extra := has &^ allowed; extra != 0 {
		return fmt.Errorf("ovpn %v: carries %s, which a %v does not", t, attrName(extra), t)
	}
	if missing := required &^ has; missing != 0 {
		return fmt.Errorf("ovpn %v: lacks %s", t, attrName(missing))
	}
	return nil
}

// attrName names the first attribute in the set bits.
func attrName(bits uint32) string {
	for _, a := range []struct {
		code byte
		name string
	}{
		{attrMode, "mode"}, {attrMTU, "mtu"}, {attrAddress, "addresses"}, {attrRoute, "routes"},
		{attrWant, "want"}, {attrLease, "lease"}, {attrReason, "reason"}, {attrCookie, "cookie"},
		{attrPeerName, "name"}, {attrGateway, "gateway"},
	} {
		if bits&bit(a.code) != 0 {
			return a.name
		}
	}
	return "an unknown attribute"
}

func appendAttr(b []byte, code byte, v ...byte) []byte {
	b = append(b, code)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// appendPrefixes appends one attribute per prefix: family (4 or 6), length
// in bits, then the 4 or 16 address bytes.
func appendPrefixes(b []byte, code byte, l []netip.Prefix) []byte {
	for _, p := range l {
		a := p.Addr()
		if a.Is4() {
			v := a.As4()
			b = appendAttr(b, code, append([]byte{4, byte(p.Bits())}, v[:]...)...)
		} else {
			v := a.As16()
			b = appendAttr(b, code, append([]byte{6, byte(p.Bits())}, v[:]...)...)
		}
	}
	return b
}

// Parse decodes the control message sdu, which starts with ControlTag. The
// message's slices do not alias sdu.
func Parse(sdu []byte) (Msg, error) {
	var m Msg
	if len(sdu) < headerLen {
		return m, fmt.Errorf("ovpn control message: %d bytes, shorter than its %d-byte header", len(sdu), headerLen)
	}
	if sdu[0] != ControlTag {
		return m, fmt.Errorf("ovpn control message: first byte %#02x is not the control tag", sdu[0])
	}
	if sdu[1] != Version {
		return m, fmt.Errorf("%w: version %d, this end speaks %d", ErrVersion, sdu[1], Version)
	}
	m.Type = Type(sdu[2])
	if _, _, ok := attrs(m.Type); !ok {
		return m, fmt.Errorf("ovpn control message: unknown %v", m.Type)
	}
	var has uint32
	for b := sdu[headerLen:]; len(b) > 0; {
		if len(b) < attrHdr {
			return m, fmt.Errorf("ovpn %v: %d bytes left, too few for an attribute header", m.Type, len(b))
		}
		code, n := b[0], int(binary.BigEndian.Uint16(b[1:]))
		if len(b)-attrHdr < n {
			return m, fmt.Errorf("ovpn %v: attribute %d says %d bytes, %d left", m.Type, code, n, len(b)-attrHdr)
		}
		v := b[attrHdr : attrHdr+n]
		b = b[attrHdr+n:]
		switch {
		case code >= attrOptional && code != attrGateway:
			continue // a later version's optional attribute
		case code > attrPeerName && code < attrOptional, code == 0:
			return m, fmt.Errorf("ovpn %v: unknown attribute %d", m.Type, code)
		}
		repeatable := code == attrAddress || code == attrRoute
		if has&bit(code) != 0 && !repeatable {
			return m, fmt.Errorf("ovpn %v: %s given twice", m.Type, attrName(bit(code)))
		}
		has |= bit(code)
		if err := m.parseAttr(code, v); err != nil {
			return m, fmt.Errorf("ovpn %v: %s: %w", m.Type, attrName(bit(code)), err)
		}
	}
	if err := checkSet(m.Type, has); err != nil {
		return m, err
	}
	if m.Gateway != "" && m.Gateway == m.Name {
		return m, errGatewayName
	}
	return m, nil
}

// errGatewayName refuses a hello that names its sender as the gateway of
// itself: the receiver would dial the gateway by that name and be
// answered with the same hello again.
var errGatewayName = errors.New("ovpn hello: gateway is the hello's own name; a published name's gateway is another endpoint")

var (
	errLen  = errors.New("wrong length")
	errZero = errors.New("zero")
)

// parseAttr decodes one attribute's value v into m.
func (m *Msg) parseAttr(code byte, v []byte) error {
	switch code {
	case attrMode:
		if len(v) != 1 {
			return errLen
		}
		if m.Mode = Mode(v[0]); m.Mode != Tun && m.Mode != Tap {
			return fmt.Errorf("%v is neither tun nor tap", m.Mode)
		}
	case attrMTU, attrLease:
		if len(v) != 4 {
			return errLen
		}
		x := binary.BigEndian.Uint32(v)
		if x == 0 {
			return errZero
		}
		if code == attrMTU {
			m.MTU = x
		} else {
			m.Lease = time.Duration(x) * time.Second
		}
	case attrWant:
		if len(v) != 1 {
			return errLen
		}
		// Unknown bits are a later version's families: not ours to grant.
		if m.Want = Want(v[0]) & wantAll; m.Want == 0 {
			return errors.New("asks for no family this end knows")
		}
	case attrCookie:
		if len(v) != 8 {
			return errLen
		}
		if m.Cookie = binary.BigEndian.Uint64(v); m.Cookie == 0 {
			return errZero
		}
	case attrReason:
		if len(v) == 0 || len(v) > MaxReason || !utf8.Valid(v) {
			return fmt.Errorf("not UTF-8 of 1 to %d bytes", MaxReason)
		}
		m.Reason = string(v)
	case attrPeerName, attrGateway:
		if len(v) == 0 || len(v) > MaxName || !utf8.Valid(v) {
			return fmt.Errorf("not UTF-8 of 1 to %d bytes", MaxName)
		}
		if code == attrGateway {
			m.Gateway = string(v)
		} else {
			m.Name = string(v)
		}
	case attrAddress, attrRoute:
		l := &m.Addrs
		if code == attrRoute {
			l = &m.Routes
		}
		if len(*l) == MaxPrefixes {
			return fmt.Errorf("more than %d", MaxPrefixes)
		}
		p, err := parsePrefix(v)
		if err != nil {
			return err
		}
		*l = append(*l, p)
	}
	return nil
}

// parsePrefix decodes family, bits and address.
func parsePrefix(v []byte) (netip.Prefix, error) {
	var a netip.Addr
	if len(v) < 2 {
		return netip.Prefix{}, errLen
	}
	switch {
	case len(v) == 6 && v[0] == 4:
		a = netip.AddrFrom4([4]byte(v[2:]))
	case len(v) == 18 && v[0] == 6:
		a = netip.AddrFrom16([16]byte(v[2:]))
	default:
		return netip.Prefix{}, fmt.Errorf("%d bytes of family %d: want 6 of family 4 or 18 of family 6", len(v), v[0])
	}
	if int(v[1]) > a.BitLen() {
		return netip.Prefix{}, fmt.Errorf("length %d longer than the %d-bit address", v[1], a.BitLen())
	}
	return netip.PrefixFrom(a, int(v[1])), nil
}
