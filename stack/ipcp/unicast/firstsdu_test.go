package unicast_test

import (
	"context"
	"testing"
	"time"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
)

// The SDU an accepting application writes at once follows the flow's reply
// closely: the allocating member must have the flow started by the time it
// reads that SDU, or it drops it (a raw flow then loses its first
// message; ovpn's hello was lost so, 1 time in 5).
func TestFirstSDUBehindTheReply(t *testing.T) {
	n := build(t, []string{"a", "b"}, chain("a", "b"), nil)
	first := []byte("first, right behind the reply")
	if err := n.Node("b").Serve("srv", func(p ipcp.Port) {
		p.WriteBatch([][]byte{first})
		p.ReadBatch([][]byte{make([]byte, 16)}, []int{0}) // hold the flow until it ends
	}); err != nil {
		t.Fatal(err)
	}
	pingFlow(t, n, "a", "srv", qos.Raw).Down(ctrl.ReasonPeer) // waits for the name to be published
	lost := 0
	const flows = 100
	for range flows {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f, err := n.Node("a").Alloc(ctx, "srv", qos.Raw)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan int, 1)
		go func() {
			k, _ := f.ReadBatch([][]byte{make([]byte, 64)}, []int{0})
			got <- k
		}()
		select {
		case k := <-got:
			if k != 1 {
				lost++
			}
		case <-time.After(time.Second):
			lost++
		}
		f.Down(ctrl.ReasonPeer)
	}
	if lost > 0 {
		t.Errorf("%d of %d flows lost the SDU the acceptor wrote at once", lost, flows)
	}
}
