package frct

import (
	"errors"
	"io"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/qos"
)

// A reliable receiver takes a FIN as the orderly end only once it has every
// SDU before it; a FIN that runs ahead of missing data is ignored, counted,
// and not answered, so the closer resends it.
func TestFinNeedsEverySDUBeforeIt(t *testing.T) {
	c := newConn(nullLower{}, Config{QoS: qos.Data, Window: 64, MTU: 2048, Seed: 1})
	pdu := func(h Header, sdu string) []byte {
		b := make([]byte, h.Len()+len(sdu))
		copy(b[h.Encode(b):], sdu)
		return b
	}
	input := func(b []byte) [][]byte {
		c.mu.Lock()
		defer c.mu.Unlock()
		out, _ := c.inputLocked([][]byte{b}, []int{len(b)}, time.Now(), make([][]byte, 0, 8), new(ctlBufs))
		return out
	}
	input(pdu(Header{Flags: FlagData | FlagDRF, Seqno: 100, Start: 100}, "a"))
	if out := input(pdu(Header{Flags: FlagFIN, Seqno: 102}, "")); hasFin(out) {
		t.Fatal("a FIN past a missing SDU was answered")
	}
	if c.Err() != nil || c.Stats().FinEarly != 1 {
		t.Fatalf("after an early FIN: err %v, FinEarly %d; want the Conn running, 1", c.Err(), c.Stats().FinEarly)
	}
	input(pdu(Header{Flags: FlagData, Seqno: 101}, "b"))
	if out := input(pdu(Header{Flags: FlagFIN, Seqno: 102}, "")); !hasFin(out) {
		t.Fatal("the FIN after every SDU was not answered")
	}
	if err := c.Err(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the FIN: %v, want io.EOF", err)
	}
	buf := make([]byte, 10)
	for _, want := range []string{"a", "b"} {
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}
	if _, err := c.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the last SDU: %v, want io.EOF", err)
	}
	// A resent FIN (our answer was lost) is answered again.
	if out := input(pdu(Header{Flags: FlagFIN, Seqno: 102}, "")); !hasFin(out) {
		t.Fatal("a resent FIN was not answered")
	}
}

func hasFin(pdus [][]byte) bool {
	for _, p := range pdus {
		var h Header
		if _, err := h.Decode(p); err == nil && h.Flags&FlagFIN != 0 {
			return true
		}
	}
	return false
}
