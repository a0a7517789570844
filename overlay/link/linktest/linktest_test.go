package linktest

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

func bufs(n, size int) ([][]byte, []int) {
	b := make([][]byte, n)
	for i := range b {
		b[i] = make([]byte, size)
	}
	return b, make([]int, n)
}

func TestPipeBatches(t *testing.T) {
	a, b := Pipe(100)
	sdus := [][]byte{[]byte("one"), []byte("two"), bytes.Repeat([]byte{7}, 100)}
	if n, err := a.WriteBatch(sdus); n != 3 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	rb, lens := bufs(8, 100)
	n, err := b.ReadBatch(rb, lens)
	if n != 3 || err != nil {
		t.Fatalf("ReadBatch = %d, %v; want the 3 SDUs in one batch", n, err)
	}
	for i := range n {
		if !bytes.Equal(rb[i][:lens[i]], sdus[i]) {
			t.Errorf("SDU %d = %q", i, rb[i][:lens[i]])
		}
	}
	if a.Sent() != 3 || a.MaxSDU() != 100 {
		t.Errorf("Sent %d, MaxSDU %d", a.Sent(), a.MaxSDU())
	}
}

func TestPipeRefusesSize(t *testing.T) {
	a, b := Pipe(10)
	for _, bad := range [][][]byte{{[]byte("ok"), make([]byte, 11)}, {{}}} {
		if n, err := a.WriteBatch(bad); n != 0 || !errors.Is(err, ErrSize) {
			t.Errorf("WriteBatch(%d SDUs) = %d, %v; want 0, ErrSize", len(bad), n, err)
		}
	}
	a.WriteBatch([][]byte{[]byte("x")})
	rb, lens := bufs(4, 10)
	if n, _ := b.ReadBatch(rb, lens); n != 1 {
		t.Errorf("read %d SDUs, want only the good one sent after", n)
	}
	small, lens := bufs(1, 2)
	a.WriteBatch([][]byte{[]byte("long")})
	if n, err := b.ReadBatch(small, lens); n != 1 || err == nil {
		t.Errorf("ReadBatch into a short buffer = %d, %v; want 1 cut SDU and an error", n, err)
	}
}

// TestPipeClose: Close unblocks a pending ReadBatch at both ends; the far
// end reads what was queued first; writes fail.
func TestPipeClose(t *testing.T) {
	a, b := Pipe(10)
	res := make(chan error, 1)
	go func() {
		rb, lens := bufs(1, 10)
		_, err := a.ReadBatch(rb, lens)
		res <- err
	}()
	b.WriteBatch([][]byte{[]byte("last")})
	rb, lens := bufs(1, 10)
	if err := <-res; err != nil {
		t.Fatalf("a's read of b's SDU: %v", err)
	}
	a.WriteBatch([][]byte{[]byte("queued")})
	go func() {
		_, err := a.ReadBatch(rb, lens)
		res <- err
	}()
	a.Close()
	select {
	case err := <-res:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("pending read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock a pending read")
	}
	rb2, lens2 := bufs(2, 10)
	if n, err := b.ReadBatch(rb2, lens2); n != 1 || err != nil || string(rb2[0][:lens2[0]]) != "queued" {
		t.Errorf("far end's read after Close = %d, %v; want the queued SDU", n, err)
	}
	if _, err := b.ReadBatch(rb2, lens2); !errors.Is(err, ErrClosed) {
		t.Errorf("far end's second read: %v", err)
	}
	if _, err := b.WriteBatch([][]byte{[]byte("x")}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	select {
	case <-b.Ended():
	default:
		t.Error("Ended not closed")
	}
}
