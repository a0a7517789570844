package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestRTTStats(t *testing.T) {
	var s rttStats
	for _, v := range []time.Duration{2, 4, 4, 4, 5, 5, 7, 9} {
		s.add(v * time.Millisecond)
	}
	// The population standard deviation of 2,4,4,4,5,5,7,9 is exactly 2.
	if s.min != 2*time.Millisecond || s.max != 9*time.Millisecond || s.avg() != 5*time.Millisecond || s.mdev() != 2*time.Millisecond {
		t.Fatalf("min/avg/max/mdev = %v/%v/%v/%v, want 2ms/5ms/9ms/2ms", s.min, s.avg(), s.max, s.mdev())
	}
}

func TestRTTStatsStable(t *testing.T) {
	// A large mean with a tiny spread defeats the sum-of-squares formula.
	var s rttStats
	for i := range 1_000_000 {
		s.add(time.Hour + time.Duration(i%2)*2)
	}
	if d := s.mdev(); d != 1 {
		t.Fatalf("mdev = %v, want 1ns", d)
	}
	var empty rttStats
	if empty.mdev() != 0 || math.IsNaN(empty.mean) {
		t.Fatal("empty stats are not zero")
	}
}

func TestTracker(t *testing.T) {
	var tr tracker
	if tr.reply(0) != replyBogus {
		t.Fatal("reply before any ping is not bogus")
	}
	for range 5 {
		tr.send()
	}
	steps := []struct {
		seq  uint32
		want replyKind
	}{
		{0, replyNew}, {2, replyNew}, {1, replyReordered}, {2, replyDuplicate},
		{4, replyNew}, {5, replyBogus}, {3, replyReordered},
	}
	for _, s := range steps {
		if got := tr.reply(s.seq); got != s.want {
			t.Errorf("reply(%d) = %d, want %d", s.seq, got, s.want)
		}
	}
	if tr.received != 5 || tr.dups != 1 || tr.reordered != 2 || tr.bogus != 2 || tr.outstanding() != 0 {
		t.Fatalf("tracker %+v", tr)
	}
}

func TestTrackerWindowAndWrap(t *testing.T) {
	var tr tracker
	tr.sent = 1<<32 - 2 // just below the 32-bit wrap
	a, b, c := tr.send(), tr.send(), tr.send()
	if a != 1<<32-2 || b != 1<<32-1 || c != 0 {
		t.Fatalf("sequence numbers %d %d %d do not wrap", a, b, c)
	}
	if tr.reply(c) != replyNew || tr.reply(a) != replyReordered || tr.reply(b) != replyReordered {
		t.Fatal("replies across the wrap misclassified")
	}
	for range window {
		tr.send()
	}
	if got := tr.reply(c); got != replyStale {
		t.Fatalf("reply older than the window: %d, want stale", got)
	}
	// Reusing a slot of the window forgets the old reply.
	if got := tr.reply(uint32(tr.sent - 1)); got != replyNew {
		t.Fatalf("reply to the latest ping: %d, want new", got)
	}
}

func TestSummary(t *testing.T) {
	tr := tracker{sent: 3, received: 2}
	var rtt rttStats
	rtt.add(45 * time.Microsecond)
	rtt.add(55 * time.Microsecond)
	var b strings.Builder
	summary{name: "oping", elapsed: 2003 * time.Millisecond, t: &tr, rtt: &rtt}.write(&b)
	want := "\n--- oping ping statistics ---\n" +
		"3 packets transmitted, 2 received, 33.333% packet loss, time 2003ms\n" +
		"rtt min/avg/max/mdev = 0.045/0.050/0.055/0.005 ms\n"
	if b.String() != want {
		t.Fatalf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
	tr = tracker{sent: 4, received: 4, dups: 1, reordered: 2}
	b.Reset()
	summary{name: "x", t: &tr, rtt: &rtt}.write(&b)
	if !strings.Contains(b.String(), "4 packets transmitted, 4 received, 0% packet loss, time 0ms\n1 duplicates, 2 out of order") {
		t.Fatalf("summary with duplicates:\n%s", b.String())
	}
}

func TestSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pg := &pinger{o: options{interval: time.Second, wait: 2 * time.Second, count: 2}, start: t0}
	// On time: the next ping is one interval after the previous one was due.
	if got := pg.nextSend(t0, t0.Add(3*time.Millisecond)); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("nextSend on time = %v", got.Sub(t0))
	}
	// Late by more than an interval: resume from now, do not burst.
	late := t0.Add(2500 * time.Millisecond)
	if got := pg.nextSend(t0, late); !got.Equal(late) {
		t.Fatalf("nextSend late = %v", got.Sub(t0))
	}
	pg.o.flood = true
	if got := pg.nextSend(t0, t0); !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("flood nextSend = %v, want the wait", got.Sub(t0))
	}

	// Count reached: wait for the outstanding reply until WAIT after the last send.
	pg.t.send()
	pg.t.send()
	pg.lastSend = t0.Add(time.Second)
	if dl, done := pg.deadline(t0.Add(1500*time.Millisecond), time.Time{}); done || !dl.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("deadline = %v, %v", dl.Sub(t0), done)
	}
	if _, done := pg.deadline(t0.Add(3*time.Second), time.Time{}); !done {
		t.Fatal("still waiting after WAIT")
	}
	pg.t.reply(0)
	pg.t.reply(1)
	if _, done := pg.deadline(t0.Add(1500*time.Millisecond), time.Time{}); !done {
		t.Fatal("still waiting with every reply in")
	}
}
