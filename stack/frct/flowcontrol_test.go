package frct_test

import (
	"sync/atomic"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/frct"
	"o7s.dev/ouroboros/stack/frct/frcttest"
	"o7s.dev/ouroboros/stack/qos"
)

// TestSlowReaderHoldsBackEveryWriter: over a link that neither loses nor
// reorders, a reader slower than its writer must slow the writer, not
// lose SDUs, whatever the QoS: the flows that are not reliable are flow
// controlled too. The writer never gets more than a window ahead of the
// reader, the receiver skips nothing and drops nothing, and every SDU
// arrives once, in order.
func TestSlowReaderHoldsBackEveryWriter(t *testing.T) {
	for _, q := range []qos.Spec{qos.Best, qos.Video, qos.Voice, qos.Data} {
		t.Run(q.String(), func(t *testing.T) {
			const window = 64
			w, r, _ := lossy(t, q, frcttest.Impairment{Delay: time.Millisecond, Seed: 31},
				func(c *frct.Config) { c.Window = window })
			const n = 3000
			var written atomic.Int64
			errc := make(chan error, 1)
			go func() {
				buf := make([]byte, 1024)
				for i := range n {
					if _, err := w.Write(sdu(buf, i)); err != nil {
						errc <- err
						return
					}
					written.Add(1)
				}
				errc <- nil
			}()
			buf := make([]byte, 2048)
			r.SetReadDeadline(time.Now().Add(10 * time.Second))
			ahead := int64(0)
			for i := range n {
				if i%100 == 0 {
					time.Sleep(20 * time.Millisecond) // a slow reader: the writer fills the window
				}
				k, err := r.Read(buf)
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if got, err := checkSDU(buf[:k]); err != nil || got != i {
					t.Fatalf("read %d: SDU %d (%v)", i, got, err)
				}
				ahead = max(ahead, written.Load()-int64(i+1))
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			st := r.Stats()
			if st.Skipped != 0 || st.OutOfWindow != 0 {
				t.Fatalf("the receiver skipped %d and dropped %d out-of-window SDUs; %+v", st.Skipped, st.OutOfWindow, st)
			}
			// Read returns when the SDU is taken, before the window update
			// goes out: the writer may be a window ahead of the SDUs read
			// before this one.
			if ahead > window+1 {
				t.Fatalf("the writer got %d SDUs ahead of the reader, past the window of %d", ahead, window)
			}
			if ahead < window/2 {
				t.Fatalf("the writer was at most %d SDUs ahead: the reader was not slow, the test tests nothing", ahead)
			}
		})
	}
}
