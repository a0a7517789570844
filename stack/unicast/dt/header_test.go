package dt

import (
	"bytes"
	"errors"
	"testing"

	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/unicast/addr"
)

func mustCodec(t testing.TB, size int) Codec {
	t.Helper()
	c, err := NewCodec(size)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHeaderWireLayout(t *testing.T) {
	h := Header{Dst: 0x0a0b0c0d, Cube: qos.CubeVoice, TTL: 60, ECN: 3, EID: 0x0102030405060708}
	c := mustCodec(t, 4)
	if c.Len() != 15 {
		t.Fatalf("Len = %d, want 15", c.Len())
	}
	b := make([]byte, c.Len())
	c.Put(b, h)
	want := []byte{0x0a, 0x0b, 0x0c, 0x0d, 2, 60, 3, 1, 2, 3, 4, 5, 6, 7, 8}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded % x, want % x", b, want)
	}
	if b[c.TTLOffset()] != 60 || b[c.ECNOffset()] != 3 || b[c.CubeOffset()] != 2 || b[c.EIDOffset()] != 1 {
		t.Fatal("offsets do not point at their fields")
	}

	c8 := mustCodec(t, 8)
	h.Dst = 0x1122334455667788
	b8 := make([]byte, c8.Len())
	c8.Put(b8, h)
	want8 := append([]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, want[4:]...)
	if !bytes.Equal(b8, want8) || c8.Len() != 19 {
		t.Fatalf("8-byte encoding % x (len %d), want % x", b8, c8.Len(), want8)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, size := range []int{4, 8} {
		c := mustCodec(t, size)
		for _, h := range []Header{
			{Dst: 1, Cube: qos.CubeBE, TTL: DefaultTTL, EID: EIDFlowAllocator},
			{Dst: addr.Max(size), Cube: qos.CubeVideo, TTL: 0, ECN: 255, EID: ^uint64(0)},
			{Dst: 0x42, Cube: qos.CubeVoice, TTL: 1, ECN: 7, EID: FirstFlowEID},
		} {
			b := make([]byte, c.Len()+5) // an SDU follows
			c.Put(b, h)
			got, err := c.Parse(b)
			if err != nil || got != h {
				t.Fatalf("size %d: Parse(Put(%+v)) = %+v, %v", size, h, got, err)
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	c := mustCodec(t, 4)
	good := make([]byte, c.Len())
	c.Put(good, Header{Dst: 9, Cube: qos.CubeBE, TTL: 5, EID: 70})
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"short", good[:c.Len()-1], ErrShort},
		{"cube 3", patch(good, c.CubeOffset(), 3), ErrCube},
		{"cube 255", patch(good, c.CubeOffset(), 255), ErrCube},
		{"dst 0", append([]byte{0, 0, 0, 0}, good[4:]...), ErrNoDst},
	} {
		if _, err := c.Parse(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := (Codec{}).Parse(good); err == nil {
		t.Error("zero Codec parsed a header")
	}
}

func patch(b []byte, off int, v byte) []byte {
	b = bytes.Clone(b)
	b[off] = v
	return b
}

func TestNewCodecSizes(t *testing.T) {
	for _, size := range []int{0, 1, 2, 3, 5, 16} {
		if _, err := NewCodec(size); err == nil {
			t.Errorf("NewCodec(%d) accepted", size)
		}
	}
}

func TestCheckDst(t *testing.T) {
	c := mustCodec(t, 4)
	if err := c.CheckDst(0); !errors.Is(err, ErrNoDst) {
		t.Errorf("CheckDst(0) = %v", err)
	}
	if err := c.CheckDst(1 << 32); !errors.Is(err, ErrDstSize) {
		t.Errorf("CheckDst(1<<32) = %v", err)
	}
	if err := c.CheckDst(0xffffffff); err != nil {
		t.Errorf("CheckDst(max) = %v", err)
	}
}

func TestPutPanicsOnProgrammerError(t *testing.T) {
	c := mustCodec(t, 4)
	for name, f := range map[string]func(){
		"short buffer":  func() { c.Put(make([]byte, c.Len()-1), Header{Dst: 1}) },
		"oversize addr": func() { c.Put(make([]byte, c.Len()), Header{Dst: 1 << 32}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Put did not panic", name)
				}
			}()
			f()
		}()
	}
}

func BenchmarkParse(b *testing.B) {
	c := mustCodec(b, 4)
	pkt := make([]byte, 1400)
	c.Put(pkt, Header{Dst: 7, Cube: qos.CubeVideo, TTL: 60, EID: 99})
	for b.Loop() {
		if _, err := c.Parse(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	c := mustCodec(b, 4)
	pkt := make([]byte, 1400)
	h := Header{Dst: 7, Cube: qos.CubeVideo, TTL: 60, EID: 99}
	for b.Loop() {
		c.Put(pkt, h)
	}
}

// TestHeaderNoAllocs: writing and parsing a header, what every PDU of the
// data path goes through at each hop, allocates nothing.
func TestHeaderNoAllocs(t *testing.T) {
	for _, size := range []int{4, 8} {
		c := mustCodec(t, size)
		pkt := make([]byte, 1400)
		h := Header{Dst: 7, Cube: qos.CubeVideo, TTL: 60, ECN: 1, EID: 99}
		var got Header
		var err error
		if n := testing.AllocsPerRun(1000, func() {
			c.Put(pkt, h)
			got, err = c.Parse(pkt)
		}); n != 0 {
			t.Errorf("%d-byte addresses: %v allocations per Put and Parse, want 0", size, n)
		}
		if err != nil || got != h {
			t.Errorf("%d-byte addresses: parsed %+v, %v; want %+v", size, got, err, h)
		}
	}
}
