package dir

import (
	"slices"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/unicast/addr"
)

// bucketAddrs finds count addresses whose ids fall in bucket b of self's
// table.
func bucketAddrs(self addr.Addr, b, count int) []addr.Addr {
	id := testID(self)
	var out []addr.Addr
	for a := addr.Addr(1); len(out) < count; a++ {
		if a != self && prefixLen(testID(a), id) == b {
			out = append(out, a)
		}
	}
	return out
}

func liveAddrs(t *table, b int) []addr.Addr {
	var out []addr.Addr
	for _, c := range t.buckets[b].live {
		out = append(out, c.addr)
	}
	return out
}

func TestTableBucketLRU(t *testing.T) {
	now := time.Unix(0, 0)
	tb := newTable(1, testID(1), 3, testID, now)
	as := bucketAddrs(1, 0, 5)
	for _, a := range as {
		tb.seen(a)
	}
	if got := liveAddrs(tb, 0); !slices.Equal(got, as[:3]) {
		t.Fatalf("live %v, want the first three %v", got, as[:3])
	}
	if tb.len() != 3 || len(tb.buckets[0].spare) != 2 {
		t.Fatalf("len %d, spares %d", tb.len(), len(tb.buckets[0].spare))
	}
	// Seeing a contact again makes it the most recent.
	tb.seen(as[0])
	if got := liveAddrs(tb, 0); !slices.Equal(got, []addr.Addr{as[1], as[2], as[0]}) {
		t.Fatalf("after seeing %v again: %v", as[0], got)
	}
	// One miss keeps a contact; a second drops it for the latest spare.
	if tb.failed(as[1], now) {
		t.Fatal("dropped after one miss")
	}
	if !tb.failed(as[1], now) {
		t.Fatal("kept after two misses")
	}
	if got := liveAddrs(tb, 0); !slices.Equal(got, []addr.Addr{as[2], as[0], as[4]}) {
		t.Fatalf("after the drop: %v", got)
	}
	// An answer resets the count of misses.
	tb.failed(as[2], now)
	tb.seen(as[2])
	if tb.failed(as[2], now) {
		t.Fatal("misses not reset by an answer")
	}
	// A full bucket takes a newcomer in place of its least recently seen
	// contact if that one missed a request.
	tb.learn(as[1]) // dropped lately: not relearned second-hand
	if tb.byAddr[as[1]] != nil {
		t.Fatal("relearned a dropped contact second-hand")
	}
	tb.failed(as[0], now)
	tb.seen(as[1]) // but first-hand it is back, in place of as[0]
	if got := liveAddrs(tb, 0); !slices.Equal(got, []addr.Addr{as[4], as[2], as[1]}) {
		t.Fatalf("after a newcomer: %v", got)
	}
	tb.remove(as[4], now)
	if tb.byAddr[as[4]] != nil || !tb.isGone(as[4]) {
		t.Fatal("remove kept the contact")
	}
	if got := liveAddrs(tb, 0); !slices.Equal(got, []addr.Addr{as[2], as[1], as[3]}) {
		t.Fatalf("the spare did not replace the removed contact: %v", got)
	}
	tb.pruneGone(now.Add(time.Hour), time.Minute)
	if tb.isGone(as[4]) {
		t.Fatal("removal not forgotten")
	}
}

func TestTableRefusesSelf(t *testing.T) {
	tb := newTable(1, testID(1), 3, testID, time.Unix(0, 0))
	if tb.seen(1) || tb.seen(0) || tb.len() != 0 {
		t.Fatal("own address or 0 became a contact")
	}
	bad := newTable(1, testID(1), 3, func(addr.Addr) []byte { return []byte{1} }, time.Unix(0, 0))
	if bad.seen(2) {
		t.Fatal("contact with an id of the wrong length")
	}
}

func TestTableClosest(t *testing.T) {
	tb := newTable(1, testID(1), 20, testID, time.Unix(0, 0))
	for a := addr.Addr(2); a < 200; a++ {
		tb.seen(a)
	}
	target := nameKey("target")
	got := tb.closest(target, 8, 0)
	var all []*contact
	for _, c := range tb.byAddr {
		if c.live {
			all = append(all, c)
		}
	}
	slices.SortFunc(all, func(a, b *contact) int { return slices.Compare(xor(a.id, target), xor(b.id, target)) })
	for i := range got {
		if got[i] != all[i] {
			t.Fatalf("closest[%d] = %v, want %v", i, got[i].addr, all[i].addr)
		}
	}
	if n := tb.closerThan(target, all[5].id); n != 5 {
		t.Fatalf("closerThan the sixth: %d", n)
	}
	if skip := tb.closest(target, 8, all[0].addr); skip[0] != all[1] {
		t.Fatal("closest did not skip")
	}
	re := tb.rebuild(7, testID(7), time.Unix(0, 0))
	if re.byAddr[7] != nil || re.len() == 0 {
		t.Fatal("rebuild kept the new own address or lost the rest")
	}
	for _, c := range re.byAddr {
		if c.live && !slices.Contains(re.buckets[prefixLen(c.id, re.selfID)].live, c) {
			t.Fatalf("%v in the wrong bucket after rebuild", c.addr)
		}
	}
}

func TestDistance(t *testing.T) {
	a := []byte{0b1010_0000, 0}
	if p := prefixLen(a, []byte{0b1011_0000, 0}); p != 3 {
		t.Fatalf("prefixLen %d", p)
	}
	if p := prefixLen(a, a); p != 16 {
		t.Fatalf("prefixLen of equal ids %d", p)
	}
	// Distance counts every byte, not only the first eight.
	target := make([]byte, 32)
	x, y := make([]byte, 32), make([]byte, 32)
	x[31], y[31] = 1, 2
	if !closer(target, x, y) || closer(target, y, x) || closer(target, x, x) {
		t.Fatal("closer ignores the last byte")
	}
	self := nameKey("self")
	for n := range 8 * len(self) {
		for range 4 {
			if id := randomInBucket(self, n); prefixLen(id, self) != n {
				t.Fatalf("randomInBucket(%d) shares %d bits", n, prefixLen(id, self))
			}
		}
	}
}

func TestStore(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newStore()
	k := "key"
	s.put(k, 5, now.Add(time.Minute), now, true)
	s.put(k, 6, now.Add(time.Second), now, false)
	if got := vals(s.values(k, now, 8, nil)); len(got) != 2 {
		t.Fatalf("values %v", got)
	}
	if got := vals(s.values(k, now.Add(2*time.Second), 8, nil)); !slices.Equal(got, []addr.Addr{5}) {
		t.Fatalf("after 6 expired: %v", got)
	}
	// A shorter lifetime does not shorten a value.
	s.put(k, 5, now.Add(time.Second), now, false)
	if got := vals(s.values(k, now.Add(30*time.Second), 8, nil)); !slices.Equal(got, []addr.Addr{5}) {
		t.Fatalf("shortened: %v", got)
	}
	// A tombstone keeps replicas out; the publisher's own STORE revives.
	s.remove(k, 5, now.Add(time.Hour))
	s.put(k, 5, now.Add(time.Minute), now, false)
	if got := vals(s.values(k, now, 8, nil)); slices.Contains(got, 5) {
		t.Fatal("a replica revived a withdrawn value")
	}
	s.put(k, 5, now.Add(time.Minute), now, true)
	if got := vals(s.values(k, now, 8, nil)); !slices.Contains(got, 5) {
		t.Fatal("the publisher could not publish again")
	}
	// A removal before any STORE also leaves a tombstone.
	s.remove(k, 9, now.Add(time.Hour))
	s.put(k, 9, now.Add(time.Minute), now, false)
	if got := vals(s.values(k, now, 8, nil)); slices.Contains(got, 9) {
		t.Fatal("a replica got past an early removal")
	}
	s.expire(now.Add(2 * time.Hour))
	if s.n != 0 || len(s.keys) != 0 {
		t.Fatalf("after expiry: %d entries, %d keys", s.n, len(s.keys))
	}
	// Bounds: publishers per key, and values answered.
	for a := range addr.Addr(maxPerKey + 5) {
		s.put(k, a+1, now.Add(time.Minute), now, true)
	}
	if s.n != maxPerKey {
		t.Fatalf("%d publishers under one key", s.n)
	}
	if got := vals(s.values(k, now, maxValues, nil)); len(got) != maxValues {
		t.Fatalf("%d values answered", len(got))
	}
}

func TestReplicasSkipRecentStores(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newStore()
	s.put("a", 5, t0.Add(time.Hour), t0, false)
	s.put("b", 6, t0.Add(time.Hour), t0.Add(time.Minute), false)
	s.put("c", 1, t0.Add(time.Hour), time.Time{}, true) // our own
	got := s.replicas(1, t0.Add(2*time.Minute), t0.Add(30*time.Second))
	if len(got) != 1 || got[0].key != "a" || got[0].left != time.Hour-2*time.Minute {
		t.Fatalf("replicas %+v", got)
	}
}

func TestLifetime(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want uint32
	}{{time.Nanosecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {86400 * time.Second, 86400}} {
		if got := lifetime(tc.in); got != tc.want {
			t.Errorf("lifetime(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// vals drops values' count of hidden values.
func vals(v, _ []addr.Addr) []addr.Addr { return v }
