package oap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestReplay checks that a request replayed within the window is refused
// with ErrReplay; after the window it is refused for its age; and that the
// id is then forgotten: the same id with a fresh timestamp is accepted.
func TestReplay(t *testing.T) {
	clk := newClock()
	s := fixedServer(Config{Now: clk.Now})
	req, _, err := NewRequest(Config{Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, err := s.Respond(testSource, serverName, req); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{0, time.Second, MaxAge - time.Second} { // up to MaxAge old
		clk.Advance(d)
		_, _, _, _, err = s.Respond(testSource, serverName, req)
		wantErr(t, err, ErrReplay)
	}
	clk.Advance(time.Nanosecond)
	_, _, _, _, err = s.Respond(testSource, serverName, req)
	wantErr(t, err, ErrTimestamp)

	// Now the id may go, with its one-second bucket: a request with it and a current timestamp (an
	// unsigned request can be rewritten, but it authenticates nobody) is
	// accepted, and the cache holds only it.
	clk.Advance(time.Second)
	binary.BigEndian.PutUint64(req[headerSize:], uint64(clk.Now().UnixNano()))
	if _, _, _, _, err := s.Respond(testSource, serverName, req); err != nil {
		t.Fatalf("the id is still refused after the window: %v", err)
	}
	if n := s.replay.size(); n != 1 {
		t.Errorf("replay cache holds %d ids, want 1", n)
	}
	_, _, _, _, err = s.Respond(testSource, serverName, req)
	wantErr(t, err, ErrReplay)
}

// TestReplayAcrossNames checks that one cache covers all of a server's
// names: a request for one name replayed to another is refused.
func TestReplayAcrossNames(t *testing.T) {
	clk := newClock()
	s := fixedServer(Config{Now: clk.Now})
	req, _, err := NewRequest(Config{Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, err := s.Respond(testSource, serverName, req); err != nil {
		t.Fatal(err)
	}
	_, _, _, _, err = s.Respond(testSource, "other.test", req)
	wantErr(t, err, ErrReplay)
}

// TestTimestampWindow checks the bounds of the acceptance window on both
// sides.
func TestTimestampWindow(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration // client clock minus server clock
		ok   bool
	}{
		{"in sync", 0, true},
		{"future edge", MaxFuture, true},
		{"too far ahead", MaxFuture + time.Millisecond, false},
		{"old edge", -MaxAge, true},
		{"too old", -MaxAge - time.Millisecond, false},
		{"an hour behind", -time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srvClock, cliClock := newClock(), newClock()
			cliClock.Advance(tc.skew)
			_, _, err := tryExchange(fixedServer(Config{Now: srvClock.Now}), Config{Now: cliClock.Now})
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				wantErr(t, err, ErrTimestamp)
			}
		})
	}
}

// TestReplayCacheFull checks that a source holding its share of the cache
// is refused, for itself only: another source is admitted, and the first
// again once its oldest ids leave the window.
func TestReplayCacheFull(t *testing.T) {
	clk := newClock()
	s := fixedServer(Config{Now: clk.Now})
	s.replay = newReplayCache(10, 3)
	for i := range 3 {
		if _, _, err := tryExchangeFrom(s, "flooder", Config{Now: clk.Now}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		clk.Advance(time.Second)
	}
	_, _, err := tryExchangeFrom(s, "flooder", Config{Now: clk.Now})
	wantErr(t, err, ErrReplayCacheFull)
	if !strings.Contains(err.Error(), "source flooder") {
		t.Errorf("the refusal does not name the source: %v", err)
	}
	if _, _, err := tryExchangeFrom(s, "other", Config{Now: clk.Now}); err != nil {
		t.Fatalf("another source refused while one source is over its share: %v", err)
	}
	clk.Advance(MaxAge - 2*time.Second) // the first request's id leaves the window
	if _, _, err := tryExchangeFrom(s, "flooder", Config{Now: clk.Now}); err != nil {
		t.Fatalf("after the oldest id left the window: %v", err)
	}
	_, _, err = tryExchangeFrom(s, "flooder", Config{Now: clk.Now})
	wantErr(t, err, ErrReplayCacheFull)
}

// TestReplayFloodOneSource checks that a source sending far more requests
// than its share, fresh ids with timestamps spread over the window, holds
// no more than its share, and that other sources are never refused for
// room while it floods.
func TestReplayFloodOneSource(t *testing.T) {
	c := newReplayCache(100, 10)
	now := t0
	for i := range 1000 {
		now = now.Add(10 * time.Millisecond)
		ts := now.Add(time.Duration(i%35-30) * time.Second) // anywhere in the window
		err := c.add("flooder", testID(1, i), ts, now)
		if err != nil && !errors.Is(err, ErrReplayCacheFull) && !errors.Is(err, ErrTimestamp) {
			t.Fatalf("flood request %d: %v", i, err)
		}
		if i%10 == 0 {
			if err := c.add(fmt.Sprint("client", i), testID(2, i), now, now); err != nil {
				t.Fatalf("a legitimate request during the flood: %v", err)
			}
		}
	}
	if n := c.held("flooder"); n != 10 {
		t.Errorf("the flooder holds %d ids, want its share, 10", n)
	}
}

// TestReplayAcrossSources checks that a request accepted from one source
// is refused as a replay from any other: partitioning bounds each source's
// share, not where a replay is looked for.
func TestReplayAcrossSources(t *testing.T) {
	clk := newClock()
	s := fixedServer(Config{Now: clk.Now})
	req, _, err := NewRequest(Config{Now: clk.Now}, serverName)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, err := s.Respond("198.51.100.1", serverName, req); err != nil {
		t.Fatal(err)
	}
	clk.Advance(MaxAge)
	_, _, _, _, err = s.Respond("203.0.113.9", serverName, req)
	wantErr(t, err, ErrReplay)
}

// TestReplayCacheEvicts checks the cache full of many sources' ids: it
// makes room by dropping its oldest second of ids, and a replay of one of
// them is refused all the same (by the raised floor), while a request
// stamped now is admitted.
func TestReplayCacheEvicts(t *testing.T) {
	c := newReplayCache(20, 5)
	for i := range 20 { // 4 sources, 5 seconds of ids
		ts := t0.Add(time.Duration(i/4) * time.Second)
		if err := c.add(fmt.Sprint("src", i%4), testID(1, i), ts, t0.Add(5*time.Second)); err != nil {
			t.Fatalf("filling %d: %v", i, err)
		}
	}
	now := t0.Add(6 * time.Second)
	if err := c.add("new", testID(2, 0), now, now); err != nil {
		t.Fatalf("a fresh request to a full cache: %v", err)
	}
	if n := c.size(); n != 17 {
		t.Errorf("holds %d ids after evicting the oldest second, want 17", n)
	}
	err := c.add("src0", testID(1, 0), t0, now) // evicted, still in the window
	wantErr(t, err, ErrTimestamp)
	err = c.add("src1", testID(1, 5), t0.Add(time.Second), now) // kept
	wantErr(t, err, ErrReplay)
}

// TestReplayNeverFailsOpen drives the cache with random sources, ids,
// timestamps and clocks and checks its contract against a model that
// forgets nothing: an id accepted once is refused again for as long as
// its timestamp is in the window, whatever the pressure and the source.
func TestReplayNeverFailsOpen(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newReplayCache(64, 16)
	accepted := map[[idSize]byte]time.Time{}
	now := t0
	for i := range 20000 {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
		ts := now.Add(time.Duration(rng.Int64N(int64(MaxFuture+MaxAge))) - MaxAge)
		id := testID(byte(rng.IntN(4)), rng.IntN(400))
		src := fmt.Sprint("src", rng.IntN(8))
		if prev, ok := accepted[id]; ok && !prev.Before(now.Add(-MaxAge)) {
			ts = prev // a replay, while its timestamp is in the window
		}
		err := c.add(src, id, ts, now)
		if prev, ok := accepted[id]; ok && ts.Equal(prev) && err == nil {
			t.Fatalf("step %d: id %x, accepted at %v, accepted again at %v", i, id, prev, now)
		}
		if err == nil {
			accepted[id] = ts
		}
	}
	if c.size() > 64 {
		t.Errorf("holds %d ids, more than its 64", c.size())
	}
}

// testID returns a distinct id for each (kind, i).
func testID(kind byte, i int) [idSize]byte {
	var id [idSize]byte
	id[0] = kind
	binary.BigEndian.PutUint64(id[1:], uint64(i))
	return id
}

// TestReplayCacheOrder checks that ids expire by their timestamps, not by
// their arrival: clients' clocks differ, so an id that arrived later can
// leave the window first.
func TestReplayCacheOrder(t *testing.T) {
	c := newReplayCache(10, 10)
	late, early := [idSize]byte{1}, [idSize]byte{2}
	if err := c.add(testSource, late, t0.Add(4*time.Second), t0); err != nil {
		t.Fatal(err)
	}
	if err := c.add(testSource, early, t0.Add(-20*time.Second), t0); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(15 * time.Second) // early's timestamp is 35 s old
	if c.has(early, now) || !c.has(late, now) {
		t.Fatalf("after expiry: early held %v, late held %v; want false, true", c.has(early, now), c.has(late, now))
	}
	err := c.add(testSource, late, t0, t0.Add(15*time.Second))
	wantErr(t, err, ErrReplay)
}

// TestConfigLookupError checks that a name the host does not serve is
// refused with the lookup's error.
func TestConfigLookupError(t *testing.T) {
	errUnknown := errors.New("no such name")
	s := NewServer(func(string) (Config, error) { return Config{}, errUnknown })
	_, _, err := tryExchange(s, Config{})
	wantErr(t, err, errUnknown)
}
