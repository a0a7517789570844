package link

import (
	"testing"
	"time"
)

// TestDropLogLimit: drops of one reason are all counted but logged at most
// once per logEvery; another reason is not held back by the first.
func TestDropLogLimit(t *testing.T) {
	var c counters
	now := time.Unix(1000, 0)
	logged := 0
	for range 1000 {
		c.add(spoofed, 1)
		if c.shouldLog(spoofed, now) {
			logged++
		}
	}
	if logged != 1 || c.n[spoofed].Load() != 1000 {
		t.Errorf("1000 drops: %d logged, %d counted; want 1 and 1000", logged, c.n[spoofed].Load())
	}
	if !c.shouldLog(malformed, now) {
		t.Error("another reason was held back")
	}
	if c.shouldLog(spoofed, now.Add(logEvery-time.Millisecond)) || !c.shouldLog(spoofed, now.Add(logEvery)) {
		t.Error("not logged again exactly after logEvery")
	}
	if got := c.snapshot(); len(got) != 1 || got["spoofed"] != 1000 {
		t.Errorf("snapshot %v", got)
	}
}

// A peer's traffic counters count data only: echoes and their replies
// (which keep an idle flow alive) leave them as they are, so that an idle
// flow can be told from a busy one.
func TestTrafficCountsDataOnly(t *testing.T) {
	a := newNode(t, "gw.a", Config{Addrs: pfx("10.77.0.1/24"), Echo: 10 * time.Millisecond})
	b := newNode(t, "gw.b", Config{Addrs: pfx("10.77.0.2/24"), Echo: 10 * time.Millisecond})
	mustConnect(t, a, b, admitAs(PeerConfig{}), admitAs(PeerConfig{}))
	waitFor(t, 5*time.Second, "an echo answered each way", func() bool {
		return a.peerStatus(t, "gw.b").RTT != 0 && b.peerStatus(t, "gw.a").RTT != 0
	})
	// A few more echoes: a sends one every 10 ms, stamping echoSent.
	pa := a.l.Peer("gw.b")
	first := pa.echoSent.Load()
	waitFor(t, 5*time.Second, "three more echoes", func() bool {
		return time.Duration(pa.echoSent.Load()-first) >= 3*10*time.Millisecond
	})
	for _, st := range []PeerStatus{a.peerStatus(t, "gw.b"), b.peerStatus(t, "gw.a")} {
		if st.TxPackets+st.RxPackets+st.TxBytes+st.RxBytes != 0 {
			t.Fatalf("%s's counters after echoes only: %+v; want 0", st.Name, st)
		}
	}
	pkt := ipPacket("10.77.0.1", "10.77.0.2", []byte("data"))
	if err := a.host.Send(pkt); err != nil {
		t.Fatal(err)
	}
	b.expect(t, pkt)
	if st := b.peerStatus(t, "gw.a"); st.RxPackets != 1 || st.RxBytes != uint64(len(pkt)) {
		t.Fatalf("after one packet: %+v; want 1 packet of %d bytes", st, len(pkt))
	}
}
