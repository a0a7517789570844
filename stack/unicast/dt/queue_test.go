package dt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"

	"o7s.dev/ouroboros/stack/qos"
)

// tagged returns a packet of n bytes (at least 9) starting with the cube and
// a sequence number, so tests can tell packets apart.
func tagged(c qos.Cube, seq uint64, n int) []byte {
	p := make([]byte, n)
	p[0] = byte(c)
	binary.BigEndian.PutUint64(p[1:], seq)
	return p
}

func batchBufs(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

func TestQueueStrictPriority(t *testing.T) {
	q := NewQueue(8)
	order := []qos.Cube{qos.CubeBE, qos.CubeVoice, qos.CubeBE, qos.CubeVideo, qos.CubeVoice, qos.CubeBE, qos.CubeVideo}
	for i, c := range order {
		if !q.Enqueue(c, tagged(c, uint64(i), 20+i), -1) {
			t.Fatalf("enqueue %d refused", i)
		}
	}
	if q.Len() != len(order) || q.CubeLen(qos.CubeBE) != 3 || q.CubeLen(qos.CubeVoice) != 2 {
		t.Fatalf("Len %d, BE %d, voice %d", q.Len(), q.CubeLen(qos.CubeBE), q.CubeLen(qos.CubeVoice))
	}
	bufs, lens := batchBufs(4, 100)
	want := []struct {
		c   qos.Cube
		seq uint64
	}{{qos.CubeVoice, 1}, {qos.CubeVoice, 4}, {qos.CubeVideo, 3}, {qos.CubeVideo, 6}, {qos.CubeBE, 0}, {qos.CubeBE, 2}, {qos.CubeBE, 5}}
	var got int
	for got < len(want) {
		n, err := q.DequeueBatch(bufs, lens)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			w := want[got]
			p := bufs[i][:lens[i]]
			if !bytes.Equal(p, tagged(w.c, w.seq, 20+int(w.seq))) {
				t.Fatalf("packet %d: % x, want cube %v seq %d", got, p[:9], w.c, w.seq)
			}
			got++
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len %d after draining", q.Len())
	}
}

func TestQueueLimitAndDrops(t *testing.T) {
	q := NewQueue(3)
	for i := range 3 {
		if !q.Enqueue(qos.CubeBE, tagged(qos.CubeBE, uint64(i), 10), -1) {
			t.Fatalf("packet %d refused below the limit", i)
		}
	}
	if q.Enqueue(qos.CubeBE, tagged(qos.CubeBE, 3, 10), -1) {
		t.Fatal("packet beyond the limit accepted")
	}
	if !q.Enqueue(qos.CubeVoice, tagged(qos.CubeVoice, 0, 10), -1) {
		t.Fatal("a full best-effort queue blocked voice")
	}
	if q.Enqueue(qos.Cube(3), make([]byte, 10), -1) || q.Enqueue(qos.CubeBE, make([]byte, MaxPacket+1), -1) {
		t.Fatal("unknown cube or oversized packet accepted")
	}
	if q.Drops() != 3 {
		t.Fatalf("Drops = %d, want 3", q.Drops())
	}
	// A packet too long for the caller's buffer is dropped, not truncated.
	bufs, lens := batchBufs(8, 16)
	q.Enqueue(qos.CubeVideo, make([]byte, 50), -1)
	n, err := q.DequeueBatch(bufs, lens)
	if err != nil || n != 4 || q.Drops() != 4 {
		t.Fatalf("DequeueBatch = %d, %v; drops %d", n, err, q.Drops())
	}
	if NewQueue(0).cubes[0].slots == nil || len(NewQueue(-1).cubes[2].slots) != DefaultQueueLimit {
		t.Fatal("limit < 1 does not give the default")
	}
}

func TestQueueECNMarking(t *testing.T) {
	c := mustCodec(t, 4)
	q := NewQueue(2000)
	const total = 4200
	pkt := make([]byte, c.Len())
	c.Put(pkt, Header{Dst: 1, TTL: 9})
	for i := range total {
		cube := qos.Cube(i % 3)
		if !q.Enqueue(cube, pkt, c.ECNOffset()) {
			t.Fatalf("packet %d refused", i)
		}
	}
	if pkt[c.ECNOffset()] != 0 {
		t.Fatal("Enqueue changed the caller's packet")
	}
	// Packet i (0-based) saw i packets queued before it; dequeue order is
	// by cube, so compute each cube's expected marks in turn.
	bufs, lens := batchBufs(1, 64)
	for cube := 2; cube >= 0; cube-- {
		for i := cube; i < total; i += 3 {
			if _, err := q.DequeueBatch(bufs, lens); err != nil {
				t.Fatal(err)
			}
			h, err := c.Parse(bufs[0][:lens[0]])
			if err != nil {
				t.Fatal(err)
			}
			if want := uint8(min(255, i>>4)); h.ECN != want {
				t.Fatalf("packet %d: ECN %d, want %d", i, h.ECN, want)
			}
		}
	}

	// A higher mark from upstream stays; no offset, no mark; an offset
	// beyond the packet is ignored.
	for range 40 {
		q.Enqueue(qos.CubeBE, pkt, -1)
	}
	hi := patch(pkt, c.ECNOffset(), 200)
	q.Enqueue(qos.CubeVoice, hi, c.ECNOffset())
	q.Enqueue(qos.CubeVoice, pkt, -1)
	q.Enqueue(qos.CubeVoice, pkt[:3], 7)
	bufs, lens = batchBufs(3, 64)
	if n, _ := q.DequeueBatch(bufs, lens); n != 3 {
		t.Fatalf("got %d packets", n)
	}
	if bufs[0][c.ECNOffset()] != 200 || bufs[1][c.ECNOffset()] != 0 || lens[2] != 3 {
		t.Fatalf("marks %d %d, len %d", bufs[0][c.ECNOffset()], bufs[1][c.ECNOffset()], lens[2])
	}
}

func TestQueueCloseDrainsThenEOF(t *testing.T) {
	q := NewQueue(4)
	q.Enqueue(qos.CubeBE, []byte("a"), -1)
	q.Close()
	q.Close()
	if q.Enqueue(qos.CubeBE, []byte("b"), -1) || q.Drops() != 0 {
		t.Fatalf("closed queue took a packet or counted a drop (%d)", q.Drops())
	}
	bufs, lens := batchBufs(2, 8)
	if n, err := q.DequeueBatch(bufs, lens); n != 1 || err != nil || string(bufs[0][:lens[0]]) != "a" {
		t.Fatalf("drain: %d %v", n, err)
	}
	if _, err := q.DequeueBatch(bufs, lens); !errors.Is(err, io.EOF) {
		t.Fatalf("after drain: %v", err)
	}
	if n, err := q.DequeueBatch(nil, nil); n != 0 || err != nil {
		t.Fatalf("empty batch: %d %v", n, err)
	}
}

func TestQueueDequeueWaits(t *testing.T) {
	q := NewQueue(4)
	got := make(chan string)
	go func() {
		bufs, lens := batchBufs(4, 8)
		for {
			n, err := q.DequeueBatch(bufs, lens)
			if err != nil {
				close(got)
				return
			}
			for i := range n {
				got <- string(bufs[i][:lens[i]])
			}
		}
	}()
	for _, s := range []string{"x", "y", "z"} {
		q.Enqueue(qos.CubeVideo, []byte(s), -1)
		if r := <-got; r != s {
			t.Fatalf("got %q, want %q", r, s)
		}
	}
	q.Close()
	if _, ok := <-got; ok {
		t.Fatal("dequeuer did not stop at Close")
	}
}

// TestQueueConcurrent has several producers per cube and one consumer: no
// packet may be lost or reordered within its producer.
func TestQueueConcurrent(t *testing.T) {
	const producers, each = 6, 3000
	q := NewQueue(64)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			c := qos.Cube(p % 3)
			for i := range each {
				pkt := tagged(c, uint64(p)<<32|uint64(i), 9+p)
				for !q.Enqueue(c, pkt, -1) {
					// Full: a real forwarder drops; here every packet must arrive.
				}
			}
		})
	}
	done := make(chan struct{})
	next := make([]uint64, producers)
	go func() {
		defer close(done)
		bufs, lens := batchBufs(16, 32)
		for {
			n, err := q.DequeueBatch(bufs, lens)
			if err != nil {
				return
			}
			for i := range n {
				v := binary.BigEndian.Uint64(bufs[i][1:])
				p, seq := v>>32, v&0xffffffff
				if lens[i] != 9+int(p) || seq != next[p] {
					t.Errorf("producer %d: got seq %d len %d, want seq %d", p, seq, lens[i], next[p])
					return
				}
				next[p]++
			}
		}
	}()
	wg.Wait()
	q.Close()
	<-done
	for p, n := range next {
		if n != each {
			t.Fatalf("producer %d: %d of %d packets arrived", p, n, each)
		}
	}
}

func TestQueueNoAllocs(t *testing.T) {
	q := NewQueue(64)
	pkt := make([]byte, 1400)
	bufs, lens := batchBufs(8, 1500)
	cycle := func() {
		for i := range 8 {
			q.Enqueue(qos.Cube(i%3), pkt, 6)
		}
		for q.Len() > 0 {
			if _, err := q.DequeueBatch(bufs, lens); err != nil {
				t.Fatal(err)
			}
		}
	}
	cycle() // grow the slot buffers
	if n := testing.AllocsPerRun(200, cycle); n != 0 {
		t.Fatalf("%v allocations per 8 packets", n)
	}
}

func BenchmarkQueue1400(b *testing.B) {
	q := NewQueue(256)
	pkt := make([]byte, 1400)
	bufs, lens := batchBufs(32, 1500)
	b.SetBytes(1400)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q.Enqueue(qos.Cube(i%3), pkt, 6)
		i++
		if q.Len() == len(bufs) {
			if _, err := q.DequeueBatch(bufs, lens); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkQueue1400Parallel: producers on every P, one consumer draining;
// a producer finding its queue full yields and retries, so every packet
// counted went through Enqueue and DequeueBatch.
func BenchmarkQueue1400Parallel(b *testing.B) {
	q := NewQueue(1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs, lens := batchBufs(32, 1500)
		for {
			if _, err := q.DequeueBatch(bufs, lens); err != nil {
				return
			}
		}
	}()
	b.SetBytes(1400)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		pkt := make([]byte, 1400)
		i := 0
		for pb.Next() {
			for !q.Enqueue(qos.Cube(i%3), pkt, 6) {
				runtime.Gosched()
			}
			i++
		}
	})
	b.StopTimer()
	q.Close()
	<-done
}
