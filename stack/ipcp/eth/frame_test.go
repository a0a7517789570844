package eth

import (
	"bytes"
	"encoding/binary"
	"testing"
)

var (
	macA = MAC{0x02, 0, 0, 0, 0, 0xa}
	macB = MAC{0x02, 0, 0, 0, 0, 0xb}
	dix  = framing{ethertype: DefaultEthertype}
	llc  = framing{llc: true}
)

// frame builds a whole frame as put writes it, padded to min bytes.
func frame(f framing, dst, src MAC, payload []byte, min int) []byte {
	b := make([]byte, f.header(), max(min, f.header()+len(payload)))
	f.put(b, dst, src, len(payload))
	b = append(b, payload...)
	return b[:cap(b)]
}

// parseFrame parses a whole frame as conn does: the header slot, then the
// rest.
func parseFrame(f framing, b []byte) ([]byte, verdict) {
	h := make([]byte, f.header())
	copy(h, b)
	n, v := f.parse(h, len(b))
	if v != frameOK {
		return nil, v
	}
	return b[f.header() : f.header()+n], v
}

func TestFrameLayout(t *testing.T) {
	p := []byte{0, 0, 0, 7, 'h', 'i'}
	got := frame(dix, macB, macA, p, 0)
	want := append([]byte{0x02, 0, 0, 0, 0, 0xb, 0x02, 0, 0, 0, 0, 0xa, 0xA0, 0x00, 0, 6}, p...)
	if !bytes.Equal(got, want) {
		t.Errorf("dix frame\n got % x\nwant % x", got, want)
	}
	got = frame(llc, broadcastMAC(), macA, p, 0)
	want = append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0xa, 0, 9, 0x7A, 0x7A, 0x03}, p...)
	if !bytes.Equal(got, want) {
		t.Errorf("llc frame\n got % x\nwant % x", got, want)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range []framing{dix, llc, {ethertype: 0x88B5}} {
		for _, n := range []int{0, 1, 4, 41, 42, 43, 100, f.payloadMTU(1500)} {
			p := bytes.Repeat([]byte{0x5a}, n)
			// Short frames come padded to 60 bytes: the length cuts it off.
			b := frame(f, macB, macA, p, 60)
			got, v := parseFrame(f, b)
			if v != frameOK || !bytes.Equal(got, p) {
				t.Errorf("%+v n=%d: got %d bytes, verdict %d", f, n, len(got), v)
			}
			if len(b) > ethHeader+1500 {
				t.Errorf("%+v n=%d: frame of %d bytes exceeds a 1500-byte MTU", f, n, len(b))
			}
		}
	}
}

func TestFrameRejects(t *testing.T) {
	p := []byte{0, 0, 0, 1, 'x'}
	good := func(f framing) []byte { return frame(f, macB, macA, p, 0) }
	set := func(b []byte, i int, v ...byte) []byte { copy(b[i:], v); return b }
	tests := []struct {
		name string
		f    framing
		b    []byte
		want verdict
	}{
		{"dix empty", dix, nil, frameOther},
		{"dix runt", dix, good(dix)[:ethHeader], frameOther},
		{"dix other type", dix, set(good(dix), 12, 0x08, 0x00), frameOther},
		{"dix no length", dix, good(dix)[:ethHeader+1], frameBad},
		{"dix length past end", dix, set(good(dix), 14, 0, 6), frameBad},
		{"dix length huge", dix, set(good(dix), 14, 0xff, 0xff), frameBad},
		{"dix truncated", dix, good(dix)[:dixHeader+2], frameBad},
		{"llc runt", llc, good(llc)[:ethHeader], frameOther},
		{"llc ethernet II", llc, set(good(llc), 12, 0x08, 0x00), frameOther},
		{"llc other sap", llc, set(good(llc), 14, 0x42), frameOther},
		{"llc group sap", llc, set(good(llc), 14, 0x7B), frameOther},
		{"llc no ssap", llc, good(llc)[:ethHeader+1], frameBad},
		{"llc wrong ssap", llc, set(good(llc), 15, 0x42), frameBad},
		{"llc not UI", llc, set(good(llc), 16, 0xE3), frameBad},
		{"llc length short", llc, set(good(llc), 12, 0, 2), frameBad},
		{"llc length past end", llc, set(good(llc), 12, 0, 9), frameBad},
		{"llc length undefined", llc, set(append(good(llc), make([]byte, 1600)...), 12, 0x05, 0xDD), frameBad},
	}
	for _, tt := range tests {
		if _, v := parseFrame(tt.f, tt.b); v != tt.want {
			t.Errorf("%s: verdict %d, want %d", tt.name, v, tt.want)
		}
	}
	// A response (C/R bit set in the SSAP) is accepted.
	if _, v := parseFrame(llc, set(good(llc), 15, SAP|1)); v != frameOK {
		t.Errorf("llc response: verdict %d", v)
	}
}

func TestPayloadMTU(t *testing.T) {
	tests := []struct {
		f          framing
		ifMTU, mtu int
	}{
		{dix, 1500, 1498},
		{dix, 9000, 8998},
		{dix, 68, 66},
		{dix, 65535, 65533},
		{dix, 70000, 65533}, // the length field is 16 bits
		{llc, 1500, 1497},
		{llc, 9000, 1497}, // the 802.3 length stops at 1500
		{llc, 576, 573},
	}
	for _, tt := range tests {
		if got := tt.f.payloadMTU(tt.ifMTU); got != tt.mtu {
			t.Errorf("llc=%v MTU %d: payload %d, want %d", tt.f.llc, tt.ifMTU, got, tt.mtu)
		}
		// The largest frame fits the interface and its length field.
		n := tt.f.payloadMTU(tt.ifMTU)
		h := make([]byte, maxHeader)
		tt.f.put(h, macA, macB, n)
		if got, v := tt.f.parse(h[:tt.f.header()], tt.f.header()+n); v != frameOK || got != n {
			t.Errorf("llc=%v MTU %d: a full frame parses as %d, %d", tt.f.llc, tt.ifMTU, got, v)
		}
	}
	if err := checkMTU("x", dix, 161); err == nil {
		t.Error("MTU 161 accepted for eth-dix")
	}
	if err := checkMTU("x", dix, 162); err != nil {
		t.Errorf("MTU 162 refused for eth-dix: %v", err)
	}
	if err := checkMTU("x", llc, 162); err == nil {
		t.Error("MTU 162 accepted for eth-llc")
	}
	if err := checkMTU("x", llc, 163); err != nil {
		t.Errorf("MTU 163 refused for eth-llc: %v", err)
	}
}

func TestMACString(t *testing.T) {
	if got := (MAC{0x02, 0xab, 0, 1, 0xcd, 0xff}).String(); got != "02:ab:00:01:cd:ff" {
		t.Errorf("got %q", got)
	}
}

// FuzzParse checks that no frame panics the parser, that an OK payload
// lies within the frame, that bytes past the frame's end do not matter,
// and that what parses is what put would have written.
func FuzzParse(f *testing.F) {
	f.Add(false, frame(dix, macB, macA, []byte{0, 0, 0, 0, 1, 5, 3}, 60))
	f.Add(true, frame(llc, macB, macA, []byte{0, 0, 0, 9, 1}, 0))
	f.Add(true, []byte{1, 2})
	f.Fuzz(func(t *testing.T, isLLC bool, b []byte) {
		fr := framing{llc: isLLC, ethertype: DefaultEthertype}
		h := bytes.Repeat([]byte{0xEE}, fr.header())
		copy(h, b)
		n, v := fr.parse(h, len(b))
		h2 := bytes.Repeat([]byte{0x11}, fr.header())
		copy(h2, b)
		if n2, v2 := fr.parse(h2, len(b)); n2 != n || v2 != v {
			t.Fatalf("bytes past the frame changed the verdict: %d,%d vs %d,%d", n, v, n2, v2)
		}
		if v != frameOK {
			return
		}
		if n < 0 || fr.header()+n > len(b) {
			t.Fatalf("payload of %d bytes in a frame of %d", n, len(b))
		}
		w := make([]byte, fr.header())
		fr.put(w, MAC(b[0:6]), MAC(b[6:12]), n)
		if isLLC {
			w[15] |= b[15] & 1 // the command/response bit is not ours to set
		}
		if !bytes.Equal(w, b[:fr.header()]) {
			t.Fatalf("header % x parses, put writes % x", b[:fr.header()], w)
		}
		if !isLLC && binary.BigEndian.Uint16(b[14:]) != uint16(n) {
			t.Fatalf("length mismatch")
		}
	})
}
