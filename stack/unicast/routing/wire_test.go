package routing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// sampleLSUs are valid LSUs covering the edges of the format.
func sampleLSUs() []LSU {
	many := LSU{Origin: 1, NodeID: 2, Seq: 3}
	for i := range MaxLinks {
		many.Links = append(many.Links, Link{Neighbour: addr.Addr(i + 2), Metric: uint16(i%7 + 1)})
	}
	return []LSU{
		{Origin: 1},
		{Origin: 0x0102030405060708, NodeID: 0x1112131415161718, Seq: 0x2122232425262728,
			Links: []Link{{Neighbour: 0x3132333435363738, Metric: 0x4142}}},
		{Origin: 5, NodeID: 9, Seq: 1 << 62, Links: []Link{{1, 1}, {2, 65535}, {^addr.Addr(0), 3}}},
		many,
	}
}

func TestLSUWireLayout(t *testing.T) {
	u := sampleLSUs()[1]
	b, err := u.AppendBinary([]byte{0xee})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xee, 1, 1, 0, 1,
		1, 2, 3, 4, 5, 6, 7, 8,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
		0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x41, 0x42}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding\n got %x\nwant %x", b, want)
	}
}

func TestLSURoundTrip(t *testing.T) {
	for _, u := range sampleLSUs() {
		b, err := u.AppendBinary(nil)
		if err != nil {
			t.Fatalf("encoding %v: %v", u.Origin, err)
		}
		if len(b) != LSUHeaderLen+len(u.Links)*LinkLen || len(b) > MaxLSULen {
			t.Fatalf("%d links encode to %d bytes", len(u.Links), len(b))
		}
		if typ, err := MessageType(b); err != nil || typ != TypeLSU {
			t.Fatalf("MessageType = %d, %v", typ, err)
		}
		got, err := ParseLSU(b)
		if err != nil {
			t.Fatalf("parsing %v: %v", u.Origin, err)
		}
		if !reflect.DeepEqual(got, u) {
			t.Fatalf("round trip of %v: got %+v", u.Origin, got)
		}
		b[LSUHeaderLen-1] ^= 0xff // the parsed LSU must not alias b
		if len(b) > LSUHeaderLen {
			b[len(b)-1] ^= 0xff
		}
		if !reflect.DeepEqual(got, u) {
			t.Fatal("parsed LSU aliases its input")
		}
	}
}

// lsuBytes encodes an LSU field by field, valid or not.
func lsuBytes(version, typ byte, count uint16, origin uint64, links ...Link) []byte {
	b := []byte{version, typ}
	b = binary.BigEndian.AppendUint16(b, count)
	b = binary.BigEndian.AppendUint64(b, origin)
	b = binary.BigEndian.AppendUint64(b, 7)
	b = binary.BigEndian.AppendUint64(b, 8)
	for _, l := range links {
		b = binary.BigEndian.AppendUint64(b, uint64(l.Neighbour))
		b = binary.BigEndian.AppendUint16(b, l.Metric)
	}
	return b
}

func TestParseLSURejects(t *testing.T) {
	valid := lsuBytes(1, 1, 2, 10, Link{3, 1}, Link{4, 2})
	if _, err := ParseLSU(valid); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	// The count is checked before the length: this one is the right length.
	tooMany := append(lsuBytes(1, 1, MaxLinks+1, 10), make([]byte, (MaxLinks+1)*LinkLen)...)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"header cut", valid[:LSUHeaderLen-1], ErrShort},
		{"link cut", valid[:len(valid)-1], ErrLength},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrLength},
		{"count says more", lsuBytes(1, 1, 3, 10, Link{3, 1}, Link{4, 2}), ErrLength},
		{"count says less", lsuBytes(1, 1, 1, 10, Link{3, 1}, Link{4, 2}), ErrLength},
		{"version 0", lsuBytes(0, 1, 0, 10), ErrVersion},
		{"version 2", lsuBytes(2, 1, 0, 10), ErrVersion},
		{"hello type", lsuBytes(1, 2, 0, 10), ErrType},
		{"unknown type", lsuBytes(1, 9, 0, 10), ErrType},
		{"origin 0", lsuBytes(1, 1, 0, 0), ErrOrigin},
		{"too many links", tooMany, ErrTooManyLinks},
		{"unsorted", lsuBytes(1, 1, 2, 10, Link{4, 1}, Link{3, 1}), ErrLinkOrder},
		{"duplicate", lsuBytes(1, 1, 2, 10, Link{4, 1}, Link{4, 2}), ErrLinkOrder},
		{"metric 0", lsuBytes(1, 1, 1, 10, Link{4, 0}), ErrMetric},
		{"neighbour 0", lsuBytes(1, 1, 1, 10, Link{0, 1}), ErrNeighbour},
		{"neighbour self", lsuBytes(1, 1, 2, 10, Link{3, 1}, Link{10, 1}), ErrNeighbour},
	} {
		u, err := ParseLSU(tc.b)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %+v, %v; want %v", tc.name, u, err, tc.want)
		}
	}
}

func TestAppendLSURejects(t *testing.T) {
	tooMany := LSU{Origin: 1, Links: make([]Link, MaxLinks+1)}
	for i := range tooMany.Links {
		tooMany.Links[i] = Link{addr.Addr(i + 2), 1}
	}
	for _, tc := range []struct {
		u    LSU
		want error
	}{
		{LSU{}, ErrOrigin},
		{tooMany, ErrTooManyLinks},
		{LSU{Origin: 1, Links: []Link{{3, 1}, {2, 1}}}, ErrLinkOrder},
		{LSU{Origin: 1, Links: []Link{{2, 1}, {2, 1}}}, ErrLinkOrder},
		{LSU{Origin: 1, Links: []Link{{2, 0}}}, ErrMetric},
		{LSU{Origin: 1, Links: []Link{{0, 1}}}, ErrNeighbour},
		{LSU{Origin: 1, Links: []Link{{1, 1}}}, ErrNeighbour},
	} {
		b, err := tc.u.AppendBinary([]byte{9})
		if !errors.Is(err, tc.want) || !bytes.Equal(b, []byte{9}) {
			t.Errorf("encoding %+v: got %x, %v; want %v and b untouched", tc.u, b, err, tc.want)
		}
	}
}

func TestMessageType(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		typ  byte
		want error
	}{
		{nil, 0, ErrShort},
		{[]byte{1}, 0, ErrShort},
		{[]byte{1, 1}, TypeLSU, nil},
		{[]byte{1, 2, 0xff}, 0, ErrType},
		{[]byte{0, 1}, 0, ErrVersion},
		{[]byte{1, 0}, 0, ErrType},
		{[]byte{1, 3}, 0, ErrType},
	} {
		typ, err := MessageType(tc.b)
		if typ != tc.typ || !errors.Is(err, tc.want) {
			t.Errorf("MessageType(%x) = %d, %v; want %d, %v", tc.b, typ, err, tc.typ, tc.want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{LinkState, LFA, ECMP} {
		if got, err := ParsePolicy(string(p)); got != p || err != nil {
			t.Errorf("ParsePolicy(%q) = %q, %v", p, got, err)
		}
	}
	for _, s := range []string{"", "LFA", "ospf", "link-state"} {
		if got, err := ParsePolicy(s); err == nil {
			t.Errorf("ParsePolicy(%q) = %q, want an error", s, got)
		}
	}
}
