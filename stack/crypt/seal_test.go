package crypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, suite := range allSuites() {
		t.Run(suite.String(), func(t *testing.T) {
			s, o := pipe(t, suite, Options{})
			var pkt, out []byte
			for size := 0; size <= 9000; size++ {
				msg := payload(size, size)[:size]
				var err error
				pkt, err = s.Seal(pkt[:0], msg)
				if err != nil {
					t.Fatalf("seal %d bytes: %v", size, err)
				}
				if len(pkt) != size+Overhead {
					t.Fatalf("sealed %d bytes into %d, want %d", size, len(pkt), size+Overhead)
				}
				if e, c := parseHeader(pkt); e != 0 || c != uint64(size) {
					t.Fatalf("header epoch %d counter %d, want 0 %d", e, c, size)
				}
				if size >= 16 && bytes.Contains(pkt, msg[:16]) {
					t.Fatalf("plaintext visible in the packet of %d bytes", size)
				}
				out, err = o.Open(out[:0], pkt)
				if err != nil {
					t.Fatalf("open %d bytes: %v", size, err)
				}
				if !bytes.Equal(out, msg) {
					t.Fatalf("round trip of %d bytes differs", size)
				}
			}
			if st := o.Stats(); st != (OpenStats{Opened: 9001}) {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestAppendAndInPlace checks that Seal and Open append to dst, and work in
// place as documented.
func TestAppendAndInPlace(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{})
	msg := payload(1, 300)
	pkt, err := s.Seal([]byte("prefix"), msg)
	if err != nil || string(pkt[:6]) != "prefix" {
		t.Fatalf("seal did not append: %q, %v", pkt[:6], err)
	}
	out, err := o.Open([]byte("lead"), pkt[6:])
	if err != nil || string(out[:4]) != "lead" || !bytes.Equal(out[4:], msg) {
		t.Fatalf("open did not append: %v", err)
	}

	buf := make([]byte, HeaderSize+len(msg), Overhead+len(msg))
	copy(buf[HeaderSize:], msg)
	pkt, err = s.Seal(buf[:0], buf[HeaderSize:])
	if err != nil || &pkt[0] != &buf[0] {
		t.Fatalf("seal in place: %v (moved: %v)", err, err == nil)
	}
	out, err = o.Open(pkt[HeaderSize:HeaderSize], pkt)
	if err != nil || !bytes.Equal(out, msg) || &out[0] != &pkt[HeaderSize] {
		t.Fatalf("open in place: %v", err)
	}
}

// TestTamper flips every bit of a packet: each modified packet is rejected
// without disturbing the Opener, which then opens the original.
func TestTamper(t *testing.T) {
	for _, suite := range allSuites() {
		t.Run(suite.String(), func(t *testing.T) {
			s, o := pipe(t, suite, Options{})
			msg := payload(0, 40)
			pkt, err := s.Seal(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			var auth uint64
			for i := range pkt {
				for bit := range 8 {
					bad := bytes.Clone(pkt)
					bad[i] ^= 1 << bit
					want := ErrAuth
					if i == 0 && int8(bad[0]) < 0 {
						// An epoch byte naming a past epoch is refused
						// before any key is tried.
						want = ErrEpoch
					} else {
						auth++
					}
					mustFail(t, o, bad, want, "modified packet")
				}
			}
			mustOpen(t, o, pkt, msg, "original after the modified ones")
			if st := o.Stats(); st.Auth != auth || st.Opened != 1 || o.Epoch() != 0 {
				t.Fatalf("stats %+v, epoch %d; want %d auth failures, epoch 0", st, o.Epoch(), auth)
			}
		})
	}
}

func TestShortAndTruncated(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{})
	pkt, err := s.Seal(nil, payload(0, 20))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(pkt) {
		want := ErrAuth
		if n < Overhead {
			want = ErrShort
		}
		mustFail(t, o, pkt[:n], want, "truncated packet")
	}
	if st := o.Stats(); st.Short != Overhead || st.Auth != uint64(len(pkt)-Overhead) {
		t.Fatalf("stats %+v", st)
	}
}

// TestDirections: a packet opens only with the peer's receiving key.
func TestDirections(t *testing.T) {
	for _, suite := range allSuites() {
		ini, resp := keyPair(t, suite)
		iniS, _ := ini.Sealer()
		iniO, _ := ini.Opener()
		respS, _ := resp.Sealer()
		respO, _ := resp.Opener()
		msg := payload(0, 100)
		fromIni, _ := iniS.Seal(nil, msg)
		fromResp, _ := respS.Seal(nil, msg)
		if bytes.Equal(fromIni, fromResp) {
			t.Fatal("both directions seal to the same packet")
		}
		mustFail(t, iniO, fromIni, ErrAuth, "initiator's packet at the initiator")
		mustFail(t, respO, fromResp, ErrAuth, "responder's packet at the responder")
		mustOpen(t, respO, fromIni, msg, "initiator's packet at the responder")
		mustOpen(t, iniO, fromResp, msg, "responder's packet at the initiator")

		other, err := DeriveKeys(suite, testSecret(), seq(0x40, 32), false)
		if err != nil {
			t.Fatal(err)
		}
		otherO, _ := other.Opener()
		mustFail(t, otherO, fromIni, ErrAuth, "packet of another flow's exchange")
	}
}

func TestReplayEveryPacket(t *testing.T) {
	for _, suite := range allSuites() {
		s, o := pipe(t, suite, Options{})
		const n = 5000
		pkts, plain := sealAll(t, s, n, 64)
		for i, p := range pkts {
			mustOpen(t, o, p, plain[i], "fresh packet")
		}
		for _, p := range pkts {
			mustFail(t, o, p, ErrReplay, "replayed packet")
		}
		// The window keeps the last 2048 counters: older ones are too old.
		st := o.Stats()
		if st.Replay != WindowSize || st.TooOld != n-WindowSize || st.Auth != 0 {
			t.Fatalf("stats %+v, want %d replays and %d too old", st, WindowSize, n-WindowSize)
		}
	}
}

func TestReorderWithinWindow(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{})
	const top = 2100
	pkts, plain := sealAll(t, s, top+1, 32)
	mustOpen(t, o, pkts[top], plain[top], "highest packet first")
	for c := top - 1; c > top-WindowSize; c-- {
		mustOpen(t, o, pkts[c], plain[c], "packet inside the window")
	}
	for c := top - WindowSize; c >= 0; c-- {
		got, err := o.Open(nil, pkts[c])
		if !errors.Is(err, ErrReplay) || got != nil {
			t.Fatalf("counter %d, %d below the top: %v, want ErrReplay", c, top-c, err)
		}
	}
	if st := o.Stats(); st.Opened != WindowSize || st.TooOld != top-WindowSize+1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestForgedCounterDoesNotMoveWindow: a forged packet reusing a seen counter is
// rejected as a replay; one with a fresh counter fails authentication and
// does not move the window, so the genuine packet still opens.
func TestForgedCounterDoesNotMoveWindow(t *testing.T) {
	s, o := pipe(t, DefaultSuite(), Options{})
	pkts, plain := sealAll(t, s, 3, 16)
	mustOpen(t, o, pkts[0], plain[0], "packet 0")
	forged := bytes.Clone(pkts[0])
	binary.BigEndian.PutUint64(forged[1:], 1<<40)
	mustFail(t, o, forged, ErrAuth, "forged far counter")
	forged[HeaderSize] ^= 1
	binary.BigEndian.PutUint64(forged[1:], 0)
	mustFail(t, o, forged, ErrReplay, "forged packet with a seen counter")
	mustOpen(t, o, pkts[2], plain[2], "packet 2")
	mustOpen(t, o, pkts[1], plain[1], "packet 1 after 2")
}
