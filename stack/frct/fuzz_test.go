package frct

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/qos"
)

func FuzzHeader(f *testing.F) {
	for _, h := range []Header{
		{Flags: FlagData, Seqno: 7},
		{Flags: FlagData | FlagDRF | FlagACK | FlagFC, Seqno: 1, Ackno: 2, RWE: 3},
		{Flags: FlagACK | FlagFC | FlagSACK, Ackno: 9, RWE: 300, SACK: 0b1011},
		{Flags: FlagKA}, {Flags: FlagRDVS},
		{Flags: FlagFIN | FlagDRF, Seqno: 5, Start: 5}, {Flags: FlagFIN | FlagACK, Seqno: 9, Ackno: 4},
	} {
		b := make([]byte, MaxHeader+3)
		n := h.Encode(b)
		f.Add(b[:n+3])
	}
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		n, err := h.Decode(b)
		if err != nil {
			return
		}
		if n != h.Len() || n > len(b) || n > MaxHeader {
			t.Fatalf("decoded length %d, Len %d, input %d", n, h.Len(), len(b))
		}
		out := make([]byte, MaxHeader)
		m := h.Encode(out)
		if !bytes.Equal(out[:m], b[:n]) {
			t.Fatalf("re-encoding %x gives %x", b[:n], out[:m])
		}
	})
}

// nullLower swallows what is written and never delivers anything.
type nullLower struct{}

func (nullLower) ReadBatch([][]byte, []int) (int, error) { select {} }
func (nullLower) SetReadDeadline(time.Time) error        { return nil }
func (nullLower) WriteBatch(p [][]byte) (int, error)     { return len(p), nil }
func (nullLower) SetWriteDeadline(time.Time) error       { return nil }
func (nullLower) TryWriteBatch(p [][]byte) (int, error)  { return len(p), nil }
func (nullLower) Close() error                           { return nil }

// FuzzReceive drives the receive state machine with arbitrary packets
// (each prefixed by a 2-byte length in the fuzz input) interleaved with
// reads, in both reliable and in-order modes, and checks its invariants.
func FuzzReceive(f *testing.F) {
	seed := func(pdus ...[]byte) []byte {
		var b []byte
		for _, p := range pdus {
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
		return b
	}
	data := func(fl Flags, seq uint32, payload string) []byte {
		h := Header{Flags: FlagData | fl, Seqno: seq}
		b := make([]byte, h.Len()+len(payload))
		copy(b[h.Encode(b):], payload)
		return b
	}
	f.Add(false, seed(data(FlagDRF, 10, "a"), data(0, 12, "c"), data(0, 11, "b")))
	f.Add(true, seed(data(FlagDRF, 0xffffffff, "x"), data(0, 0, "y"), data(0, 300, "far")))
	f.Add(true, seed([]byte{byte(FlagACK | FlagFC), 0, 0, 0, 1, 0, 0, 1, 0}))
	f.Add(true, seed(data(FlagDRF, 10, "a"), []byte{byte(FlagFIN), 0, 0, 0, 11}, data(0, 11, "b")))
	f.Fuzz(func(t *testing.T, reliable bool, in []byte) {
		q := qos.Best
		if reliable {
			q = qos.Data
		}
		c := newConn(nullLower{}, Config{QoS: q, Window: 16, MTU: 2048, Seed: 1, GapWait: time.Nanosecond})
		buf := make([]byte, 64)
		var pdus [][]byte
		var lens []int
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			n = min(n, len(in), 2048)
			pdus, lens = append(pdus, in[:n]), append(lens, n)
			in = in[n:]
		}
		now := time.Now()
		for i := range pdus {
			ctl := new(ctlBufs)
			c.mu.Lock()
			c.inputLocked(pdus[i:i+1], lens[i:i+1], now, nil, ctl)
			c.timersLocked(now.Add(time.Duration(i)*time.Millisecond), nil, ctl)
			checkReceiver(t, &c.r)
			c.r.deliver(c.cfg, &c.p, &c.st, buf, now.Add(time.Second), false)
			checkReceiver(t, &c.r)
			c.mu.Unlock()
		}
	})
}

func checkReceiver(t *testing.T, r *receiver) {
	t.Helper()
	if !r.started {
		return
	}
	ok := 0
	for _, s := range r.ring {
		if s.ok {
			ok++
		}
	}
	if ok != r.buffered {
		t.Fatalf("buffered %d, ring holds %d", r.buffered, ok)
	}
	if seqLT(r.nxt, r.base) || seqLT(r.high, r.nxt) {
		t.Fatalf("base %d nxt %d high %d out of order", r.base, r.nxt, r.high)
	}
	if r.nxt-r.base > r.window() {
		t.Fatalf("nxt %d beyond the window from base %d", r.nxt, r.base)
	}
}
