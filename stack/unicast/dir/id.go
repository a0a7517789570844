package dir

import (
	"math/bits"
	"math/rand/v2"
)

// xor returns the distance between two ids of equal length.
func xor(a, b []byte) []byte {
	d := make([]byte, len(a))
	for i := range d {
		d[i] = a[i] ^ b[i]
	}
	return d
}

// closer reports whether a is closer to target than b, over the full id.
func closer(target, a, b []byte) bool {
	for i := range target {
		da, db := a[i]^target[i], b[i]^target[i]
		if da != db {
			return da < db
		}
	}
	return false
}

// prefixLen is the number of leading bits a and b share.
func prefixLen(a, b []byte) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return 8*i + bits.LeadingZeros8(x)
		}
	}
	return 8 * len(a)
}

// randomInBucket returns a random id that shares exactly n leading bits
// with self: an id in bucket n.
func randomInBucket(self []byte, n int) []byte {
	id := make([]byte, len(self))
	for i := range id {
		id[i] = byte(rand.Uint32())
	}
	byteN, bitN := n/8, uint(n%8)
	copy(id, self[:byteN])
	keep := byte(0xff) << (8 - bitN) // bits of self kept in byte byteN
	flip := byte(0x80) >> bitN       // the first bit that differs
	id[byteN] = self[byteN]&keep | ^self[byteN]&flip | id[byteN]&^(keep|flip)
	return id
}
