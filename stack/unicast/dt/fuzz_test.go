package dt

import (
	"bytes"
	"testing"

	"o7s.dev/ouroboros/stack/qos"
)

// FuzzParseHeader feeds arbitrary bytes to Parse for both address sizes
// (the first byte picks one): it must never panic, and whatever it accepts
// must encode back to the same bytes.
func FuzzParseHeader(f *testing.F) {
	for _, size := range []int{4, 8} {
		c, _ := NewCodec(size)
		for _, h := range []Header{
			{Dst: 1, Cube: qos.CubeBE, TTL: DefaultTTL, EID: EIDDirectory},
			{Dst: 0xdeadbeef, Cube: qos.CubeVoice, TTL: 1, ECN: 200, EID: 1 << 40},
		} {
			b := make([]byte, 1+c.Len()+2)
			b[0] = byte(size)
			c.Put(b[1:], h)
			f.Add(b)
		}
	}
	f.Add([]byte{4, 0, 0, 0, 0})
	f.Add([]byte{8, 1, 2, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		size := 4
		if in[0]&8 != 0 {
			size = 8
		}
		c, err := NewCodec(size)
		if err != nil {
			t.Fatal(err)
		}
		b := in[1:]
		h, err := c.Parse(b)
		if err != nil {
			return
		}
		if c.CheckDst(h.Dst) != nil || h.Cube > qos.CubeVoice {
			t.Fatalf("Parse accepted %+v", h)
		}
		out := make([]byte, c.Len())
		c.Put(out, h)
		if !bytes.Equal(out, b[:c.Len()]) {
			t.Fatalf("re-encoding % x gives % x", b[:c.Len()], out)
		}
	})
}
