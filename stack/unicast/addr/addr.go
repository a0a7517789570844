// Package addr holds the addresses of a unicast layer: flat numbers, 4 or 8
// bytes on the wire, assigned to a member when it bootstraps or enrolls.
// Zero is never a member's address.
package addr

import (
	"fmt"
	"math/rand/v2"
)

// Addr is a member's address in a unicast layer.
type Addr uint64

// None is the zero address: no member has it.
const None Addr = 0

// String prints the address in hex, the form irm shows.
func (a Addr) String() string { return fmt.Sprintf("%#x", uint64(a)) }

// CheckSize validates an address size in bytes.
func CheckSize(size int) error {
	if size != 4 && size != 8 {
		return fmt.Errorf("address size %d: use 4 or 8 bytes", size)
	}
	return nil
}

// Max returns the largest address of the given size.
func Max(size int) Addr {
	if size >= 8 {
		return ^Addr(0)
	}
	return Addr(1)<<(8*size) - 1
}

// Pick returns a random non-zero address of the given size that taken does
// not report as used. Collisions with members it does not know of are found
// later, through routing (see the unicast IPCP).
func Pick(size int, taken func(Addr) bool) Addr {
	for {
		a := Addr(rand.Uint64() & uint64(Max(size)))
		if a != None && (taken == nil || !taken(a)) {
			return a
		}
	}
}
