package flow

import (
	"context"
	"errors"
	"fmt"
	"os"

	"o7s.dev/ouroboros/stack/ctrl"
)

// Errors a flow operation can fail with, checkable with errors.Is. The
// returned errors are *OpError values that wrap one of these.
var (
	// ErrFlowDown: the flow ended without the peer asking for it: irmd or
	// the layer went down.
	ErrFlowDown = errors.New("flow down")
	// ErrPeerGone: the peer deallocated the flow or exited.
	ErrPeerGone = errors.New("peer deallocated the flow")
	// ErrPeerTimeout: the peer went silent for the QoS timeout, or left
	// data unacknowledged too long: it is considered dead. It also matches
	// ErrAborted.
	ErrPeerTimeout = errors.New("peer timed out")
	// ErrAborted: a flow with FRCT (any QoS but raw) ended without the
	// peer closing it in order: irmd, the layer or the peer's host ended it,
	// or the peer went silent (then ErrPeerTimeout matches too; otherwise
	// ErrFlowDown does). What was received may be incomplete; it never
	// matches ErrPeerGone, the orderly end.
	ErrAborted = errors.New("flow ended abruptly")
	// ErrTimeout: a deadline or the context's deadline passed. It also
	// matches os.ErrDeadlineExceeded and context.DeadlineExceeded.
	ErrTimeout error = timeoutError{}
	// ErrMsgSize: the SDU is larger than the flow carries, or than the read buffer.
	ErrMsgSize = errors.New("message too large")
	// ErrNotAllowed: refused by the host's policy.
	ErrNotAllowed = errors.New("not allowed")
	// ErrUnreachable: no layer reaches the name, or nothing accepts flows for it.
	ErrUnreachable = errors.New("name unreachable")
	// ErrNoName: no layer of the host has the name registered (their
	// directories say so), as opposed to one that has it but whose
	// acceptor cannot be reached. It also matches ErrUnreachable.
	ErrNoName = errors.New("no such name")
	// ErrIRMd: irmd cannot be reached, or went away.
	ErrIRMd = errors.New("irmd unreachable")
	// ErrClosed: the flow or the process handle was closed by this process.
	ErrClosed = errors.New("use of closed flow")
	// ErrEmpty: a zero-length SDU was written; flows carry SDUs of at least one byte.
	ErrEmpty = errors.New("empty SDU")
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded || target == context.DeadlineExceeded
}

// OpError describes a failed operation on a flow, in the manner of net.OpError.
type OpError struct {
	Op   string // "alloc", "accept", "read", "write", ...
	Name string // the flow's name, if known
	ID   uint64 // the flow's id, if known
	Err  error
}

func (e *OpError) Error() string {
	s := "flow " + e.Op
	if e.Name != "" {
		s += " " + e.Name
	}
	if e.ID != 0 {
		s += fmt.Sprintf(" (flow %d)", e.ID)
	}
	return s + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

// Timeout reports whether the error is a timeout, for net.Error compatibility.
func (e *OpError) Timeout() bool { return errors.Is(e.Err, ErrTimeout) }

// fromCtrl maps an error from the control connection onto the package errors.
func fromCtrl(err error) error {
	var ce *ctrl.Error
	if errors.As(err, &ce) {
		var kind error
		switch ce.Code {
		case ctrl.CodeTimeout:
			kind = ErrTimeout
		case ctrl.CodeNotAllowed:
			kind = ErrNotAllowed
		case ctrl.CodeUnreachable, ctrl.CodeNotFound:
			kind = ErrUnreachable
		case ctrl.CodeNoName:
			kind = ErrNoName
		case ctrl.CodeMsgSize:
			kind = ErrMsgSize
		case ctrl.CodeDown:
			kind = ErrFlowDown
		default:
			return err
		}
		return &detailError{kind: kind, msg: ce.Msg}
	}
	var de *ctrl.DialError
	if errors.As(err, &de) || errors.Is(err, ctrl.ErrClosed) {
		return &detailError{kind: ErrIRMd, msg: err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	return err
}

// abortError is an FRCT flow's abrupt end: it matches ErrAborted and also
// (ErrFlowDown or ErrPeerTimeout), and says how much had arrived.
type abortError struct {
	also  error
	cause string
	rx    uint64 // bytes the application read
}

// Error reads "flow ended abruptly (flow down): CAUSE (N bytes received)":
// the error it also matches stays in the text, for those who grep for it.
func (e *abortError) Error() string {
	return fmt.Sprintf("%v (%v): %s (%d bytes received)", ErrAborted, e.also, e.cause, e.rx)
}

func (e *abortError) Is(target error) bool { return target == ErrAborted || target == e.also }

// detailError keeps irmd's explanation while matching a package error.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string {
	if e.msg == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.msg
}

func (e *detailError) Unwrap() error { return e.kind }

// Is lets ErrNoName match ErrUnreachable too: callers that only ask
// whether the name was reached keep working.
func (e *detailError) Is(target error) bool {
	return e.kind == ErrNoName && target == ErrUnreachable
}
