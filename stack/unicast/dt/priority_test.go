package dt

import (
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"o7s.dev/ouroboros/stack/qos"
)

// The scenario of the priority tests: a link that sends one 1400-byte
// packet per 100 µs (112 Mbit/s), a best-effort source offering twice that,
// and a voice source sending one packet per millisecond. Voice must keep a
// queueing delay of about one packet time while best effort queues up to
// its limit.
const (
	serviceTime = 100 * time.Microsecond
	bePeriod    = 50 * time.Microsecond
	voicePeriod = time.Millisecond
	prioLimit   = 256
)

// delays collects queueing delays per cube.
type delays struct {
	mu sync.Mutex
	d  [numCubes][]time.Duration
}

func (d *delays) add(c qos.Cube, v time.Duration) {
	d.mu.Lock()
	d.d[c] = append(d.d[c], v)
	d.mu.Unlock()
}

// quantile returns the q-quantile of cube c's delays, and the mean of the
// last tenth (the delay once queues have built up).
func (d *delays) quantile(c qos.Cube, q float64) (time.Duration, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.d[c]
	if len(v) == 0 {
		return 0, 0
	}
	var tail time.Duration
	last := v[len(v)*9/10:]
	for _, x := range last {
		tail += x
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))], tail / time.Duration(len(last))
}

// runPriority runs the scenario for dur and returns the delays. Packets
// carry their enqueue time; the consumer takes one packet per serviceTime.
// pace paces the consumer: a sleep in fake time, a spin in real time,
// where timer resolution can be a millisecond, ten times the service time.
// The producers sleep and catch up on their schedule, in bursts if timers
// are coarse.
func runPriority(dur time.Duration, pace func(time.Time)) *delays {
	q := NewQueue(prioLimit)
	var res delays
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs, lens := batchBufs(1, 1500)
		for {
			if _, err := q.DequeueBatch(bufs, lens); err != nil {
				return
			}
			sent := int64(binary.BigEndian.Uint64(bufs[0][1:]))
			now := time.Now()
			res.add(qos.Cube(bufs[0][0]), time.Duration(now.UnixNano()-sent))
			pace(now.Add(serviceTime))
		}
	}()
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	produce := func(c qos.Cube, period time.Duration) {
		pkt := make([]byte, 1400)
		pkt[0] = byte(c)
		for next := time.Now(); next.Before(end); next = next.Add(period) {
			time.Sleep(time.Until(next))
			binary.BigEndian.PutUint64(pkt[1:], uint64(time.Now().UnixNano()))
			q.Enqueue(c, pkt, -1)
		}
	}
	wg.Go(func() { produce(qos.CubeBE, bePeriod) })
	wg.Go(func() { produce(qos.CubeVoice, voicePeriod) })
	wg.Wait()
	q.Close()
	<-done
	return &res
}

// TestVoiceDelayUnderLoad runs the scenario in fake time, so the numbers
// are exact and the test cannot flake on a loaded machine.
func TestVoiceDelayUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := runPriority(500*time.Millisecond, func(t time.Time) { time.Sleep(time.Until(t)) })
		v99, vTail := res.quantile(qos.CubeVoice, 0.99)
		b99, bTail := res.quantile(qos.CubeBE, 0.99)
		t.Logf("voice: %d packets, p99 %v, late mean %v; best effort: %d packets, p99 %v, late mean %v",
			len(res.d[qos.CubeVoice]), v99, vTail, len(res.d[qos.CubeBE]), b99, bTail)
		if n := len(res.d[qos.CubeVoice]); n < 490 {
			t.Fatalf("only %d voice packets arrived", n)
		}
		if v99 >= 2*time.Millisecond || v99 > serviceTime {
			t.Fatalf("voice p99 delay %v: priority does not work", v99)
		}
		// Best effort fills its queue: the delay approaches limit × service time.
		if bTail < prioLimit*serviceTime*8/10 {
			t.Fatalf("best-effort delay %v did not grow: was the link saturated?", bTail)
		}
	})
}

// BenchmarkVoiceDelayRealTime runs the scenario for 300 ms of real time
// per iteration and reports the worst delays over the iterations, as the
// scheduler achieves them with real timers and goroutine scheduling.
func BenchmarkVoiceDelayRealTime(b *testing.B) {
	var v99, b99, bTail time.Duration
	for b.Loop() {
		res := runPriority(300*time.Millisecond, spinUntil)
		v, _ := res.quantile(qos.CubeVoice, 0.99)
		be, tail := res.quantile(qos.CubeBE, 0.99)
		v99, b99, bTail = max(v99, v), max(b99, be), max(bTail, tail)
	}
	b.ReportMetric(float64(v99.Microseconds()), "voice-p99-µs")
	b.ReportMetric(float64(b99.Microseconds()), "be-p99-µs")
	b.ReportMetric(float64(bTail.Microseconds()), "be-late-µs")
}

// spinUntil waits for t without timers, yielding so the other goroutines
// of the scenario can run.
func spinUntil(t time.Time) {
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}
