package ca

import (
	"sync"
	"testing"
)

func TestReceiverCadence(t *testing.T) {
	var r Receiver
	for i := range 100 {
		if send, _ := r.Packet(0); send {
			t.Fatalf("packet %d: update without congestion", i)
		}
	}
	// Congestion starts: an update at once, then one every 8 packets.
	var sent []int
	for i := range 40 {
		send, ece := r.Packet(3)
		if i == 0 && (!send || ece != 3) {
			t.Fatalf("start of congestion: send %t ece %d", send, ece)
		}
		if send {
			sent = append(sent, i)
		}
	}
	want := []int{0, 8, 16, 24, 32}
	if len(sent) != len(want) {
		t.Fatalf("updates at packets %v, want %v", sent, want)
	}
	for i := range want {
		if sent[i] != want[i] {
			t.Fatalf("updates at packets %v, want %v", sent, want)
		}
	}
	// Congestion ends: exactly one update, with ece 0, then silence.
	ends := 0
	for i := range 50 {
		send, ece := r.Packet(0)
		if send {
			ends++
			if ece != 0 {
				t.Fatalf("packet %d: update with ece %d while congestion fades", i, ece)
			}
		}
	}
	if ends != 1 || r.ECE() != 0 {
		t.Fatalf("%d end-of-congestion updates, ece %d", ends, r.ECE())
	}
}

func TestReceiverLevel(t *testing.T) {
	var r Receiver
	var ece uint16
	for range 1000 {
		_, ece = r.Packet(10)
	}
	// A moving sum over about 32 packets: 32 × the level, give or take
	// the rounding of the decay.
	if ece < 300 || ece > 330 {
		t.Fatalf("steady ece %d for ECN 10, want about 320", ece)
	}
	for range 100000 {
		_, ece = r.Packet(255)
	}
	if ece < 8000 || ece >= 1<<mdShift {
		t.Fatalf("ece %d at the highest ECN, want just below 8192", ece)
	}
	// It tracks a lower level back down (to 32..63 for level 1: the
	// decay, ece/32, rounds down).
	for range 1000 {
		_, ece = r.Packet(1)
	}
	if ece < 32 || ece > 63 {
		t.Fatalf("ece %d after the level fell to 1", ece)
	}
}

func TestReceiverConcurrent(t *testing.T) {
	var r Receiver
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				r.Packet(uint8((i + g) % 3))
			}
		})
	}
	wg.Wait()
}
