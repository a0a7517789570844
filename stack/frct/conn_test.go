package frct

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/seqpkt"
)

func socketPair(t testing.TB, q qos.Spec) (*Conn, *Conn) {
	t.Helper()
	a, b, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	ca := New(a, Config{QoS: q, Seed: 1})
	cb := New(b, Config{QoS: q, Seed: 2})
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return ca, cb
}

func TestReliableOverSocket(t *testing.T) {
	a, b := socketPair(t, qos.Data)
	const n = 20000
	go func() {
		buf := make([]byte, 1000)
		for i := 0; i < n; i++ {
			buf[0], buf[1] = byte(i), byte(i>>8)
			if _, err := a.Write(buf[:100+i%900]); err != nil {
				t.Error(err)
				return
			}
		}
		a.Close()
	}()
	buf := make([]byte, 2000)
	for i := 0; i < n; i++ {
		k, err := b.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if k != 100+i%900 || buf[0] != byte(i) || buf[1] != byte(i>>8) {
			t.Fatalf("SDU %d: len %d, %x", i, k, buf[:2])
		}
	}
	if _, err := b.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last SDU: %v, want EOF", err)
	}
	t.Logf("sender %+v", a.Stats())
	t.Logf("receiver %+v", b.Stats())
}

func TestOneWayBestEffortDoesNotStall(t *testing.T) {
	a, b := socketPair(t, qos.Best)
	const n = 100000
	done := make(chan error, 1)
	go func() {
		msg := bytes.Repeat([]byte{7}, 200)
		for i := 0; i < n; i++ {
			if _, err := a.Write(msg); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	buf := make([]byte, 300)
	b.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; i < n; i++ {
		if _, err := b.Read(buf); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
