package frct

import "time"

// Lower is the path below FRCT: the flow's socket to irmd, or an in-memory
// link in tests (package frcttest). Every PDU is one SDU of the layer below.
//
// ReadBatch may run concurrently with WriteBatch and TryWriteBatch, and
// those two with each other. Only one goroutine calls ReadBatch.
type Lower interface {
	// ReadBatch reads up to len(bufs) PDUs, storing their lengths in lens.
	// It blocks until at least one PDU arrives or the read deadline passes
	// (an error matching os.ErrDeadlineExceeded). It returns io.EOF once the
	// other end has closed and everything before was read.
	ReadBatch(bufs [][]byte, lens []int) (int, error)
	// SetReadDeadline sets the deadline of ReadBatch; it may be called while
	// ReadBatch blocks, and then takes effect for that call.
	SetReadDeadline(t time.Time) error
	// WriteBatch writes each of pdus as one PDU, blocking while the layer
	// below pushes back, until the write deadline.
	WriteBatch(pdus [][]byte) (int, error)
	// SetWriteDeadline sets the deadline of WriteBatch.
	SetWriteDeadline(t time.Time) error
	// TryWriteBatch writes what it can of pdus without blocking and returns
	// how many it wrote. FRCT sends acknowledgements and retransmissions
	// with it, so that its receiver never blocks on a full queue (two
	// receivers blocked on each other's full queues would deadlock).
	TryWriteBatch(pdus [][]byte) (int, error)
	// Close closes the path; the other end's reads end with io.EOF.
	Close() error
}
