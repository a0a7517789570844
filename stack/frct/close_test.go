package frct_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/frct"
	"o7s.dev/ouroboros/stack/frct/frcttest"
	"o7s.dev/ouroboros/stack/qos"
)

// drainBytes reads SDUs until an error, and returns the bytes read and the
// error that ended the stream.
func drainBytes(t *testing.T, c *frct.Conn) (int, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 4096)
	total := 0
	for {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// A Close through a lossy path is an orderly end at the peer: every SDU,
// then io.EOF, and the closer does not wait for its FIN wait.
func TestOrderlyCloseThroughLoss(t *testing.T) {
	for _, q := range []qos.Spec{qos.Data, qos.Best} {
		t.Run(q.String(), func(t *testing.T) {
			a, b, _ := lossy(t, q, frcttest.Impairment{Loss: 0.2, Seed: 11}, func(c *frct.Config) {
				c.QoS.Timeout = 10_000
			})
			const n, size = 200, 100
			closed := make(chan time.Duration, 1)
			go func() {
				msg := make([]byte, size)
				for range n {
					if _, err := a.Write(msg); err != nil {
						t.Error(err)
						break
					}
				}
				start := time.Now()
				a.Close()
				closed <- time.Since(start)
			}()
			got, err := drainBytes(t, b)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("after %d bytes: %v, want io.EOF (an orderly close)", got, err)
			}
			if q.Reliable() && got != n*size {
				t.Fatalf("read %d bytes, want %d", got, n*size)
			}
			if d := <-closed; d > 5*time.Second {
				t.Fatalf("Close took %v: the peer's FIN was not heard", d)
			}
			if st := b.Stats(); st.DeliveredBytes != uint64(got) {
				t.Fatalf("DeliveredBytes %d, read %d", st.DeliveredBytes, got)
			}
		})
	}
}

// When the path ends without the peer's FIN (irmd or the layer tore the flow
// down), the reader gets what arrived, then ErrAborted, never io.EOF.
func TestAbruptEndReader(t *testing.T) {
	ea, eb := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	a := frct.New(ea, frct.Config{QoS: qos.Data, MTU: 2048})
	b := frct.New(eb, frct.Config{QoS: qos.Data, MTU: 2048})
	defer a.Close()
	defer b.Close()
	msg := make([]byte, 100)
	for range 10 {
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	ea.Close() // the path below a ends: no FIN goes out
	got, err := drainBytes(t, b)
	if !errors.Is(err, frct.ErrAborted) || errors.Is(err, io.EOF) {
		t.Fatalf("after %d bytes: %v, want ErrAborted", got, err)
	}
	if got != 1000 {
		t.Fatalf("read %d bytes before the end, want the 1000 that arrived", got)
	}
}

// A writer blocked on a closed window returns as soon as the path ends.
func TestAbruptEndBlockedWriter(t *testing.T) {
	ea, eb := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	a := frct.New(ea, frct.Config{QoS: qos.Data, MTU: 2048, Window: 64})
	b := frct.New(eb, frct.Config{QoS: qos.Data, MTU: 2048, Window: 64})
	defer a.Close()
	defer b.Close()
	werr := make(chan error, 1)
	go func() {
		msg := make([]byte, 100)
		for {
			if _, err := a.Write(msg); err != nil {
				werr <- err
				return
			}
		}
	}()
	// b never reads: a fills b's window and blocks.
	waitUntil(t, func() bool { return a.Stats().DataSent >= 64 })
	select {
	case err := <-werr:
		t.Fatalf("writer returned before the end: %v", err)
	default:
	}
	eb.Close()
	start := time.Now()
	select {
	case err := <-werr:
		if !errors.Is(err, frct.ErrAborted) {
			t.Fatalf("blocked writer: %v, want ErrAborted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked writer did not return when the path ended")
	}
	t.Logf("writer returned %v after the path ended", time.Since(start))
}

// A peer that vanishes (sends nothing any more, no close, no end of the
// path) is found dead within the peer timeout, by the reader and by a
// blocked writer alike; a quiet peer that lives is kept by keepalives.
func TestVanishedPeerTimesOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	a, b, sa := lossy(t, qos.Data, frcttest.Impairment{Seed: 3}, func(c *frct.Config) {
		c.QoS.Timeout = uint32(timeout / time.Millisecond)
		c.Window = 64
	})
	time.Sleep(3 * timeout) // idle, both alive: keepalives keep the flow up
	if _, err := a.Write([]byte("alive")); err != nil {
		t.Fatalf("write after an idle spell: %v", err)
	}
	if err := b.Err(); err != nil {
		t.Fatalf("a quiet live peer was declared dead: %v", err)
	}
	werr := make(chan error, 1)
	go func() { // b never reads: its writer blocks on a's window
		msg := make([]byte, 100)
		for {
			if _, err := b.Write(msg); err != nil {
				werr <- err
				return
			}
		}
	}()
	waitUntil(t, func() bool { return b.Stats().DataSent >= 64 })
	sa.silent.Store(true) // a vanishes: nothing from it arrives any more
	start := time.Now()
	select {
	case err := <-werr:
		if !errors.Is(err, frct.ErrPeerTimeout) {
			t.Fatalf("blocked writer: %v, want ErrPeerTimeout", err)
		}
	case <-time.After(20 * timeout):
		t.Fatal("the blocked writer never learnt that the peer vanished")
	}
	if d := time.Since(start); d > 10*timeout {
		t.Fatalf("the vanished peer was noticed after %v, timeout %v", d, timeout)
	}
	if _, err := drainBytes(t, b); !errors.Is(err, frct.ErrPeerTimeout) {
		t.Fatalf("reader: %v, want ErrPeerTimeout", err)
	}
}

// The named specs find a vanished peer within 15 s.
func TestDefaultPeerTimeout(t *testing.T) {
	for _, n := range qos.Names {
		q, _ := qos.Parse(n)
		if d := time.Duration(q.Timeout) * time.Millisecond; d <= 0 || d > 15*time.Second {
			t.Errorf("%s: peer timeout %v, want (0, 15s]", n, d)
		}
	}
}

// When both ends close at once, each one's FIN answers the other's: both
// Closes return at once, not after the FIN wait.
func TestSimultaneousClose(t *testing.T) {
	ea, eb := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	q := qos.Data
	q.Timeout = 30_000
	a := frct.New(ea, frct.Config{QoS: q, MTU: 2048})
	b := frct.New(eb, frct.Config{QoS: q, MTU: 2048})
	start := time.Now()
	done := make(chan struct{})
	go func() { a.Close(); close(done) }()
	b.Close()
	<-done
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("closing both ends took %v", d)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for dl := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(dl) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}

// A reliable Close whose data the peer never acknowledged fails, within
// the peer timeout, instead of reporting a complete transfer.
func TestCloseFailsWhenDataUnacknowledged(t *testing.T) {
	ea, eb := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	defer eb.Close() // nobody runs FRCT at b: nothing is acknowledged
	q := qos.Data
	q.Timeout = 200
	a := frct.New(ea, frct.Config{QoS: q, MTU: 2048})
	if _, err := a.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := a.Close()
	if !errors.Is(err, frct.ErrPeerTimeout) {
		t.Fatalf("Close: %v, want ErrPeerTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v with a 200 ms peer timeout", d)
	}
}
