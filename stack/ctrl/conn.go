package ctrl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Conn carries Msgs, each optionally with one file descriptor, over a Unix
// SOCK_SEQPACKET connection. Send and Recv may be called concurrently with
// each other; concurrent Sends are serialised.
type Conn struct {
	uc  *net.UnixConn
	wmu sync.Mutex
	// buf is Recv's buffer, grown to the largest message received; Recv
	// is not called concurrently.
	buf []byte
	oob []byte
}

// NewConn wraps an established connection.
func NewConn(uc *net.UnixConn) *Conn {
	return &Conn{uc: uc, oob: make([]byte, unix.CmsgSpace(4))}
}

// Dial connects to the irmd whose control socket is in runDir ("" = RunDir()).
// The error says how to start irmd when nothing listens.
func Dial(runDir string) (*Conn, error) {
	path := SocketPath(runDir)
	uc, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, &DialError{Path: path, Err: err}
	}
	return NewConn(uc), nil
}

// DialError reports that irmd could not be reached.
type DialError struct {
	Path string
	Err  error
}

func (e *DialError) Error() string {
	hint := "is irmd running? start it with 'systemctl start irmd' or 'irmd --stdout'"
	if errors.Is(e.Err, os.ErrPermission) {
		hint = "permission denied: run as root or as a member of the socket's group"
	}
	return fmt.Sprintf("cannot reach irmd at %s: %v (%s; set %s to use another run directory)",
		e.Path, errors.Unwrap(e.Err), hint, EnvRunDir)
}

func (e *DialError) Unwrap() error { return e.Err }

// Peer is what the kernel says about the process at the other end of a
// connection, as of its connect(2): never what the process claims.
type Peer struct {
	PID, UID, GID int
	// PIDFD refers to that very process (SO_PEERPIDFD), so that what is
	// read about it under /proc is known to be about it and not about a
	// later process that got its pid; -1 on kernels before Linux 6.5.
	// The caller closes it.
	PIDFD int
}

// Peer returns the credentials of the process at the other end.
func (c *Conn) Peer() (Peer, error) {
	p := Peer{PIDFD: -1}
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return p, err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		var cred *unix.Ucred
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if cerr != nil {
			return
		}
		p.PID, p.UID, p.GID = int(cred.Pid), int(cred.Uid), int(cred.Gid)
		if pfd, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD); err == nil {
			p.PIDFD = pfd
			unix.CloseOnExec(pfd)
		}
	}); err != nil {
		return p, err
	}
	return p, cerr
}

// SetReadDeadline bounds the wait of Recv; the zero time removes the bound.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.uc.SetReadDeadline(t) }

// Send writes m, passing the descriptor fd along if it is not negative. The
// caller keeps ownership of fd.
func (c *Conn) Send(m *Msg, fd int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("ctrl: encode %s: %w", m.Op, err)
	}
	if len(b) > MaxMsg {
		return fmt.Errorf("ctrl: %s message of %d bytes exceeds %d", m.Op, len(b), MaxMsg)
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(b) > smallMsg {
		if err := c.fitSendBuffer(len(b)); err != nil {
			return fmt.Errorf("ctrl: %s message of %d bytes: %w", m.Op, len(b), err)
		}
	}
	_, _, err = c.uc.WriteMsgUnix(b, oob, nil)
	return err
}

// smallMsg is a size every socket's default send buffer takes (Linux's
// default is 208 KiB): only larger messages need fitSendBuffer.
const smallMsg = 64 << 10

// fitSendBuffer grows the socket's send buffer to take a message of n
// bytes: a SOCK_SEQPACKET message must fit it whole, and listings of
// thousands of flows outgrow the default. Root (irmd) may exceed the
// system's limit (net.core.wmem_max) with SO_SNDBUFFORCE; others get
// EMSGSIZE from the send if the limit is too low.
func (c *Conn) fitSendBuffer(n int) error {
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return err
	}
	need := n + 1024 // the kernel's per-message overhead, with room
	var serr error
	err = rc.Control(func(fd uintptr) {
		cur, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err == nil && cur >= need {
			return
		}
		// The kernel doubles the value set; it reports the doubled one.
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, need) != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, need)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// Recv reads the next message and the descriptor it carries, if any. It
// returns io.EOF when the other end has closed.
func (c *Conn) Recv() (*Msg, int, error) {
	size, err := c.nextSize()
	if err != nil {
		return nil, -1, err
	}
	if size > len(c.buf) {
		c.buf = make([]byte, min(size, MaxMsg+1)) // one more: MSG_TRUNC tells what is too large
	}
	n, oobn, flags, _, err := c.uc.ReadMsgUnix(c.buf, c.oob)
	if err != nil {
		return nil, -1, err
	}
	fd := -1
	if oobn > 0 {
		fd, err = parseRights(c.oob[:oobn])
		if err != nil {
			return nil, -1, err
		}
	}
	if n == 0 && fd < 0 {
		return nil, -1, io.EOF
	}
	if flags&unix.MSG_TRUNC != 0 || n > MaxMsg {
		closeFD(fd)
		return nil, -1, fmt.Errorf("ctrl: message larger than %d bytes", MaxMsg)
	}
	m := new(Msg)
	if err := json.Unmarshal(c.buf[:n], m); err != nil {
		closeFD(fd)
		return nil, -1, fmt.Errorf("ctrl: bad message: %w", err)
	}
	return m, fd, nil
}

// nextSize waits for the next message and returns its size, without
// reading it: a connection's buffer is as large as its messages, not
// MaxMsg, so that irmd's thousands of idle or short-lived connections
// cost little.
func (c *Conn) nextSize() (int, error) {
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var size int
	var perr error
	var one [1]byte
	err = rc.Read(func(fd uintptr) bool {
		size, _, perr = unix.Recvfrom(int(fd), one[:], unix.MSG_PEEK|unix.MSG_TRUNC|unix.MSG_DONTWAIT)
		return perr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if perr != nil {
		return 0, &net.OpError{Op: "read", Net: "unixpacket", Err: os.NewSyscallError("recvfrom", perr)}
	}
	return max(size, 1), nil
}

func parseRights(oob []byte) (int, error) {
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, fmt.Errorf("ctrl: bad control message: %w", err)
	}
	fd := -1
	for _, cm := range cmsgs {
		fds, err := unix.ParseUnixRights(&cm)
		if err != nil {
			continue
		}
		for _, x := range fds {
			if fd < 0 {
				fd = x
			} else {
				unix.Close(x) // only one descriptor per message is expected
			}
		}
	}
	if fd >= 0 {
		unix.CloseOnExec(fd)
	}
	return fd, nil
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// Close closes the connection.
func (c *Conn) Close() error { return c.uc.Close() }

// Reply builds the reply to req carrying body.
func Reply(req *Msg, body any) (*Msg, error) {
	m := &Msg{ID: req.ID, Op: req.Op}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		m.Body = b
	}
	return m, nil
}

// ErrorReply builds the error reply to req.
func ErrorReply(req *Msg, err error) *Msg {
	m := &Msg{ID: req.ID, Op: req.Op, Code: CodeInternal, Err: err.Error()}
	var ce *Error
	if errors.As(err, &ce) {
		m.Code = ce.Code
	}
	return m
}
