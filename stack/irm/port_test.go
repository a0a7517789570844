package irm

import (
	"testing"

	"o7s.dev/ouroboros/stack/seqpkt"
)

// A layer's TryWriteBatch to a process that does not read drops what its
// socket does not take, and the flow list counts it.
func TestPortCountsWhatItDrops(t *testing.T) {
	irmEnd, app, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	defer irmEnd.Close()
	p := &port{conn: irmEnd}
	sdu := make([]byte, 60000)
	batch := [][]byte{sdu, sdu, sdu, sdu}
	var offered, taken uint64
	for i := 0; i < 1000 && taken == offered; i++ {
		n, err := p.TryWriteBatch(batch)
		if err != nil {
			t.Fatal(err)
		}
		offered += uint64(len(batch))
		taken += uint64(n)
	}
	if taken == offered {
		t.Fatalf("the socket took all of %d SDUs of 60000 bytes", offered)
	}
	if got := p.dropped.Load(); got != offered-taken {
		t.Fatalf("dropped %d, want %d (%d offered, %d delivered)", got, offered-taken, offered, taken)
	}
	if got := p.recvPkts.Load(); got != taken {
		t.Fatalf("delivered %d, want %d", got, taken)
	}
}
