package ipcp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"o7s.dev/ouroboros/stack/ctrl"
)

func readAll(t *testing.T, e *PipeEnd, want int) [][]byte {
	t.Helper()
	bufs := make([][]byte, 8)
	for i := range bufs {
		bufs[i] = make([]byte, 64)
	}
	lens := make([]int, 8)
	var got [][]byte
	for len(got) < want {
		n, err := e.ReadBatch(bufs, lens)
		if err != nil {
			t.Fatalf("read after %d SDUs: %v", len(got), err)
		}
		for i := range n {
			got = append(got, append([]byte(nil), bufs[i][:lens[i]]...))
		}
	}
	return got
}

func TestPipeOrderAndCopy(t *testing.T) {
	a, b := NewPipe(4, 1, 2)
	done := make(chan error, 1)
	go func() {
		buf := []byte("x")
		for i := range 100 {
			buf = fmt.Appendf(buf[:0], "sdu %d", i)
			if _, err := a.WriteBatch([][]byte{buf}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	got := readAll(t, b, 100)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if want := fmt.Sprintf("sdu %d", i); string(g) != want {
			t.Fatalf("SDU %d = %q, want %q", i, g, want)
		}
	}
}

func TestPipeTryWriteDropsWhatDoesNotFit(t *testing.T) {
	a, b := NewPipe(2, 1, 2)
	n, err := a.TryWriteBatch([][]byte{{1}, {2}, {3}})
	if n != 2 || err != nil {
		t.Fatalf("TryWriteBatch = %d, %v; want 2, nil", n, err)
	}
	got := readAll(t, b, 2)
	if !bytes.Equal(got[0], []byte{1}) || !bytes.Equal(got[1], []byte{2}) {
		t.Fatalf("read %v", got)
	}
	if b.Dropped() != 1 || a.Dropped() != 0 {
		t.Fatalf("dropped %d towards the reader, %d towards the writer; want 1, 0", b.Dropped(), a.Dropped())
	}
}

func TestPipeDownDrainsThenEOF(t *testing.T) {
	a, b := NewPipe(4, 1, 2)
	if _, err := a.WriteBatch([][]byte{{7}}); err != nil {
		t.Fatal(err)
	}
	a.Down(ctrl.ReasonPeer)
	a.Down(ctrl.ReasonDown) // second call is a no-op
	if got := readAll(t, b, 1); got[0][0] != 7 {
		t.Fatalf("read %v", got)
	}
	bufs, lens := [][]byte{make([]byte, 8)}, []int{0}
	if _, err := b.ReadBatch(bufs, lens); !errors.Is(err, io.EOF) {
		t.Fatalf("read after down: %v, want EOF", err)
	}
	if _, err := b.WriteBatch([][]byte{{1}}); !errors.Is(err, ErrPipeDown) {
		t.Fatalf("write after down: %v", err)
	}
	if r, ok := b.Reason(); !ok || r != ctrl.ReasonPeer {
		t.Fatalf("reason %q %v", r, ok)
	}
}

func TestPipeDownWakesBlockedWriter(t *testing.T) {
	a, b := NewPipe(1, 1, 2)
	errc := make(chan error, 1)
	go func() {
		_, err := a.WriteBatch([][]byte{{1}, {2}, {3}})
		errc <- err
	}()
	b.Down(ctrl.ReasonDown)
	if err := <-errc; !errors.Is(err, ErrPipeDown) {
		t.Fatalf("blocked write ended with %v", err)
	}
}

func BenchmarkPipe1400(b *testing.B) {
	x, y := NewPipe(1024, 1, 2)
	const batch = 32
	out := make([][]byte, batch)
	for i := range out {
		out[i] = make([]byte, 1400)
	}
	go func() {
		bufs, lens := make([][]byte, batch), make([]int, batch)
		for i := range bufs {
			bufs[i] = make([]byte, 2048)
		}
		for {
			if _, err := y.ReadBatch(bufs, lens); err != nil {
				return
			}
		}
	}()
	b.SetBytes(1400)
	b.ReportAllocs()
	for i := 0; i < b.N; i += batch {
		if _, err := x.WriteBatch(out); err != nil {
			b.Fatal(err)
		}
	}
	x.Down(ctrl.ReasonDown)
}

func TestPipeDropsWhatDoesNotFitTheReader(t *testing.T) {
	a, b := NewPipe(4, 1, 2)
	if _, err := a.WriteBatch([][]byte{make([]byte, 100), {9}}); err != nil {
		t.Fatal(err)
	}
	bufs, lens := [][]byte{make([]byte, 10)}, []int{0}
	n, err := b.ReadBatch(bufs, lens)
	if err != nil || n != 1 || lens[0] != 1 || bufs[0][0] != 9 {
		t.Fatalf("read %d SDUs (%v), first %v: want only the one that fits", n, err, bufs[0][:lens[0]])
	}
	if b.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", b.Dropped())
	}
}

// TestPipeWriteTransform checks that a transform rewrites every SDU in
// order, that an SDU it refuses is dropped and counted while the others
// pass, and that it applies to one direction only.
func TestPipeWriteTransform(t *testing.T) {
	a, b := NewPipe(8, 1, 2)
	seq := 0
	a.SetWriteTransform(func(dst, sdu []byte) ([]byte, error) {
		seq++ // runs under the queue's lock: no data race
		if bytes.Equal(sdu, []byte("bad")) {
			return nil, errors.New("refused")
		}
		return fmt.Appendf(append(dst, sdu...), "#%d", seq), nil
	})
	n, err := a.TryWriteBatch([][]byte{[]byte("x"), []byte("bad"), []byte("y")})
	if n != 3 || err != nil {
		t.Fatalf("TryWriteBatch = %d, %v; want 3, nil", n, err)
	}
	got := readAll(t, b, 2)
	if string(got[0]) != "x#1" || string(got[1]) != "y#3" {
		t.Fatalf("read %q, want x#1 y#3", got)
	}
	if f := a.TransformFailed(); f != 1 {
		t.Errorf("TransformFailed = %d, want 1", f)
	}
	if _, err := b.WriteBatch([][]byte{[]byte("back")}); err != nil {
		t.Fatal(err)
	}
	if back := readAll(t, a, 1); string(back[0]) != "back" {
		t.Errorf("the other direction read %q, want it untouched", back[0])
	}
}
