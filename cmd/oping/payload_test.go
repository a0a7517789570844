package main

import (
	"bytes"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	b := make([]byte, 64)
	h := header{typ: typeRequest, seq: 0xdeadbeef, sent: 1234567890123}
	h.encode(b)
	want := []byte{0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0x01, 0x1f, 0x71, 0xfb, 0x04, 0xcb}
	if !bytes.Equal(b[:headerLen], want) {
		t.Fatalf("encoded % x, want % x (big-endian)", b[:headerLen], want)
	}
	got, err := decode(b)
	if err != nil || got != h {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, h)
	}
	if _, err := decode(b[:headerLen-1]); err == nil {
		t.Fatal("decoded a short ping")
	}
}

func TestToReply(t *testing.T) {
	b := make([]byte, 20)
	header{typ: typeRequest, seq: 7, sent: 99}.encode(b)
	b[19] = 0x55
	if !toReply(b) {
		t.Fatal("request not turned into a reply")
	}
	h, _ := decode(b)
	if h != (header{typ: typeReply, seq: 7, sent: 99}) || b[19] != 0x55 {
		t.Fatalf("reply %+v, padding %#x: only the type may change", h, b[19])
	}
	if toReply(b) {
		t.Fatal("a reply was turned into a reply again")
	}
	if toReply(b[:headerLen-1]) {
		t.Fatal("a short SDU was echoed")
	}
}
