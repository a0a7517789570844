package seqpkt

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// zeroByte backs the iovec of an empty read buffer: the kernel needs a valid
// pointer even for length 0. It is never written (length 0).
var zeroByte byte

func bufPtr(b []byte) *byte {
	if len(b) == 0 {
		return &zeroByte
	}
	return &b[0]
}

func uintptrOf(h *unix.Mmsghdr) uintptr { return uintptr(unsafe.Pointer(h)) }
