package tuntest

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"o7s.dev/ouroboros/tunif"
)

const off = tunif.Headroom + 8 // room for a caller's 8-byte header

func batch(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, off+size)
	}
	return bufs, make([]int, n)
}

func packet(i, size int) []byte {
	p := make([]byte, off+size)
	for j := range p[off:] {
		p[off+j] = byte(i + j)
	}
	return p
}

func TestPairMovesBatchesInOrder(t *testing.T) {
	a, b := NewPair(1400)
	defer a.Close()
	defer b.Close()
	var out [][]byte
	for i := range 10 {
		out = append(out, packet(i, 100+i))
	}
	want := make([][]byte, len(out))
	for i, p := range out {
		want[i] = bytes.Clone(p[off:])
	}
	if n, err := a.Write(out, off); n != 10 || err != nil {
		t.Fatalf("Write = %d, %v; want 10, nil", n, err)
	}
	bufs, sizes := batch(BatchSize, 1400)
	for i := range bufs {
		copy(bufs[i][:off], "HEADROOM-AND-HDR")
	}
	n, err := b.Read(bufs, sizes, off)
	if n != 10 || err != nil {
		t.Fatalf("Read = %d, %v; want all 10 queued packets in one batch", n, err)
	}
	for i := range n {
		if got := bufs[i][off : off+sizes[i]]; !bytes.Equal(got, want[i]) {
			t.Fatalf("packet %d = %x, want %x", i, got, want[i])
		}
		if string(bufs[i][:16]) != "HEADROOM-AND-HDR" {
			t.Fatalf("Read touched bytes before offset of buffer %d: %q", i, bufs[i][:off])
		}
	}
}

func TestWriteScribblesHeadroom(t *testing.T) {
	a, b := NewPair(0)
	defer a.Close()
	defer b.Close()
	p := packet(1, 60)
	copy(p, "0123456789abcdef01234567")
	if _, err := a.Write([][]byte{p}, off); err != nil {
		t.Fatal(err)
	}
	if string(p[:8]) != "01234567" {
		t.Errorf("Write touched bytes before offset-Headroom: %q", p[:8])
	}
	if bytes.Contains(p[8:off], []byte("89ab")) {
		t.Errorf("Write left the headroom as it was (%q); the double must scribble it", p[8:off])
	}
}

func TestOffsetBelowHeadroomRefused(t *testing.T) {
	a, b := NewPair(0)
	defer a.Close()
	defer b.Close()
	bufs, sizes := batch(1, 100)
	if _, err := a.Write(bufs, tunif.Headroom-1); !errors.Is(err, tunif.ErrOffset) {
		t.Errorf("Write at offset %d: %v, want ErrOffset", tunif.Headroom-1, err)
	}
	if _, err := a.Read(bufs, sizes, 0); !errors.Is(err, tunif.ErrOffset) {
		t.Errorf("Read at offset 0: %v, want ErrOffset", err)
	}
}

func TestPacketFillingBufferDropped(t *testing.T) {
	a, b := NewPair(0)
	defer a.Close()
	defer b.Close()
	if _, err := a.Write([][]byte{packet(1, 50), packet(2, 100), packet(3, 60)}, off); err != nil {
		t.Fatal(err)
	}
	bufs, sizes := batch(4, 100)
	n, err := b.Read(bufs, sizes, off)
	if n != 1 || !errors.Is(err, tunif.ErrTruncated) {
		t.Fatalf("Read = %d, %v; want 1 and ErrTruncated", n, err)
	}
	n, err = b.Read(bufs, sizes, off)
	if n != 1 || err != nil || sizes[0] != 60 {
		t.Fatalf("Read after the drop = %d, %v, size %d; want the 60-byte packet", n, err, sizes[0])
	}
	if n, err := a.Write([][]byte{packet(4, 10), make([]byte, off), packet(5, 11)}, off); n != 2 || !errors.Is(err, tunif.ErrPacketSize) {
		t.Errorf("a batch with an empty packet: Write = %d, %v; want 2 written, ErrPacketSize", n, err)
	}
	if n, err := b.Read(bufs, sizes, off); n != 2 || err != nil || sizes[0] != 10 || sizes[1] != 11 {
		t.Errorf("Read after a batch with an empty packet = %d, %v, sizes %v; want the two others", n, err, sizes[:2])
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	a, b := NewPair(0)
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		bufs, sizes := batch(1, 100)
		_, err := a.Read(bufs, sizes, off)
		errc <- err
	}()
	a.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if _, err := a.Write([][]byte{packet(0, 10)}, off); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v, want os.ErrClosed", err)
	}
	// The peer's writes go nowhere but do not block or fail.
	if n, err := b.Write([][]byte{packet(0, 10)}, off); n != 1 || err != nil {
		t.Errorf("Write to a closed peer = %d, %v; want 1, nil", n, err)
	}
}

func TestFullQueueWriteWaitsForReader(t *testing.T) {
	a, b := NewPair(0)
	defer a.Close()
	defer b.Close()
	out := make([][]byte, QueueLen+BatchSize)
	for i := range out {
		out[i] = packet(i, 40)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.Write(out, off)
		done <- err
	}()
	bufs, sizes := batch(BatchSize, 100)
	for got := 0; got < len(out); {
		n, err := b.Read(bufs, sizes, off)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if bufs[i][off] != byte(got+i) {
				t.Fatalf("packet %d out of order: first byte %d", got+i, bufs[i][off])
			}
		}
		got += n
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMTU(t *testing.T) {
	a, b := NewPair(1280)
	defer a.Close()
	defer b.Close()
	if m, _ := a.MTU(); m != 1280 {
		t.Errorf("MTU = %d, want 1280", m)
	}
	if err := a.SetMTU(9000); err != nil {
		t.Fatal(err)
	}
	if m, _ := a.MTU(); m != 9000 {
		t.Errorf("MTU after SetMTU(9000) = %d", m)
	}
	if a.SetMTU(0) == nil || a.SetMTU(tunif.MaxPacket+1) == nil {
		t.Error("SetMTU accepted an impossible MTU")
	}
}

// TestNoAllocationsPerBatch holds the doubles to what the real devices
// promise: nothing allocated per packet in the steady state.
func TestNoAllocationsPerBatch(t *testing.T) {
	a, b := NewPair(0)
	defer a.Close()
	defer b.Close()
	out := make([][]byte, 32)
	for i := range out {
		out[i] = packet(i, 1400)
	}
	bufs, sizes := batch(BatchSize, 1500)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.Write(out, off); err != nil {
			t.Fatal(err)
		}
		if n, err := b.Read(bufs, sizes, off); n != 32 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per batch of 32, want 0", allocs)
	}
}

func BenchmarkPairBatch32(b *testing.B) {
	x, y := NewPair(0)
	defer x.Close()
	defer y.Close()
	out := make([][]byte, 32)
	for i := range out {
		out[i] = packet(i, 1400)
	}
	bufs, sizes := batch(BatchSize, 1500)
	b.SetBytes(32 * 1400)
	b.ReportAllocs()
	for b.Loop() {
		x.Write(out, off)
		y.Read(bufs, sizes, off)
	}
}

func TestSendRecv(t *testing.T) {
	dev, peer := NewPair(0)
	defer dev.Close()
	if err := peer.Send([]byte("to the engine"), []byte("and another")); err != nil {
		t.Fatal(err)
	}
	bufs, sizes := batch(BatchSize, 100)
	if n, _ := dev.Read(bufs, sizes, off); n != 2 || string(bufs[1][off:off+sizes[1]]) != "and another" {
		t.Fatalf("the device read %d packets", n)
	}
	if _, err := dev.Write([][]byte{append(make([]byte, off), "from it"...)}, off); err != nil {
		t.Fatal(err)
	}
	if p, err := peer.Recv(10 * time.Second); err != nil || string(p) != "from it" {
		t.Fatalf("Recv = %q, %v", p, err)
	}
	if _, err := peer.Recv(time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Recv with nothing sent: %v, want ErrTimeout", err)
	}
	peer.Close()
	if _, err := peer.Recv(time.Second); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Recv after Close: %v, want os.ErrClosed", err)
	}
}
