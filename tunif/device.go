package tunif

import (
	"errors"
	"fmt"
)

// Headroom is the least offset Read and Write accept. During a call the
// device may use bufs[i][offset-Headroom:offset] (a tun with offloads writes
// its virtio-net header there); bytes before offset-Headroom are never
// touched. Callers that prepend their own headers read at offset
// Headroom+h and write their h-byte header into bufs[i][offset-h:offset].
const Headroom = 16

// MaxPacket is the largest packet a device moves: a tun's GRO coalesces
// written segments into packets up to this size, when the buffer's capacity
// allows.
const MaxPacket = 65535

// EthOverhead is what a tap frame carries beyond the MTU: the Ethernet
// header and one VLAN tag. A tap's read buffers need offset + MTU +
// EthOverhead bytes.
const EthOverhead = 14 + 4

// DefaultMTU is the MTU of a device opened with Config.MTU zero.
const DefaultMTU = 1500

// Device is a tun or tap interface that moves packets in batches. For a
// tun a packet is an IP packet (IPv4 or IPv6, no header in front); for a
// tap it is a whole Ethernet frame (no FCS).
//
// One goroutine may Read while another Writes; concurrent Reads (or
// concurrent Writes) are serialised. Close may be called at any time, from
// any goroutine, more than once: it unblocks a pending Read, and from then
// on Read and Write return an error for which errors.Is(err, os.ErrClosed)
// holds.
type Device interface {
	// Read waits for at least one packet and reads up to len(bufs) of
	// those ready, packet i into bufs[i][offset:], its length in
	// sizes[i]. It returns the number of packets read. offset must be at
	// least Headroom; len(sizes) must be at least len(bufs); each buffer
	// must be longer than offset+MTU (plus EthOverhead for a tap), and a
	// batch of BatchSize buffers takes a whole offloaded super-packet.
	// Read may return n > 0 together with an error: the n packets are
	// good and the error concerns what followed (a packet dropped because
	// it did not fit: ErrTruncated, ErrTooManySegments); such errors do
	// not end the device, only os.ErrClosed does.
	Read(bufs [][]byte, sizes []int, offset int) (n int, err error)

	// Write writes the packets bufs[i][offset:] and returns how many it
	// handed to the kernel. offset must be at least Headroom. An empty
	// packet or one over MaxPacket is skipped and the rest of the batch
	// written (the error wraps ErrPacketSize), so that one bad packet
	// from a peer costs no other packet. Write may overwrite bufs[i][offset-Headroom:offset],
	// change the packets in place and change the length of bufs[i] (a tun
	// with offloads coalesces packets into the first buffer of their flow,
	// within its capacity: give buffers a capacity of offset+MaxPacket for
	// GRO to work); callers reset their buffers before reusing them. A
	// packet the kernel refuses does not stop the batch: the error names
	// how many failed and why (a tun cannot tell which, and returns 0
	// with the error).
	Write(bufs [][]byte, offset int) (int, error)

	// BatchSize is the number of buffers a Read wants, and the most that
	// one Write call coalesces; it does not change.
	BatchSize() int

	// Name is the interface's name, fixed when the device was opened.
	Name() string

	// MTU returns the interface's MTU as the kernel has it now.
	MTU() (int, error)

	// SetMTU sets the interface's MTU.
	SetMTU(mtu int) error

	// Close removes the interface (devices are not persistent) and
	// releases the device.
	Close() error
}

// Config says how to open a device. The interface is made in the network
// namespace of the calling thread (lock the goroutine to a thread before
// moving it into another namespace); once open, the device keeps working
// whichever namespace later calls run in.
type Config struct {
	// Name is the interface name; empty lets the kernel choose
	// (tun0, tap0, ...). At most 15 bytes.
	Name string
	// MTU is set on the interface when it is opened; 0 means DefaultMTU.
	MTU int
	// Up brings the interface up once it is open. Addresses and routes
	// are the caller's (netlink).
	Up bool
}

func (c Config) mtu() int {
	if c.MTU == 0 {
		return DefaultMTU
	}
	return c.MTU
}

func (c Config) check(kind string) error {
	if len(c.Name) > 15 {
		return fmt.Errorf("tunif: %s name %q is longer than 15 bytes, the kernel's limit", kind, c.Name)
	}
	if c.MTU < 0 || c.MTU > MaxPacket {
		return fmt.Errorf("tunif: %s %q: MTU %d is outside 0..%d", kind, c.Name, c.MTU, MaxPacket)
	}
	return nil
}

// ErrOffset is returned by Read and Write when offset is less than
// Headroom.
var ErrOffset = errors.New("tunif: offset less than Headroom")

// ErrTruncated is returned by Read for a packet that filled its buffer: the
// kernel cuts what does not fit without saying so, so such a packet is
// dropped. Buffers longer than offset+MTU (+EthOverhead) never see it.
var ErrTruncated = errors.New("tunif: packet filled its read buffer and may have been cut short; dropped")

// badSize says whether a packet of n bytes cannot be written.
func badSize(n int) bool { return n <= 0 || n > MaxPacket }

// ErrPacketSize is wrapped by the error of a Write that skipped an empty
// packet or one over MaxPacket bytes.
var ErrPacketSize = errors.New("tunif: packets must be 1 to MaxPacket bytes long")

func checkRead(bufs [][]byte, sizes []int, offset int) error {
	if offset < Headroom {
		return ErrOffset
	}
	if len(sizes) < len(bufs) {
		return fmt.Errorf("tunif: %d sizes for %d buffers", len(sizes), len(bufs))
	}
	return nil
}
