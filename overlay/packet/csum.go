package packet

import "encoding/binary"

// sum adds b to a running one's-complement sum (RFC 1071) as big-endian
// 16-bit words, b's first byte being the high byte of a word; the result is
// not folded. Callers sum at most 64 KiB, so the 64-bit accumulator cannot
// overflow.
func sum(acc uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		acc += v>>32 + v&0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold folds a sum to 16 bits and complements it: the checksum field's value.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return ^uint16(acc)
}

// checksum is the Internet checksum of b.
func checksum(b []byte) uint16 { return fold(sum(0, b)) }

// pseudo6 is the sum of the IPv6 pseudo-header (RFC 8200 section 8.1) for
// an upper-layer packet of length n and protocol next.
func pseudo6(src, dst []byte, n int, next byte) uint64 {
	acc := sum(0, src)
	acc = sum(acc, dst)
	return acc + uint64(n>>16) + uint64(n&0xffff) + uint64(next)
}

// update returns checksum c after a 16-bit word of the summed data changed
// from old to new (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
func update(c, old, new uint16) uint16 {
	acc := uint64(^c) + uint64(^old) + uint64(new)
	return fold(acc)
}
