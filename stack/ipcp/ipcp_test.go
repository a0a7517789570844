package ipcp

import (
	"testing"

	"o7s.dev/ouroboros/stack/schema"
)

// TestSchemaHashes checks that Sum implements every hash the option
// tables offer, each with its own digest size.
func TestSchemaHashes(t *testing.T) {
	sizes := map[int]string{}
	for _, h := range schema.Hashes() {
		n := len(HashAlgo(h).Sum("x"))
		if prev, ok := sizes[n]; ok {
			t.Errorf("%s and %s both give %d-byte digests: Sum does not know one of them", prev, h, n)
		}
		sizes[n] = h
	}
}

// TestRank checks the query order, lower layers first, and that ranking,
// which sorting the IPCPs for every name query does, allocates nothing.
func TestRank(t *testing.T) {
	if !(Local.Rank() < UDP4.Rank() && UDP4.Rank() < Unicast.Rank() && Unicast.Rank() < Type("x").Rank()) {
		t.Errorf("ranks: local %d, udp4 %d, unicast %d, unknown %d", Local.Rank(), UDP4.Rank(), Unicast.Rank(), Type("x").Rank())
	}
	if n := testing.AllocsPerRun(100, func() { _ = Unicast.Rank() }); n != 0 {
		t.Errorf("Rank allocates %v times", n)
	}
}
