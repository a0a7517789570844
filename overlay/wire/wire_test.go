package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		sdu  []byte
		want Kind
	}{
		{nil, Invalid},
		{[]byte{0x00, 1, 1}, Control},
		{[]byte{0x01, 0xff}, Ethernet},
		{[]byte{0x45, 0}, IPv4},
		{[]byte{0x4f}, IPv4},
		{[]byte{0x60, 0}, IPv6},
		{[]byte{0x6f}, IPv6},
		{[]byte{0x02}, Invalid},
		{[]byte{0x50}, Invalid},
		{[]byte{0xff}, Invalid},
	} {
		if got := Classify(c.sdu); got != c.want {
			t.Errorf("Classify(% x) = %v, want %v", c.sdu, got, c.want)
		}
	}
}

// messages is one of each kind, as the engine sends them.
var messages = []Msg{
	{Type: Hello, Name: "gw.site-a", Mode: Tun, MTU: 1420, Addrs: pfx("10.77.0.1/24", "fd77::1/64"), Routes: pfx("10.2.0.0/24", "fd02::/48")},
	{Type: Hello, Name: "b", Mode: Tap},
	{Type: Hello, Name: "laptop.alice", Mode: Tun, Want: WantIPv4 | WantIPv6},
	{Type: Hello, Name: "ünï", Mode: Tun, Addrs: pfx("::ffff:10.0.0.1/128")},
	{Type: Hello, Name: "web.site-b", Mode: Tun, Addrs: pfx("10.2.0.5/32", "fd02::5/128"), Gateway: "gw.site-b"},
	{Type: Hello, Name: "ü", Mode: Tun, Gateway: strings.Repeat("g", MaxName)},
	{Type: Grant, Addrs: pfx("10.77.0.130/25", "fd77::82/64"), Lease: 24 * time.Hour},
	{Type: Refuse, Reason: "pool 10.77.0.128/25 exhausted"},
	{Type: Echo, Cookie: 0x0102030405060708},
	{Type: Reply, Cookie: 1},
}

func TestRoundTrip(t *testing.T) {
	for _, m := range messages {
		b, err := Append([]byte("prefix"), &m)
		if err != nil {
			t.Fatalf("Append(%+v): %v", m, err)
		}
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("Append did not append")
		}
		b = b[len("prefix"):]
		if Classify(b) != Control {
			t.Errorf("encoded %v classified as %v", m.Type, Classify(b))
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Append(%+v)): %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
	}
}

// TestEncoding pins the bytes of one message, so that a change of the
// format is seen.
func TestEncoding(t *testing.T) {
	b, err := Append(nil, &Msg{Type: Hello, Name: "a", Mode: Tun, MTU: 1420, Addrs: pfx("10.77.0.1/24"), Want: WantIPv6})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x00, 1, 1, // control, version 1, hello
		9, 0, 1, 'a', // name "a"
		1, 0, 1, 1, // mode: tun
		2, 0, 4, 0, 0, 0x05, 0x8c, // mtu 1420
		3, 0, 6, 4, 24, 10, 77, 0, 1, // address 10.77.0.1/24
		5, 0, 1, 2, // want IPv6
	}
	if !bytes.Equal(b, want) {
		t.Errorf("encoded\n% x\nwant\n% x", b, want)
	}
	b, err = Append(nil, &Msg{Type: Hello, Name: "w", Mode: Tun, Addrs: pfx("10.2.0.5/32"), Gateway: "g"})
	if err != nil {
		t.Fatal(err)
	}
	want = []byte{
		0x00, 1, 1, // control, version 1, hello
		9, 0, 1, 'w', // name "w"
		1, 0, 1, 1, // mode: tun
		3, 0, 6, 4, 32, 10, 2, 0, 5, // address 10.2.0.5/32
		0x81, 0, 1, 'g', // gateway "g"
	}
	if !bytes.Equal(b, want) {
		t.Errorf("encoded with a gateway\n% x\nwant\n% x", b, want)
	}
}

func TestAppendRefuses(t *testing.T) {
	for _, c := range []struct {
		m    Msg
		want string
	}{
		{Msg{Type: 9}, "unknown type 9"},
		{Msg{Type: Hello}, "lacks mode"},
		{Msg{Type: Hello, Name: "n", Mode: 3}, "neither tun nor tap"},
		{Msg{Type: Hello, Mode: Tun}, "lacks name"},
		{Msg{Type: Hello, Name: strings.Repeat("n", 256), Mode: Tun}, "name is not UTF-8 of at most 255"},
		{Msg{Type: Hello, Name: "\xff", Mode: Tun}, "name is not UTF-8"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Lease: time.Hour}, "carries lease"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Want: 4}, "unknown bits"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Addrs: []netip.Prefix{{}}}, "invalid prefix"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Routes: make([]netip.Prefix, MaxPrefixes+1)}, "at most 255"},
		{Msg{Type: Grant, Lease: time.Hour}, "lacks addresses"},
		{Msg{Type: Grant, Addrs: pfx("10.0.0.1/24")}, "lacks lease"},
		{Msg{Type: Grant, Addrs: pfx("10.0.0.1/24"), Lease: time.Millisecond}, "not between"},
		{Msg{Type: Grant, Addrs: pfx("10.0.0.1/24"), Lease: time.Hour, Routes: pfx("10.0.0.0/8")}, "carries routes"},
		{Msg{Type: Refuse}, "lacks reason"},
		{Msg{Type: Refuse, Reason: strings.Repeat("x", 256)}, "at most 255"},
		{Msg{Type: Refuse, Reason: "\xff"}, "not UTF-8"},
		{Msg{Type: Echo}, "lacks cookie"},
		{Msg{Type: Reply, Cookie: 1, Reason: "x"}, "carries reason"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Cookie: 1}, "carries cookie"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Gateway: strings.Repeat("g", 256)}, "gateway is not UTF-8 of at most 255"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Gateway: "g\xff"}, "gateway is not UTF-8"},
		{Msg{Type: Hello, Name: "n", Mode: Tun, Gateway: "n"}, "gateway is the hello's own name"},
		{Msg{Type: Grant, Addrs: pfx("10.0.0.1/24"), Lease: time.Hour, Gateway: "g"}, "carries gateway"},
		{Msg{Type: Refuse, Reason: "x", Gateway: "g"}, "carries gateway"},
	} {
		b, err := Append([]byte{7}, &c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Append(%+v) = %v, want error containing %q", c.m, err, c.want)
		}
		if len(b) != 1 {
			t.Errorf("failed Append changed b: % x", b)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	hello := []byte{0, 1, 1, 9, 0, 1, 'n', 1, 0, 1, 1}
	with := func(tail ...byte) []byte { return append(append([]byte{}, hello...), tail...) }
	for _, c := range []struct {
		name string
		sdu  []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"short header", []byte{0, 1}, "shorter than"},
		{"not control", []byte{0x45, 1, 1}, "not the control tag"},
		{"unknown type", []byte{0, 1, 0}, "unknown type 0"},
		{"no mode", []byte{0, 1, 1}, "lacks mode"},
		{"no name", []byte{0, 1, 1, 1, 0, 1, 1}, "lacks name"},
		{"name empty", []byte{0, 1, 1, 1, 0, 1, 1, 9, 0, 0}, "name: not UTF-8"},
		{"name not utf8", []byte{0, 1, 1, 1, 0, 1, 1, 9, 0, 1, 0xff}, "name: not UTF-8"},
		{"name twice", with(9, 0, 1, 'm'), "name given twice"},
		{"short attr header", with(2, 0), "too few"},
		{"attr overruns", with(2, 0, 4, 0, 0), "says 4 bytes, 2 left"},
		{"unknown attr", with(10, 0, 0), "unknown attribute 10"},
		{"zero attr", with(0, 0, 0), "unknown attribute 0"},
		{"mode twice", with(1, 0, 1, 2), "mode given twice"},
		{"bad mode", []byte{0, 1, 1, 1, 0, 1, 7}, "neither tun nor tap"},
		{"mode len", []byte{0, 1, 1, 1, 0, 2, 1, 1}, "wrong length"},
		{"mtu zero", with(2, 0, 4, 0, 0, 0, 0), "zero"},
		{"mtu short", with(2, 0, 2, 5, 0x8c), "wrong length"},
		{"want nothing known", with(5, 0, 1, 0x80), "no family"},
		{"prefix empty", with(3, 0, 0), "wrong length"},
		{"prefix family", with(3, 0, 6, 5, 24, 10, 0, 0, 1), "family 5"},
		{"prefix v4 as 18", with(3, 0, 18, 4, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), "18 bytes of family 4"},
		{"prefix too long", with(4, 0, 6, 4, 33, 10, 0, 0, 0), "longer than the 32-bit"},
		{"lease in hello", with(6, 0, 4, 0, 0, 0, 1), "carries lease"},
		{"grant no lease", []byte{0, 1, 2, 3, 0, 6, 4, 32, 10, 0, 0, 1}, "lacks lease"},
		{"reason not utf8", []byte{0, 1, 3, 7, 0, 1, 0xff}, "not UTF-8"},
		{"reason empty", []byte{0, 1, 3, 7, 0, 0}, "not UTF-8"},
		{"cookie zero", []byte{0, 1, 4, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0}, "zero"},
		{"cookie short", []byte{0, 1, 5, 8, 0, 4, 0, 0, 0, 1}, "wrong length"},
		{"echo no cookie", []byte{0, 1, 4}, "lacks cookie"},
		{"unknown attr 10", []byte{0, 1, 4, 10, 0, 0}, "unknown attribute 10"},
		{"name in echo", []byte{0, 1, 4, 9, 0, 1, 'n', 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}, "carries name"},
		{"type 6", []byte{0, 1, 6}, "unknown type 6"},
		{"gateway empty", with(0x81, 0, 0), "gateway: not UTF-8 of 1 to 255"},
		{"gateway not utf8", with(0x81, 0, 1, 0xff), "gateway: not UTF-8"},
		{"gateway twice", with(0x81, 0, 1, 'g', 0x81, 0, 1, 'h'), "gateway given twice"},
		{"gateway is name", with(0x81, 0, 1, 'n'), "gateway is the hello's own name"},
		{"gateway too long", with(append([]byte{0x81, 1, 0}, bytes.Repeat([]byte{'g'}, 256)...)...), "gateway: not UTF-8 of 1 to 255"},
		{"gateway in echo", []byte{0, 1, 4, 0x81, 0, 1, 'g', 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1}, "carries gateway"},
		{"gateway in grant", []byte{0, 1, 2, 3, 0, 6, 4, 32, 10, 0, 0, 1, 6, 0, 4, 0, 0, 0, 1, 0x81, 0, 1, 'g'}, "carries gateway"},
	} {
		_, err := Parse(c.sdu)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Parse(% x) = %v, want error containing %q", c.name, c.sdu, err, c.want)
		}
	}
	if _, err := Parse([]byte{0, 2, 1}); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "version 2, this end speaks 1") {
		t.Errorf("Parse of version 2 = %v, want ErrVersion naming both versions", err)
	}
}

// TestParseLimits checks the bound on prefixes per list.
func TestParseLimits(t *testing.T) {
	b := []byte{0, 1, 1, 9, 0, 1, 'n', 1, 0, 1, 1}
	for range MaxPrefixes {
		b = append(b, 4, 0, 6, 4, 32, 10, 0, 0, 1)
	}
	if _, err := Parse(b); err != nil {
		t.Fatalf("Parse of %d routes: %v", MaxPrefixes, err)
	}
	b = append(b, 4, 0, 6, 4, 32, 10, 0, 0, 1)
	if _, err := Parse(b); err == nil || !strings.Contains(err.Error(), "more than 255") {
		t.Errorf("Parse of %d routes = %v, want a refusal", MaxPrefixes+1, err)
	}
}

// TestParseSkipsOptional checks forward compatibility: an attribute from
// 0x80 up that this version does not know is skipped, as are unknown want
// bits.
func TestParseSkipsOptional(t *testing.T) {
	m, err := Parse([]byte{0, 1, 1, 0x90, 0, 2, 0xde, 0xad, 1, 0, 1, 2, 5, 0, 1, 0x83, 9, 0, 1, 'n'})
	if err != nil {
		t.Fatal(err)
	}
	if m.Mode != Tap || m.Want != WantIPv4|WantIPv6 {
		t.Errorf("Parse = %+v, want tap, want both", m)
	}
}

func TestParseDoesNotAlias(t *testing.T) {
	b, err := Append(nil, &Msg{Type: Refuse, Reason: "bye"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if m.Reason != "bye" {
		t.Errorf("message changed with its buffer: %q", m.Reason)
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// encodes and decodes to the same message.
func FuzzParse(f *testing.F) {
	for _, m := range messages {
		b, err := Append(nil, &m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 1, 1, 0x90, 0, 2, 0xde, 0xad, 1, 0, 1, 2, 9, 0, 1, 'n'})
	f.Add([]byte{0, 2, 1})
	f.Add([]byte{0, 1, 1, 9, 0, 1, 'n', 1, 0, 1, 1, 0x81, 0, 1, 'g'})
	f.Add([]byte{0, 1, 1, 9, 0, 1, 'n', 1, 0, 1, 1, 0x81, 0, 1, 'n'})
	f.Add([]byte{0, 1, 4, 0x81, 0, 1, 'g', 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		enc, err := Append(nil, &m)
		if err != nil {
			t.Fatalf("Parse accepted % x as %+v, which Append refuses: %v", b, m, err)
		}
		m2, err := Parse(enc)
		if err != nil {
			t.Fatalf("Parse(Append(%+v)): %v", m, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip of % x:\n got %+v\nwant %+v", b, m2, m)
		}
	})
}
