package oap

import (
	"encoding/binary"
	"errors"
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
	if _, _, _, _, err := s.Respond(serverName, req); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{0, time.Second, MaxAge - time.Second} { // up to MaxAge old
		clk.Advance(d)
		_, _, _, _, err = s.Respond(serverName, req)
		wantErr(t, err, ErrReplay)
	}
	clk.Advance(time.Nanosecond)
	_, _, _, _, err = s.Respond(serverName, req)
	wantErr(t, err, ErrTimestamp)

	// Now the id may go: a request with it and a current timestamp (an
	// unsigned request can be rewritten, but it authenticates nobody) is
	// accepted, and the cache holds only it.
	binary.BigEndian.PutUint64(req[headerSize:], uint64(clk.Now().UnixNano()))
	if _, _, _, _, err := s.Respond(serverName, req); err != nil {
		t.Fatalf("the id is still refused after the window: %v", err)
	}
	if n := s.replay.size(); n != 1 {
		t.Errorf("replay cache holds %d ids, want 1", n)
	}
	_, _, _, _, err = s.Respond(serverName, req)
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
	if _, _, _, _, err := s.Respond(serverName, req); err != nil {
		t.Fatal(err)
	}
	_, _, _, _, err = s.Respond("other.test", req)
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

// TestReplayCacheFull checks that a full cache refuses new requests while
// its ids are in the window, rather than forget one, and accepts again
// once the oldest leave it.
func TestReplayCacheFull(t *testing.T) {
	clk := newClock()
	s := fixedServer(Config{Now: clk.Now})
	s.replay = newReplayCache(3)
	for i := range 3 {
		if _, _, err := tryExchange(s, Config{Now: clk.Now}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		clk.Advance(time.Second)
	}
	_, _, err := tryExchange(s, Config{Now: clk.Now})
	wantErr(t, err, ErrReplayCacheFull)
	clk.Advance(MaxAge - 2*time.Second) // the first request's id leaves the window
	if _, _, err := tryExchange(s, Config{Now: clk.Now}); err != nil {
		t.Fatalf("after the oldest id left the window: %v", err)
	}
	_, _, err = tryExchange(s, Config{Now: clk.Now})
	wantErr(t, err, ErrReplayCacheFull)
}

// TestReplayCacheOrder checks that ids expire by their timestamps, not by
// their arrival: clients' clocks differ, so an id that arrived later can
// leave the window first.
func TestReplayCacheOrder(t *testing.T) {
	c := newReplayCache(10)
	late, early := [idSize]byte{1}, [idSize]byte{2}
	if err := c.add(late, t0.Add(4*time.Second), t0); err != nil {
		t.Fatal(err)
	}
	if err := c.add(early, t0.Add(-20*time.Second), t0); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(15 * time.Second) // early's timestamp is 35 s old
	if c.has(early, now) || !c.has(late, now) {
		t.Fatalf("after expiry: early held %v, late held %v; want false, true", c.has(early, now), c.has(late, now))
	}
	err := c.add(late, t0, t0.Add(15*time.Second))
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
