package frct_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/frct"
	"o7s.dev/ouroboros/stack/frct/frcttest"
	"o7s.dev/ouroboros/stack/qos"
)

// dropper loses chosen first transmissions of DATA packets: those whose
// sequence number, counted from the run's first, drop says.
type dropper struct {
	*frcttest.End
	mu    sync.Mutex
	first uint32
	seen  bool
	drop  func(i uint32) bool
	sent  map[uint32]bool
}

func (d *dropper) filter(pdus [][]byte) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := pdus[:0:0]
	for _, p := range pdus {
		var h frct.Header
		if _, err := h.Decode(p); err == nil && h.Flags&frct.FlagData != 0 {
			if !d.seen {
				d.first, d.seen = h.Start, true
			}
			i := h.Seqno - d.first
			if !d.sent[i] {
				d.sent[i] = true
				if d.drop(i) {
					continue
				}
			}
		}
		out = append(out, p)
	}
	return out
}

func (d *dropper) WriteBatch(p [][]byte) (int, error) {
	if _, err := d.End.WriteBatch(d.filter(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (d *dropper) TryWriteBatch(p [][]byte) (int, error) {
	d.End.TryWriteBatch(d.filter(p))
	return len(p), nil
}

func dropping(t *testing.T, q qos.Spec, drop func(uint32) bool) (*frct.Conn, *frct.Conn) {
	t.Helper()
	ea, eb := frcttest.Link(frcttest.Impairment{Seed: 1}, frcttest.Impairment{Seed: 2})
	a := &dropper{End: ea, drop: drop, sent: map[uint32]bool{}}
	w := frct.New(a, frct.Config{QoS: q, MTU: 2048, Seed: 3})
	r := frct.New(eb, frct.Config{QoS: q, MTU: 2048, Seed: 4})
	t.Cleanup(func() { go w.Close(); go r.Close() })
	return w, r
}

// A gap that a Read exposes is skipped after max_gap, not at the next
// packet or keepalive; consecutive gaps do not add their waits up.
func TestGapsSkippedOnTime(t *testing.T) {
	w, r := dropping(t, qos.Voice, func(i uint32) bool { return i == 3 || i == 5 || i == 6 || i == 8 })
	for i := 0; i < 10; i++ {
		w.Write([]byte{byte(i)})
	}
	start := time.Now()
	var got []byte
	buf := make([]byte, 8)
	r.SetReadDeadline(time.Now().Add(3 * time.Second))
	for len(got) < 6 {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, buf[0])
	}
	if string(got) != string([]byte{0, 1, 2, 4, 7, 9}) {
		t.Fatalf("delivered %v", got)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("four 50 ms gaps took %v", d)
	}
}

// An in-order flow whose whole window in flight is lost carries on: the
// sender's window probe tells the receiver where the stream has got to.
func TestLostWindowDoesNotStallInOrderFlow(t *testing.T) {
	w, r := dropping(t, qos.Best, func(i uint32) bool { return i >= 10 && i < 400 })
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 1000; i++ {
			if _, err := w.Write([]byte{byte(i), byte(i >> 8)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	buf := make([]byte, 8)
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	last := -1
	for last < 999 {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("after SDU %d: %v\nsender %s\nreceiver %s", last, err, frct.DebugState(w), frct.DebugState(r))
		}
		i := int(buf[0]) | int(buf[1])<<8
		if i <= last || (i >= 10 && i < 400) {
			t.Fatalf("SDU %d after %d", i, last)
		}
		last = i
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A writer that gave up on a closed window leaves no probes behind.
func TestProbesStopWhenNobodyWaits(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{Seed: 1}, frcttest.Impairment{Seed: 2})
	w := frct.New(a, frct.Config{QoS: qos.Best, MTU: 2048, Seed: 3})
	r := frct.New(b, frct.Config{QoS: qos.Best, MTU: 2048, Seed: 4})
	defer w.Close()
	defer r.Close()
	w.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		if _, err := w.Write([]byte("x")); err != nil {
			break // the receiver does not read: the window closed
		}
	}
	buf := make([]byte, 8)
	r.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for { // reopen the window; nobody writes any more
		if _, err := r.Read(buf); err != nil {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	before := w.Stats().ControlSent
	time.Sleep(500 * time.Millisecond)
	if n := w.Stats().ControlSent - before; n > 2 {
		t.Fatalf("%d control packets in 500 ms on an idle, open flow", n)
	}
}

// A reliable write that meets the deadline while the Lower pushes back
// still counts as written: the SDU is numbered and will be delivered once.
func TestReliableWritePastDeadlineIsDeliveredOnce(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{Seed: 1}, frcttest.Impairment{Seed: 2}, frcttest.WithQueue(4))
	w := frct.New(a, frct.Config{QoS: qos.Data, MTU: 2048, Seed: 3})
	r := frct.New(b, frct.Config{QoS: qos.Data, MTU: 2048, Seed: 4})
	defer w.Close()
	defer r.Close()
	w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	sent := 0
	for i := 0; i < 50; i++ {
		if _, err := w.Write([]byte{byte(i)}); err != nil {
			break
		}
		sent++
	}
	w.SetWriteDeadline(time.Time{})
	buf := make([]byte, 8)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < sent; i++ {
		if _, err := r.Read(buf); err != nil || buf[0] != byte(i) {
			t.Fatalf("SDU %d: %d, %v", i, buf[0], err)
		}
	}
	r.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := r.Read(buf); err == nil {
		t.Fatalf("an SDU more than the %d written arrived: %d", sent, buf[0])
	}
}

// busyLower refuses every TryWriteBatch while busy, as a socket full of an
// application's writes (or a sealed flow's busy sealer) does.
type busyLower struct {
	*dropper
	busy atomic.Bool
}

func (b *busyLower) TryWriteBatch(p [][]byte) (int, error) {
	if b.busy.Load() {
		return 0, nil
	}
	return b.dropper.TryWriteBatch(p)
}

// A retransmission that the Lower did not take is retried as soon as the
// Lower takes packets again, without the backoff of a packet lost on the
// path: backing off for a busy socket once pushed a lost packet's timeout
// into tens of seconds and stalled a transfer through 10% loss.
func TestRetransmissionNotBackedOffWhileLowerBusy(t *testing.T) {
	ea, eb := frcttest.Link(frcttest.Impairment{Seed: 1}, frcttest.Impairment{Seed: 2})
	a := &busyLower{dropper: &dropper{End: ea, drop: func(i uint32) bool { return i == 20 }, sent: map[uint32]bool{}}}
	w := frct.New(a, frct.Config{QoS: qos.Data, MTU: 2048, Seed: 3})
	r := frct.New(eb, frct.Config{QoS: qos.Data, MTU: 2048, Seed: 4})
	defer w.Close()
	defer r.Close()
	buf := make([]byte, 8)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range 20 { // round trips measured: the timeout is a few ms
		if _, err := w.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(buf); err != nil || buf[0] != byte(i) {
			t.Fatalf("SDU %d: %d, %v", i, buf[0], err)
		}
	}
	a.busy.Store(true)
	for i := 20; i < 30; i++ { // 20 is lost; its retransmissions are refused
		if _, err := w.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // the Lower stays busy: what is under test
	a.busy.Store(false)
	freed := time.Now()
	for i := 20; i < 30; i++ {
		if _, err := r.Read(buf); err != nil || buf[0] != byte(i) {
			t.Fatalf("SDU %d: %d, %v\nsender %s", i, buf[0], err, frct.DebugState(w))
		}
	}
	if d := time.Since(freed); d > 500*time.Millisecond {
		t.Fatalf("the lost SDU arrived %v after the Lower took packets again: the timeout backed off while nothing was sent", d)
	}
}

// Under sustained loss the sender still measures a round trip: with one
// packet in ten lost from the first, every cumulative acknowledgement
// covers a retransmission, and the RTT estimate once never formed,
// leaving the timeout at its initial 250 ms, backed off into seconds (a
// transfer through 10% loss crawled at ~150 packets/s). The first sample
// now comes from the packet an acknowledgement covers that was sent last.
func TestRoundTripsMeasuredUnderLoss(t *testing.T) {
	w, r := dropping(t, qos.Data, func(i uint32) bool { return i%10 == 0 })
	const n = 3000
	go func() {
		buf := make([]byte, 500)
		for range n {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 2048)
	r.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := range n {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("SDU %d: %v\nsender %s", i, err, frct.DebugState(w))
		}
	}
	rto, srtt := frct.Timers(w)
	if srtt == 0 || rto > 50*time.Millisecond {
		t.Fatalf("after %d SDUs with one in ten lost: srtt %v, rto %v; want a measured RTT and a timeout of a few ms\n%s", n, srtt, rto, frct.DebugState(w))
	}
}
