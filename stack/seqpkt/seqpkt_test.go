package seqpkt

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

func pair(t testing.TB) (*Conn, *Conn) {
	t.Helper()
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestSDUBoundariesKept(t *testing.T) {
	a, b := pair(t)
	for _, s := range []string{"one", "two-two", "3"} {
		if _, err := a.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 100)
	for _, want := range []string{"one", "two-two", "3"} {
		n, err := b.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("Read = %q, %v; want %q", buf[:n], err, want)
		}
	}
}

func TestEmptyWriteRefused(t *testing.T) {
	a, _ := pair(t)
	if _, err := a.Write(nil); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Write(nil) = %v, want ErrEmpty", err)
	}
	if n, err := a.WriteBatch([][]byte{[]byte("x"), nil}); n != 1 || !errors.Is(err, ErrEmpty) {
		t.Fatalf("WriteBatch must write up to the empty SDU and refuse it: got %d, %v", n, err)
	}
}

func TestTruncationReported(t *testing.T) {
	a, b := pair(t)
	a.Write([]byte("0123456789"))
	a.Write([]byte("next"))
	buf := make([]byte, 4)
	if n, err := b.Read(buf); !errors.Is(err, ErrTruncated) || n != 4 {
		t.Fatalf("Read = %d, %v; want 4, ErrTruncated", n, err)
	}
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "next" {
		t.Fatalf("the truncated SDU must be consumed: got %q, %v", buf[:n], err)
	}
}

func TestCloseGivesEOFAfterQueuedSDUs(t *testing.T) {
	a, b := pair(t)
	a.WriteBatch([][]byte{[]byte("a"), []byte("b")})
	a.Close()
	bufs := [][]byte{make([]byte, 8), make([]byte, 8), make([]byte, 8)}
	lens := make([]int, 3)
	n, err := b.ReadBatch(bufs, lens)
	if n != 2 || err != nil {
		t.Fatalf("ReadBatch = %d, %v; want the 2 queued SDUs first", n, err)
	}
	if _, err := b.Read(bufs[0]); !errors.Is(err, io.EOF) {
		t.Fatalf("Read after close = %v, want io.EOF", err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Write to closed peer = %v, want io.ErrClosedPipe", err)
	}
}

// An end that closes with SDUs unread in its own queue makes the kernel
// report ECONNRESET to the other end; what it wrote before closing must
// still be read in full, then the end of the stream.
func TestCloseWithUnreadSDUsLosesNothing(t *testing.T) {
	a, b := pair(t)
	b.Write([]byte("never read by a"))
	want := 0
	for i := range 100 {
		if _, err := a.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		want++
	}
	a.Close()
	bufs := [][]byte{make([]byte, 8), make([]byte, 8), make([]byte, 8)}
	lens := make([]int, 3)
	got := 0
	for {
		n, err := b.ReadBatch(bufs, lens)
		for i := range n {
			if lens[i] != 1 || bufs[i][0] != byte(got) {
				t.Fatalf("SDU %d: got %v", got, bufs[i][:lens[i]])
			}
			got++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d of %d SDUs: %v", got, want, err)
		}
	}
	if got != want {
		t.Fatalf("read %d SDUs, want %d", got, want)
	}
}

func TestPastDeadlineIsNonBlocking(t *testing.T) {
	a, b := pair(t)
	b.SetReadDeadline(time.Now().Add(-time.Second))
	a.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := a.Write([]byte("ready")); err != nil {
		t.Fatalf("non-blocking write with room: %v", err)
	}
	buf := make([]byte, 8)
	if n, err := b.Read(buf); err != nil || string(buf[:n]) != "ready" {
		t.Fatalf("non-blocking read of a waiting SDU = %q, %v", buf[:n], err)
	}
	if _, err := b.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("non-blocking read of nothing = %v, want a deadline error", err)
	}
}

func TestDeadlines(t *testing.T) {
	a, b := pair(t)
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := b.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past deadline = %v", err)
	}
	// Fill a's queue until a write would block, then check the write deadline.
	a.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	big := make([]byte, 60000)
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		_, err = a.Write(big)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write into a full queue = %v, want a deadline error (back-pressure)", err)
	}
}

func TestNoAllocationsPerSDU(t *testing.T) {
	a, b := pair(t)
	out := [][]byte{make([]byte, 1400), make([]byte, 1400), make([]byte, 64)}
	in := [][]byte{make([]byte, 2048), make([]byte, 2048), make([]byte, 2048)}
	lens := make([]int, 3)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := a.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < 3; {
			n, err := b.ReadBatch(in[got:], lens[got:])
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
		a.Write(out[0])
		b.Read(in[0])
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per batch round trip, want 0", allocs)
	}
}

func BenchmarkBatchThroughput(b *testing.B) {
	for _, size := range []int{64, 1400} {
		b.Run(itoa(size), func(b *testing.B) {
			x, y := pair(b)
			out := make([][]byte, 32)
			in := make([][]byte, 32)
			for i := range out {
				out[i] = make([]byte, size)
				in[i] = make([]byte, 2048)
			}
			lens := make([]int, 32)
			b.SetBytes(int64(size * 32))
			b.ReportAllocs()
			for b.Loop() {
				x.WriteBatch(out)
				for got := 0; got < 32; {
					n, _ := y.ReadBatch(in[got:], lens[got:])
					got += n
				}
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}
