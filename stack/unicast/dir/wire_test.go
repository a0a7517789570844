package dir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

func testKey(n int, seed byte) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

func addrs(n int, base addr.Addr) []addr.Addr {
	l := make([]addr.Addr, n)
	for i := range l {
		l[i] = base + addr.Addr(i)
	}
	return l
}

// sampleMessages are valid messages of every type, with lists at their
// bounds and empty.
func sampleMessages(hashLen int) []message {
	k := testKey(hashLen, 7)
	return []message{
		{typ: typeStore, sender: 1, key: k, cookie: 9, value: 1, lifetime: 86400},
		{typ: typeStore, sender: 2, key: k, value: 2},
		{typ: typeStore, sender: ^addr.Addr(0), key: k, cookie: 1, value: 5, lifetime: ^uint32(0)},
		{typ: typeStoreAck, sender: 3, key: k, cookie: 1 << 63},
		{typ: typeFindNode, sender: 4, key: k, cookie: 77},
		{typ: typeNodes, sender: 5, key: k, cookie: 77},
		{typ: typeNodes, sender: 5, key: k, cookie: 78, contacts: addrs(maxContacts, 100)},
		{typ: typeFindValue, sender: 6, key: k, cookie: 3},
		{typ: typeValue, sender: 7, key: k, cookie: 3, values: addrs(maxValues, 1)},
		{typ: typeValue, sender: 7, key: k, cookie: 4, contacts: addrs(maxContacts, 50)},
		{typ: typeValue, sender: 7, key: k, cookie: 5},
	}
}

func TestWireRoundTrip(t *testing.T) {
	for _, n := range []int{28, 32, 48, 64} {
		for _, m := range sampleMessages(n) {
			b := m.appendTo(nil)
			if len(b) > MaxMessage {
				t.Errorf("%d-byte message over MaxMessage %d", len(b), MaxMessage)
			}
			got, err := parseMessage(b, n)
			if err != nil {
				t.Fatalf("type %d, key %d: %v", m.typ, n, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
			}
		}
	}
}

func TestWireLayout(t *testing.T) {
	m := message{typ: typeStore, sender: 0x0102030405060708, key: testKey(28, 0xa0),
		cookie: 0x1112131415161718, value: 0x2122232425262728, lifetime: 0x31323334}
	b := m.appendTo(nil)
	want := []byte{Version, typeStore, 1, 2, 3, 4, 5, 6, 7, 8, 28}
	want = append(want, testKey(28, 0xa0)...)
	want = append(want, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x31, 0x32, 0x33, 0x34)
	if !bytes.Equal(b, want) {
		t.Fatalf("STORE encodes as\n%x\nwant\n%x", b, want)
	}
}

func TestWireRejects(t *testing.T) {
	const n = 32
	enc := func(m message) []byte { return m.appendTo(nil) }
	k := testKey(n, 1)
	valid := enc(message{typ: typeNodes, sender: 9, key: k, cookie: 5, contacts: addrs(2, 10)})
	set := func(b []byte, i int, v byte) []byte {
		c := bytes.Clone(b)
		c[i] = v
		return c
	}
	cookieAt := headerLen + n
	listAt := cookieAt + 8
	withList := func(typ byte, lists ...[]addr.Addr) []byte {
		b := enc(message{typ: typ, sender: 9, key: k, cookie: 5})
		b = b[:listAt]
		for _, l := range lists {
			b = append(b, byte(len(l)))
			for _, a := range l {
				b = binary.BigEndian.AppendUint64(b, uint64(a))
			}
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, errShort},
		{"header only", valid[:headerLen-1], errShort},
		{"version", set(valid, 0, 2), errVersion},
		{"sender 0", enc(message{typ: typeFindNode, key: k, cookie: 1}), errSender},
		{"short key", set(valid, 10, n-1), errKeyLen},
		{"long key", set(valid, 10, n+1), errKeyLen},
		{"unknown type", set(valid, 1, 0), errType},
		{"type 7", set(valid, 1, 7), errType},
		{"truncated key", valid[:headerLen+3], errShort},
		{"truncated cookie", valid[:cookieAt+4], errShort},
		{"truncated list", valid[:len(valid)-1], errShort},
		{"trailing byte", append(bytes.Clone(valid), 0), errTrailing},
		{"request cookie 0", enc(message{typ: typeFindValue, sender: 1, key: k}), errCookie},
		{"response cookie 0", enc(message{typ: typeStoreAck, sender: 1, key: k}), errCookie},
		{"store value 0", enc(message{typ: typeStore, sender: 1, key: k, cookie: 1, lifetime: 5}), errZeroAddr},
		{"store truncated", enc(message{typ: typeStore, sender: 1, key: k, value: 1})[:cookieAt+10], errShort},
		{"21 contacts", withList(typeNodes, addrs(21, 1)), errList},
		{"9 values", withList(typeValue, addrs(9, 1), nil), errList},
		{"contact 0", withList(typeNodes, []addr.Addr{4, 0}), errZeroAddr},
		{"repeated contact", withList(typeNodes, []addr.Addr{4, 5, 4}), errDuplicate},
		{"repeated value", withList(typeValue, []addr.Addr{4, 4}, nil), errDuplicate},
		{"values and contacts", withList(typeValue, []addr.Addr{1}, []addr.Addr{2}), errBoth},
		{"value without contact count", withList(typeValue, []addr.Addr{1}), errShort},
	} {
		_, err := parseMessage(tc.b, n)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzParseMessage checks that parsing never panics and that whatever
// parses encodes back to the same bytes: the format has one encoding per
// message.
func FuzzParseMessage(f *testing.F) {
	lens := []int{28, 32, 48, 64}
	for i, n := range lens {
		for _, m := range sampleMessages(n) {
			f.Add(uint8(i), m.appendTo(nil))
		}
	}
	f.Add(uint8(0), []byte{Version, typeNodes, 0, 0, 0, 0, 0, 0, 0, 1, 28})
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		n := lens[int(which)%len(lens)]
		m, err := parseMessage(b, n)
		if err != nil {
			return
		}
		if m.sender == addr.None || len(m.key) != n || len(m.values) > maxValues || len(m.contacts) > maxContacts {
			t.Fatalf("parsed out of bounds: %+v", m)
		}
		if out := m.appendTo(nil); !bytes.Equal(out, b) {
			t.Fatalf("re-encoding %x gives %x", b, out)
		}
	})
}
