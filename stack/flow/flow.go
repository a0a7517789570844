package flow

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/crypt"
	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/frct"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/seqpkt"
)

// Write and read path of one flow:
//
//	Write ─► [frct.Conn, unless raw] ─► [seal] ─► seqpkt.Conn ─► socket to irmd
//	Read  ◄─ [frct.Conn, unless raw] ◄─ [open] ◄─ seqpkt.Conn ◄─ socket from irmd
//
// Flows are sealed (sealed.go) when irmd handed keys from the key exchange.
//
// A closed socket (EOF on read, EPIPE on write) ends the flow; the reason
// (peer deallocated, or irmd/layer down) arrives on the control connection
// before irmd closes the socket, so it is known by the time EOF is seen.

// reasonWait bounds how long a reader that saw the socket close waits for
// the reason notice, which irmd sends before closing. Only a crashing irmd
// leaves it unset.
const reasonWait = time.Second

// sduConn is the path SDUs take below the application. Raw flows use the
// socket directly; FRCT stacks on it for the other QoS specs.
type sduConn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	ReadBatch(bufs [][]byte, lens []int) (int, error)
	WriteBatch(bufs [][]byte) (int, error)
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// Flow is one end of an allocated flow. Read and Write may be called
// concurrently with each other and with Close.
type Flow struct {
	p      *Process
	info   ctrl.FlowInfo
	sock   *seqpkt.Conn
	conn   sduConn
	frct   *frct.Conn  // nil for raw flows
	sealed *sealedConn // nil for unencrypted flows
	rdy    *readyFD    // for event sets on FRCT flows

	downOnce sync.Once
	down     chan struct{} // closed once reason is set
	reason   ctrl.Reason

	closeOnce sync.Once
	closed    chan struct{}

	reported uint64 // Rejected as last reported to irmd; Process.reportMu held
}

func newFlow(p *Process, info ctrl.FlowInfo, sock *seqpkt.Conn) (*Flow, error) {
	f := &Flow{p: p, info: info, sock: sock, conn: sock,
		down: make(chan struct{}), closed: make(chan struct{})}
	var lower frct.Lower = sock
	if len(info.Keys) > 0 {
		keys, err := crypt.UnmarshalKeys(info.Keys)
		clear(info.Keys)
		f.info.Keys = nil
		if err != nil {
			sock.Close()
			return nil, err
		}
		sc, err := newSealedConn(sock, keys, info.MaxSDU)
		if err != nil {
			sock.Close()
			return nil, err
		}
		f.conn, f.sealed, lower = sc, sc, sc
	}
	if !info.QoS.NeedsFRCT() {
		return f, nil
	}
	rdy, err := newReadyFD()
	if err != nil {
		sock.Close()
		return nil, err
	}
	f.rdy = rdy
	notify := func(c *frct.Conn) { rdy.update(c.Readable) }
	f.frct = frct.New(lower, frct.Config{QoS: info.QoS, MTU: info.MaxSDU, Notify: notify})
	f.conn = f.frct
	f.info.MaxSDU = f.frct.MaxSDU()
	return f, nil
}

// updateReady keeps the event-set descriptor of an FRCT flow in step with
// whether a Read would return at once.
func (f *Flow) updateReady() {
	if f.rdy != nil {
		f.rdy.update(f.frct.Readable)
	}
}

// ID returns the flow's id, unique on this host while the flow exists.
func (f *Flow) ID() uint64 { return f.info.ID }

// Name returns the name the flow was allocated to.
func (f *Flow) Name() string { return f.info.Name }

// QoS returns the QoS spec the flow runs with.
func (f *Flow) QoS() qos.Spec { return f.info.QoS }

// Layer returns the name of the layer that carries the flow.
func (f *Flow) Layer() string { return f.info.Layer }

// MaxSDU returns the largest SDU the flow carries, in bytes.
func (f *Flow) MaxSDU() int { return f.info.MaxSDU }

// Encrypted reports whether the flow's packets are sealed with keys from
// its key exchange.
func (f *Flow) Encrypted() bool { return f.sealed != nil }

// Rejected returns how many packets arrived that did not open: modified,
// replayed, or not sealed with the flow's keys. They were dropped.
// The process reports the count to irmd, for 'irm flow list' (report.go).
func (f *Flow) Rejected() uint64 {
	if f.sealed == nil {
		return 0
	}
	n, _ := f.sealed.Rejected()
	return n
}

// Skipped returns how many SDUs this end's FRCT gave up waiting for: gaps
// in the sequence that an in-order flow that is not reliable (best, video,
// voice) skipped to deliver what came after, when the packets were lost
// below it or arrived too late. They were sent and never read here.
// Reliable flows skip nothing (they retransmit); raw flows have no FRCT and
// do not know what they lost. SDUs lost at the very end of a flow leave no
// gap and are not counted.
func (f *Flow) Skipped() uint64 {
	if f.frct == nil {
		return 0
	}
	return f.frct.Stats().Skipped
}

// Read reads one SDU into p. If the SDU is larger than p, the first len(p)
// bytes are returned with an error matching ErrMsgSize and the rest is lost,
// so size p by MaxSDU. When the flow has ended and every SDU sent before
// has been read, Read fails with ErrPeerGone (the peer closed the flow) or,
// when it ended otherwise, ErrFlowDown; on flows with FRCT (every QoS but
// raw) only the peer's orderly close is ErrPeerGone, and every other end
// matches ErrAborted, so a truncated transfer is never mistaken for a
// complete one.
func (f *Flow) Read(p []byte) (int, error) {
	n, err := f.conn.Read(p)
	f.updateReady()
	if err != nil {
		return n, f.opError("read", err)
	}
	return n, nil
}

// ReadBatch reads up to len(bufs) SDUs, storing their sizes in lens, and
// returns how many it read; it blocks until at least one is available.
func (f *Flow) ReadBatch(bufs [][]byte, lens []int) (int, error) {
	n, err := f.conn.ReadBatch(bufs, lens)
	f.updateReady()
	if err != nil {
		return n, f.opError("read", err)
	}
	return n, nil
}

// Write sends p as one SDU. It blocks while the flow's queue towards the
// peer is full (the peer reads slower than this process writes), until the
// write deadline.
func (f *Flow) Write(p []byte) (int, error) {
	if err := f.checkSize(p); err != nil {
		return 0, f.opError("write", err)
	}
	n, err := f.conn.Write(p)
	if err != nil {
		return n, f.opError("write", err)
	}
	return n, nil
}

// WriteBatch sends each of bufs as one SDU and returns how many were sent.
func (f *Flow) WriteBatch(bufs [][]byte) (int, error) {
	for _, b := range bufs {
		if err := f.checkSize(b); err != nil {
			return 0, f.opError("write", err)
		}
	}
	n, err := f.conn.WriteBatch(bufs)
	if err != nil {
		return n, f.opError("write", err)
	}
	return n, nil
}

func (f *Flow) checkSize(p []byte) error {
	if len(p) == 0 {
		return ErrEmpty
	}
	if f.info.MaxSDU > 0 && len(p) > f.info.MaxSDU {
		return &detailError{kind: ErrMsgSize, msg: sizeMsg(len(p), f.info.MaxSDU)}
	}
	return nil
}

// SetDeadline sets both the read and the write deadline.
func (f *Flow) SetDeadline(t time.Time) error {
	if err := f.conn.SetReadDeadline(t); err != nil {
		return err
	}
	return f.conn.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for Read and ReadBatch; a time in the past
// makes them non-blocking, the zero time removes the deadline.
func (f *Flow) SetReadDeadline(t time.Time) error { return f.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for Write and WriteBatch.
func (f *Flow) SetWriteDeadline(t time.Time) error { return f.conn.SetWriteDeadline(t) }

// TxQueued returns how many bytes this process has written that irmd has not
// taken yet (kernel accounting, including per-SDU overhead).
func (f *Flow) TxQueued() (int, error) { return f.ioctl(unix.SIOCOUTQ) }

// RxReady returns the size of the next SDU waiting to be read, 0 if none.
func (f *Flow) RxReady() (int, error) { return f.ioctl(unix.SIOCINQ) }

func (f *Flow) ioctl(req uint) (int, error) {
	var v int
	var ierr error
	err := f.sock.SyscallConn().Control(func(fd uintptr) {
		v, ierr = unix.IoctlGetInt(int(fd), req)
	})
	if err != nil {
		return 0, f.opError("ioctl", err)
	}
	if ierr != nil {
		return 0, f.opError("ioctl", ierr)
	}
	return v, nil
}

// Close deallocates the flow. The peer's reads fail with ErrPeerGone once
// it has read what was sent before.
func (f *Flow) Close() error {
	err := ErrClosed
	f.closeOnce.Do(func() {
		close(f.closed)
		if f.sealed != nil {
			f.p.report([]*Flow{f}) // the last rejections, while irmd has the flow
		}
		err = f.conn.Close() // FRCT lingers until its data is acknowledged
		if f.rdy != nil {
			f.rdy.close()
		}
		f.p.forget(f.info.ID)
		if f.frct != nil && err != nil {
			// What was written may not have arrived: say why.
			err = &OpError{Op: "close", Name: f.info.Name, ID: f.info.ID, Err: f.mapErr(err)}
		}
	})
	if errors.Is(err, ErrClosed) {
		return &OpError{Op: "close", Name: f.info.Name, ID: f.info.ID, Err: err}
	}
	return err
}

// markDown records why the flow ended; the first reason wins.
func (f *Flow) markDown(r ctrl.Reason) {
	f.downOnce.Do(func() {
		f.reason = r
		close(f.down)
	})
}

// Down is closed when irmd has said that the flow ended.
func (f *Flow) Down() <-chan struct{} { return f.down }

// waitReason waits briefly for the reason the socket closed; ok is false
// when none came.
func (f *Flow) waitReason() (r ctrl.Reason, ok bool) {
	select {
	case <-f.down:
		return f.reason, true
	case <-time.After(reasonWait):
		return "", false
	}
}

// endReason waits briefly for the reason the socket closed.
func (f *Flow) endReason() error {
	if r, _ := f.waitReason(); r == ctrl.ReasonPeer {
		return ErrPeerGone
	}
	return ErrFlowDown
}

// abortReason explains an FRCT flow's abrupt end by the reason irmd gave
// (waiting briefly for it, as endReason does).
func (f *Flow) abortReason() error {
	e := &abortError{also: ErrFlowDown, rx: f.frct.Stats().DeliveredBytes}
	r, ok := f.waitReason()
	switch {
	case !ok:
		e.cause = "its socket closed with no word from irmd, before the peer closed the stream"
	case r == ctrl.ReasonDown:
		e.cause = "irmd or the layer ended it before the peer closed the stream"
	default:
		e.cause = "the peer's host or layer ended it without the peer closing the stream (the peer crashed, or the teardown was forged)"
	}
	return e
}

// opError maps a socket error onto the package errors, with context.
func (f *Flow) opError(op string, err error) error {
	select {
	case <-f.closed:
		return &OpError{Op: op, Name: f.info.Name, ID: f.info.ID, Err: ErrClosed}
	default:
	}
	return &OpError{Op: op, Name: f.info.Name, ID: f.info.ID, Err: f.mapErr(err)}
}

// mapErr maps an error of the flow's FRCT or socket onto the package errors.
func (f *Flow) mapErr(err error) error {
	switch {
	case f.frct != nil && errors.Is(err, io.EOF):
		err = ErrPeerGone // FRCT saw the peer's FIN: the orderly end
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrClosedPipe):
		err = f.endReason()
	case errors.Is(err, frct.ErrAborted):
		err = f.abortReason()
	case errors.Is(err, frct.ErrPeerTimeout):
		err = &abortError{also: ErrPeerTimeout, rx: f.frct.Stats().DeliveredBytes,
			cause: "the peer vanished: " + strings.TrimPrefix(err.Error(), frct.ErrPeerTimeout.Error()+": ")}
	case errors.Is(err, frct.ErrTimeout):
		err = ErrTimeout
	case errors.Is(err, frct.ErrClosed):
		err = ErrClosed
	case errors.Is(err, frct.ErrTooLarge):
		err = ErrMsgSize
	case errors.Is(err, frct.ErrEmpty):
		err = ErrEmpty
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = ErrTimeout
	case errors.Is(err, os.ErrClosed):
		err = ErrClosed
	case errors.Is(err, seqpkt.ErrTruncated):
		err = ErrMsgSize
	case errors.Is(err, seqpkt.ErrEmpty):
		err = ErrEmpty
	}
	return err
}
