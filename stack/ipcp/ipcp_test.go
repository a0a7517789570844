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
