package frcttest_test

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/frct"
	"o7s.dev/ouroboros/stack/frct/frcttest"
)

// The check lives here rather than in the package so that frct's own
// internal tests may import frcttest without an import cycle.
var _ frct.Lower = (*frcttest.End)(nil)

// patience bounds every wait that should end, so a bug fails a test rather
// than hanging it.
const patience = 10 * time.Second

// batch returns n PDUs of size bytes (at least 4) numbered from first.
func batch(first, n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		binary.BigEndian.PutUint32(out[i], uint32(first+i))
		for j := 4; j < size; j++ {
			out[i][j] = byte(first + i + j)
		}
	}
	return out
}

func seqOf(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func buffers(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

// send writes n PDUs numbered from 0 in batches of 32, then closes e.
func send(t *testing.T, e *frcttest.End, n, size int) {
	t.Helper()
	for i := 0; i < n; i += 32 {
		k := min(32, n-i)
		if w, err := e.WriteBatch(batch(i, k, size)); w != k || err != nil {
			t.Errorf("WriteBatch = %d, %v; want %d, nil", w, err, k)
			return
		}
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// drain reads e until io.EOF and returns the sequence numbers read.
func drain(t *testing.T, e *frcttest.End) []uint32 {
	t.Helper()
	bufs, lens := buffers(32, 2048)
	var seqs []uint32
	if err := e.SetReadDeadline(time.Now().Add(patience)); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := e.ReadBatch(bufs, lens)
		for i := range n {
			seqs = append(seqs, seqOf(bufs[i][:lens[i]]))
		}
		if errors.Is(err, io.EOF) {
			return seqs
		}
		if err != nil {
			t.Fatalf("ReadBatch after %d PDUs: %v", len(seqs), err)
		}
	}
}

// transfer sends n PDUs a→b over a link impaired as imp and returns what b
// read and a's Stats.
func transfer(t *testing.T, imp frcttest.Impairment, n int) ([]uint32, frcttest.Stats) {
	t.Helper()
	a, b := frcttest.Link(imp, frcttest.Impairment{})
	go send(t, a, n, 64)
	seqs := drain(t, b)
	return seqs, a.Stats()
}

// within fails unless got is within tol of want.
func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %v, want %v ± %v", what, got, want, tol)
	}
}

// elapsed runs f and returns how long it took.
func elapsed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// await fails the test if ch does not yield within patience.
func await[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatal("still blocked")
		panic("unreachable")
	}
}

type result struct {
	n   int
	err error
}

func goRead(e *frcttest.End, bufs [][]byte, lens []int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := e.ReadBatch(bufs, lens)
		ch <- result{n, err}
	}()
	return ch
}

func goWrite(e *frcttest.End, pdus [][]byte) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := e.WriteBatch(pdus)
		ch <- result{n, err}
	}()
	return ch
}

// blocked fails the test if ch yields within a short while.
func blocked(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("returned %d, %v; want it blocked", r.n, r.err)
	case <-time.After(30 * time.Millisecond):
	}
}

func want(t *testing.T, what string, r result, n int, target error) {
	t.Helper()
	if r.n != n || !errors.Is(r.err, target) && !(target == nil && r.err == nil) {
		t.Fatalf("%s = %d, %v; want %d, %v", what, r.n, r.err, n, target)
	}
}

func TestInOrder(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	const n = 10000
	go func() {
		for i := 0; i < n; {
			k := min(1+i%7, n-i)
			size := 4 + i%1500
			if w, err := a.WriteBatch(batch(i, k, size)); w != k || err != nil {
				t.Errorf("WriteBatch = %d, %v", w, err)
				return
			}
			i += k
		}
		a.Close()
	}()
	bufs, lens := buffers(16, 2048)
	next := 0
	for {
		m, err := b.ReadBatch(bufs, lens)
		for i := range m {
			pdu := bufs[i][:lens[i]]
			if got := seqOf(pdu); got != uint32(next) {
				t.Fatalf("PDU %d has seq %d", next, got)
			}
			for j := 4; j < len(pdu); j++ {
				if pdu[j] != byte(next+j) {
					t.Fatalf("PDU %d altered at byte %d", next, j)
				}
			}
			next++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if next != n {
		t.Fatalf("read %d PDUs, want %d", next, n)
	}
	if s := a.Stats(); s != (frcttest.Stats{Sent: n, Delivered: n}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestContents(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	bufs, lens := buffers(8, 2048)
	for size := 1; size <= 2048; size += 97 {
		pdu := make([]byte, size)
		for i := range pdu {
			pdu[i] = byte(size * i)
		}
		if _, err := a.WriteBatch([][]byte{pdu}); err != nil {
			t.Fatal(err)
		}
		orig := string(pdu)
		clear(pdu) // the link must have copied it
		if n, err := b.ReadBatch(bufs, lens); n != 1 || err != nil {
			t.Fatalf("ReadBatch = %d, %v", n, err)
		}
		if got := string(bufs[0][:lens[0]]); got != orig {
			t.Fatalf("PDU of %d bytes read as %d bytes, or altered", size, lens[0])
		}
	}
}

func TestLoss(t *testing.T) {
	const n = 100_000
	seqs, s := transfer(t, frcttest.Impairment{Loss: 0.1, Seed: 1}, n)
	// The count for this seed; a change means the PRNG use changed.
	const dropped = 10043
	if s.Dropped != dropped || len(seqs) != n-dropped {
		t.Errorf("dropped %d (read %d of %d), want %d for seed 1", s.Dropped, len(seqs), n, dropped)
	}
	within(t, "loss rate", float64(s.Dropped)/n, 0.1, 0.005)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("loss alone reordered: %d after %d", seqs[i], seqs[i-1])
		}
	}
	if s.Sent != n || s.Delivered != uint64(len(seqs)) {
		t.Errorf("Stats = %+v", s)
	}
}

// counts maps each sequence number to how often it was read.
func counts(seqs []uint32) map[uint32]int {
	m := make(map[uint32]int)
	for _, s := range seqs {
		m[s]++
	}
	return m
}

func TestSeedDeterminism(t *testing.T) {
	imp := frcttest.Impairment{Loss: 0.2, Duplicate: 0.1, Reorder: 0.1, Seed: 7}
	const n = 5000
	seqs1, s1 := transfer(t, imp, n)
	seqs2, s2 := transfer(t, imp, n)
	if s1 != s2 {
		t.Errorf("same seed, different Stats: %+v and %+v", s1, s2)
	}
	c1, c2 := counts(seqs1), counts(seqs2)
	for i := range uint32(n) {
		if c1[i] != c2[i] {
			t.Fatalf("same seed: PDU %d read %d and %d times", i, c1[i], c2[i])
		}
	}
	// The decisions of a PDU do not depend on the other settings.
	imp.Jitter = time.Microsecond
	imp.Duplicate = 0
	seqs3, s3 := transfer(t, imp, n)
	if s3.Dropped != s1.Dropped || s3.Reordered != s1.Reordered {
		t.Errorf("jitter changed the decisions: %+v, was %+v", s3, s1)
	}
	for s := range counts(seqs3) {
		if c1[s] == 0 {
			t.Fatalf("jitter changed the decisions: PDU %d now arrives", s)
		}
	}
	imp.Seed = 8
	if _, s4 := transfer(t, imp, n); s4.Dropped == s1.Dropped && s4.Reordered == s1.Reordered {
		t.Errorf("another seed, same decisions: %+v", s4)
	}
}

func TestDirectionsDiffer(t *testing.T) {
	imp := frcttest.Impairment{Loss: 0.5, Seed: 3}
	a, b := frcttest.Link(imp, imp, frcttest.WithQueue(256))
	pdus := batch(0, 256, 8)
	a.WriteBatch(pdus)
	b.WriteBatch(pdus)
	bufs, lens := buffers(256, 8)
	a.SetReadDeadline(time.Now())
	b.SetReadDeadline(time.Now())
	na, _ := a.ReadBatch(bufs, lens)
	got := counts(nil)
	for i := range na {
		got[seqOf(bufs[i])]++
	}
	nb, _ := b.ReadBatch(bufs, lens)
	same := na == nb
	for i := range nb {
		same = same && got[seqOf(bufs[i])] == 1
	}
	if same {
		t.Error("both directions dropped the same PDUs")
	}
}

func TestDuplicate(t *testing.T) {
	const n = 20000
	seqs, s := transfer(t, frcttest.Impairment{Duplicate: 0.25, Seed: 2}, n)
	c := counts(seqs)
	extra := 0
	for i := range uint32(n) {
		switch c[i] {
		case 1:
		case 2:
			extra++
		default:
			t.Fatalf("PDU %d read %d times", i, c[i])
		}
	}
	if uint64(extra) != s.Duplicated || s.Delivered != n+s.Duplicated {
		t.Errorf("%d duplicates read; Stats = %+v", extra, s)
	}
	within(t, "duplicate rate", float64(extra)/n, 0.25, 0.02)
}

func TestReorder(t *testing.T) {
	const n = 20000
	seqs, s := transfer(t, frcttest.Impairment{Reorder: 0.1, Seed: 4}, n)
	c := counts(seqs)
	for i := range uint32(n) {
		if c[i] != 1 {
			t.Fatalf("PDU %d read %d times", i, c[i])
		}
	}
	// A PDU read after a higher one was held back; held ones that nothing
	// overtook before they were released are not seen as reordered.
	late, highest := 0, uint32(0)
	for _, q := range seqs {
		if q < highest {
			late++
		}
		highest = max(highest, q)
	}
	if late == 0 || uint64(late) > s.Reordered || uint64(late) < s.Reordered/2 {
		t.Errorf("%d PDUs read late; Stats = %+v", late, s)
	}
	within(t, "reorder rate", float64(s.Reordered)/n, 0.1, 0.01)
}

func TestReorderTail(t *testing.T) {
	// Every PDU is held and none follows to overtake them: they must still
	// arrive, soon after their due time.
	a, b := frcttest.Link(frcttest.Impairment{Reorder: 1}, frcttest.Impairment{})
	go send(t, a, 5, 8)
	d := elapsed(func() {
		if seqs := drain(t, b); len(seqs) != 5 {
			t.Errorf("read %v", seqs)
		}
	})
	if d > time.Second {
		t.Errorf("held PDUs took %v", d)
	}
}

func TestReorderSilence(t *testing.T) {
	// A held PDU that nothing follows reaches a reader already asleep.
	a, b := frcttest.Link(frcttest.Impairment{Reorder: 1}, frcttest.Impairment{})
	bufs, lens := buffers(1, 8)
	rd := goRead(b, bufs, lens)
	blocked(t, rd)
	a.WriteBatch(batch(0, 1, 8))
	want(t, "ReadBatch", await(t, rd), 1, nil)
}

func TestDelay(t *testing.T) {
	const delay = 30 * time.Millisecond
	a, b := frcttest.Link(frcttest.Impairment{Delay: delay}, frcttest.Impairment{})
	bufs, lens := buffers(4, 64)
	start := time.Now()
	a.WriteBatch(batch(0, 3, 8))
	// Not yet due: a past deadline finds nothing.
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if n, err := b.ReadBatch(bufs, lens); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadBatch before due = %d, %v", n, err)
	}
	b.SetReadDeadline(time.Time{})
	n, err := b.ReadBatch(bufs, lens)
	d := time.Since(start)
	if n != 3 || err != nil {
		t.Fatalf("ReadBatch = %d, %v", n, err)
	}
	if d < delay || d > delay+100*time.Millisecond {
		t.Errorf("PDUs read after %v, want %v", d, delay)
	}
}

func TestJitter(t *testing.T) {
	const delay, jitter = 10 * time.Millisecond, 40 * time.Millisecond
	a, b := frcttest.Link(frcttest.Impairment{Delay: delay, Jitter: jitter, Seed: 5}, frcttest.Impairment{})
	start := time.Now()
	const n = 50
	a.WriteBatch(batch(0, n, 8))
	a.Close()
	bufs, lens := buffers(1, 8)
	var first, last time.Duration
	reordered := false
	for i := 0; ; i++ {
		m, err := b.ReadBatch(bufs, lens)
		if errors.Is(err, io.EOF) {
			break
		}
		if m != 1 || err != nil {
			t.Fatal(m, err)
		}
		d := time.Since(start)
		if i == 0 {
			first = d
		}
		last = d
		reordered = reordered || seqOf(bufs[0]) != uint32(i)
	}
	if first < delay || last > delay+jitter+100*time.Millisecond || last-first < jitter/2 {
		t.Errorf("PDUs read from %v to %v, want spread over [%v, %v)", first, last, delay, delay+jitter)
	}
	if !reordered {
		t.Error("jitter did not reorder PDUs sent together")
	}
}

func TestBackPressure(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{}, frcttest.WithQueue(4))
	bufs, lens := buffers(2, 8)

	// A writer blocks while the queue is full, and goes on as reads free room.
	w := goWrite(a, batch(0, 6, 8))
	blocked(t, w)
	if n, err := b.ReadBatch(bufs, lens); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	want(t, "WriteBatch", await(t, w), 6, nil)

	// The queue is full again: the write deadline ends the wait.
	a.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
	var r result
	d := elapsed(func() { r.n, r.err = a.WriteBatch(batch(6, 1, 8)) })
	want(t, "WriteBatch on a full queue", r, 0, os.ErrDeadlineExceeded)
	if d < 30*time.Millisecond || d > time.Second {
		t.Errorf("write deadline took effect after %v", d)
	}

	// A past deadline: write what fits, at once.
	b.ReadBatch(bufs, lens)
	a.SetWriteDeadline(time.Now().Add(-time.Second))
	r.n, r.err = a.WriteBatch(batch(6, 3, 8))
	want(t, "WriteBatch with a past deadline", r, 2, os.ErrDeadlineExceeded)

	// A deadline set while a writer blocks takes effect for it.
	a.SetWriteDeadline(time.Time{})
	w = goWrite(a, batch(8, 1, 8))
	blocked(t, w)
	a.SetWriteDeadline(time.Now())
	want(t, "blocked WriteBatch after SetWriteDeadline", await(t, w), 0, os.ErrDeadlineExceeded)
}

func TestDelayedPDUsFillQueue(t *testing.T) {
	// PDUs in flight take room, as in a socket buffer.
	a, _ := frcttest.Link(frcttest.Impairment{Delay: time.Hour}, frcttest.Impairment{}, frcttest.WithQueue(3))
	if n, err := a.TryWriteBatch(batch(0, 5, 8)); n != 3 || err != nil {
		t.Fatalf("TryWriteBatch = %d, %v; want 3, nil", n, err)
	}
}

func TestTryWriteBatch(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{}, frcttest.WithQueue(4))
	done := make(chan result, 1)
	go func() {
		var r result
		if r.n, r.err = a.TryWriteBatch(batch(0, 6, 8)); r.n != 4 || r.err != nil {
			done <- r
			return
		}
		r.n, r.err = a.TryWriteBatch(batch(4, 2, 8))
		done <- r
	}()
	want(t, "TryWriteBatch on a full queue", await(t, done), 0, nil)

	bufs, lens := buffers(8, 8)
	if n, err := b.ReadBatch(bufs, lens); n != 4 || err != nil || seqOf(bufs[3]) != 3 {
		t.Fatalf("ReadBatch = %d, %v", n, err)
	}
}

func TestReadDeadline(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	bufs, lens := buffers(4, 8)

	// A past deadline: what is due, else the deadline error, at once.
	b.SetReadDeadline(time.Now().Add(-time.Second))
	if n, err := b.ReadBatch(bufs, lens); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("empty ReadBatch = %d, %v", n, err)
	}
	a.WriteBatch(batch(0, 3, 8))
	if n, err := b.ReadBatch(bufs, lens); n != 3 || err != nil {
		t.Fatalf("ReadBatch = %d, %v; want 3, nil", n, err)
	}

	// A future deadline.
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var r result
	d := elapsed(func() { r.n, r.err = b.ReadBatch(bufs, lens) })
	want(t, "ReadBatch", r, 0, os.ErrDeadlineExceeded)
	if d < 20*time.Millisecond {
		t.Errorf("read deadline took effect after %v", d)
	}
}

func TestReadDeadlineWhileBlocked(t *testing.T) {
	_, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	bufs, lens := buffers(1, 8)

	// No deadline, then one set from another goroutine.
	b.SetReadDeadline(time.Time{})
	rd := goRead(b, bufs, lens)
	blocked(t, rd)
	b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	want(t, "ReadBatch", await(t, rd), 0, os.ErrDeadlineExceeded)

	// A past deadline wakes it at once, as FRCT does to wake its receiver.
	b.SetReadDeadline(time.Time{})
	rd = goRead(b, bufs, lens)
	blocked(t, rd)
	b.SetReadDeadline(time.Now().Add(-time.Second))
	want(t, "ReadBatch", await(t, rd), 0, os.ErrDeadlineExceeded)

	// A later deadline postpones the wake-up.
	start := time.Now()
	b.SetReadDeadline(start.Add(20 * time.Millisecond))
	rd = goRead(b, bufs, lens)
	time.Sleep(5 * time.Millisecond)
	b.SetReadDeadline(start.Add(80 * time.Millisecond))
	want(t, "ReadBatch", await(t, rd), 0, os.ErrDeadlineExceeded)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("extended read deadline took effect after %v", d)
	}
}

func TestReadWakesOnWrite(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{Delay: 20 * time.Millisecond}, frcttest.Impairment{})
	bufs, lens := buffers(4, 8)
	// The reader sleeps until the first PDU is due; a write of a PDU due
	// earlier (here: any, after a read emptied the queue) must wake it.
	rd := goRead(b, bufs, lens)
	blocked(t, rd)
	a.WriteBatch(batch(0, 1, 8))
	want(t, "ReadBatch", await(t, rd), 1, nil)
}

func TestClose(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{Delay: 20 * time.Millisecond}, frcttest.Impairment{})
	a.WriteBatch(batch(0, 3, 8))
	b.WriteBatch(batch(0, 2, 8)) // discarded when a closes
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// b reads what a wrote before closing, when due, then io.EOF for good.
	bufs, lens := buffers(8, 8)
	if n, err := b.ReadBatch(bufs, lens); n != 3 || err != nil {
		t.Fatalf("ReadBatch = %d, %v; want 3, nil", n, err)
	}
	for range 2 {
		if n, err := b.ReadBatch(bufs, lens); n != 0 || err != io.EOF {
			t.Fatalf("ReadBatch = %d, %v; want 0, io.EOF", n, err)
		}
	}
	// b's writes fail: nobody reads them.
	for _, write := range []func([][]byte) (int, error){b.WriteBatch, b.TryWriteBatch} {
		if n, err := write(batch(0, 1, 8)); n != 0 || !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("write on the open end = %d, %v; want io.ErrClosedPipe", n, err)
		}
	}
	// Everything on a fails with ErrClosed, which matches os.ErrClosed.
	for _, write := range []func([][]byte) (int, error){a.WriteBatch, a.TryWriteBatch} {
		if n, err := write(batch(0, 1, 8)); n != 0 || !errors.Is(err, os.ErrClosed) {
			t.Errorf("write on the closed end = %d, %v; want os.ErrClosed", n, err)
		}
	}
	if n, err := a.ReadBatch(bufs, lens); n != 0 || !errors.Is(err, frcttest.ErrClosed) {
		t.Errorf("ReadBatch on the closed end = %d, %v; want ErrClosed", n, err)
	}
	for _, err := range []error{a.SetReadDeadline(time.Time{}), a.SetWriteDeadline(time.Time{}), a.Close()} {
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("got %v; want os.ErrClosed", err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("closing the other end: %v", err)
	}
}

func TestCloseUnblocks(t *testing.T) {
	bufs, lens := buffers(1, 8)
	full := frcttest.WithQueue(1)
	t.Run("own read", func(t *testing.T) {
		a, _ := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
		rd := goRead(a, bufs, lens)
		blocked(t, rd)
		a.Close()
		want(t, "ReadBatch", await(t, rd), 0, os.ErrClosed)
	})
	t.Run("own write", func(t *testing.T) {
		a, _ := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{}, full)
		w := goWrite(a, batch(0, 2, 8))
		blocked(t, w)
		a.Close()
		want(t, "WriteBatch", await(t, w), 1, os.ErrClosed)
	})
	t.Run("peer read", func(t *testing.T) {
		a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
		rd := goRead(b, bufs, lens)
		blocked(t, rd)
		a.Close()
		want(t, "ReadBatch", await(t, rd), 0, io.EOF)
	})
	t.Run("peer write", func(t *testing.T) {
		a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{}, full)
		w := goWrite(b, batch(0, 2, 8))
		blocked(t, w)
		a.Close()
		want(t, "WriteBatch", await(t, w), 1, io.ErrClosedPipe)
	})
}

func TestMTU(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{}, frcttest.WithMTU(100))
	pdus := [][]byte{make([]byte, 100), make([]byte, 101), make([]byte, 10)}
	for _, write := range []func([][]byte) (int, error){a.WriteBatch, a.TryWriteBatch} {
		if n, err := write(pdus); n != 1 || !errors.Is(err, syscall.EMSGSIZE) {
			t.Errorf("write = %d, %v; want 1, EMSGSIZE", n, err)
		}
		if n, err := write([][]byte{{1}, {}}); n != 1 || !errors.Is(err, frcttest.ErrEmpty) {
			t.Errorf("write = %d, %v; want 1, ErrEmpty", n, err)
		}
	}
	if s := a.Stats(); s.Sent != 4 || b.Stats() != (frcttest.Stats{}) {
		t.Errorf("Stats = %+v and %+v", s, b.Stats())
	}
}

func TestTruncated(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	a.WriteBatch([][]byte{[]byte("0123456789"), []byte("abcde")})
	bufs := [][]byte{make([]byte, 4), make([]byte, 10)}
	lens := make([]int, 2)
	n, err := b.ReadBatch(bufs, lens)
	if n != 1 || !errors.Is(err, frcttest.ErrTruncated) || lens[0] != 4 || string(bufs[0]) != "0123" {
		t.Fatalf("ReadBatch = %d, %v, %q; want 1, ErrTruncated, \"0123\"", n, err, bufs[0][:lens[0]])
	}
	if n, err := b.ReadBatch(bufs[1:], lens[1:]); n != 1 || err != nil || string(bufs[1][:lens[1]]) != "abcde" {
		t.Fatalf("next ReadBatch = %d, %v", n, err)
	}
	if n, err := b.ReadBatch(nil, nil); n != 0 || err != nil {
		t.Fatalf("empty ReadBatch = %d, %v", n, err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{}, frcttest.WithQueue(64))
	const writers, n = 6, 3000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < n; {
				pdus := batch(w<<24|i, min(8, n-i), 16)
				var k int
				var err error
				if w%2 == 0 {
					k, err = a.WriteBatch(pdus)
				} else {
					k, err = a.TryWriteBatch(pdus)
					if k == 0 {
						runtime.Gosched()
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				i += k
			}
		})
	}
	go func() {
		for range 100 {
			a.Stats()
			b.SetReadDeadline(time.Now().Add(patience))
			a.SetWriteDeadline(time.Time{})
			time.Sleep(time.Millisecond)
		}
	}()
	go func() {
		wg.Wait()
		a.Close()
	}()
	next := make([]int, writers)
	for _, s := range drain(t, b) {
		w, i := int(s>>24), int(s&0xffffff)
		if i != next[w] {
			t.Fatalf("writer %d: PDU %d after %d", w, i, next[w]-1)
		}
		next[w]++
	}
	for w, got := range next {
		if got != n {
			t.Errorf("writer %d: read %d PDUs, want %d", w, got, n)
		}
	}
}

func TestStats(t *testing.T) {
	imp := frcttest.Impairment{Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Jitter: time.Millisecond, Seed: 9}
	const n = 3000
	seqs, s := transfer(t, imp, n)
	if s.Sent != n || s.Delivered != uint64(len(seqs)) || s.Delivered+s.Dropped != n+s.Duplicated {
		t.Errorf("Stats = %+v with %d read", s, len(seqs))
	}
	if s.Dropped == 0 || s.Duplicated == 0 || s.Reordered == 0 {
		t.Errorf("Stats = %+v; want every impairment seen", s)
	}
}

func TestAllocs(t *testing.T) {
	a, b := frcttest.Link(frcttest.Impairment{}, frcttest.Impairment{})
	pdus := batch(0, 32, 1400)
	bufs, lens := buffers(32, 1500)
	allocs := testing.AllocsPerRun(100, func() {
		a.WriteBatch(pdus)
		b.ReadBatch(bufs, lens)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
}

func TestInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		imp  frcttest.Impairment
		opts []frcttest.Option
	}{
		{"loss", frcttest.Impairment{Loss: 1.5}, nil},
		{"NaN", frcttest.Impairment{Reorder: math.NaN()}, nil},
		{"delay", frcttest.Impairment{Delay: -1}, nil},
		{"queue", frcttest.Impairment{}, []frcttest.Option{frcttest.WithQueue(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Link did not panic")
				}
			}()
			frcttest.Link(tc.imp, frcttest.Impairment{}, tc.opts...)
		})
	}
}

// benchmark carries b.N PDUs of 1400 bytes in batches of 32 from a writer
// goroutine to a reader, and reports the rate.
func benchmark(b *testing.B, imp frcttest.Impairment) {
	x, y := frcttest.Link(imp, frcttest.Impairment{})
	b.SetBytes(1400)
	b.ReportAllocs()
	go func() {
		pdus := batch(0, 32, 1400)
		for i := 0; i < b.N; i += 32 {
			if _, err := x.WriteBatch(pdus[:min(32, b.N-i)]); err != nil {
				b.Error(err)
				break
			}
		}
		x.Close()
	}()
	bufs, lens := buffers(32, 1500)
	for {
		if _, err := y.ReadBatch(bufs, lens); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			break
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "PDU/s")
}

func BenchmarkLink(b *testing.B) { benchmark(b, frcttest.Impairment{}) }

func BenchmarkLinkImpaired(b *testing.B) {
	benchmark(b, frcttest.Impairment{Loss: 0.01, Duplicate: 0.01, Reorder: 0.01, Jitter: 10 * time.Microsecond, Seed: 1})
}
