package ctrl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ErrClosed is returned by calls on a Client whose connection has ended.
var ErrClosed = errors.New("ctrl: connection to irmd closed")

// Client multiplexes calls over one Conn. A goroutine reads replies and
// hands notifications to the function given to NewClient.
type Client struct {
	conn   *Conn
	notify func(*Msg)

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan result
	err     error // set once the connection has ended
	done    chan struct{}
	pid     int
}

type result struct {
	msg *Msg
	fd  int
}

// Connect dials irmd in runDir, says hello in the given role, and returns a
// client. notify (may be nil) receives notifications, on the reader goroutine.
func Connect(ctx context.Context, runDir string, role Role, notify func(*Msg)) (*Client, error) {
	conn, err := Dial(runDir)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, notify: notify, pending: make(map[uint64]chan result), done: make(chan struct{})}
	go c.routineReader()
	hello := Hello{Role: role, Name: filepath.Base(os.Args[0])}
	if exe, err := os.Executable(); err == nil {
		hello.Prog = exe
	}
	var rep HelloReply
	if _, err := c.Call(ctx, OpHello, hello, &rep); err != nil {
		c.Close()
		return nil, fmt.Errorf("irmd hello: %w", err)
	}
	c.pid = rep.PID
	return c, nil
}

// PID returns this process's pid as irmd sees it.
func (c *Client) PID() int { return c.pid }

// Done is closed when the connection to irmd has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is up.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Call sends a request with body req and waits for the reply, decoding its
// body into resp (if not nil). If the reply carries a descriptor it is
// returned (else -1); the caller owns it. An error reply is an *Error.
func (c *Client) Call(ctx context.Context, op Op, req any, resp any) (int, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return -1, fmt.Errorf("ctrl: encode %s: %w", op, err)
	}
	ch := make(chan result, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return -1, c.err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()

	if err := c.conn.Send(&Msg{ID: id, Op: op, Body: body}, -1); err != nil {
		c.forget(id)
		return -1, fmt.Errorf("%w: %v", ErrClosed, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return -1, c.Err()
		}
		return decodeResult(op, r, resp)
	case <-ctx.Done():
		c.forget(id)
		// A reply may have raced in; release its descriptor.
		select {
		case r, ok := <-ch:
			if ok {
				closeFD(r.fd)
			}
		default:
		}
		return -1, ctx.Err()
	}
}

func decodeResult(op Op, r result, resp any) (int, error) {
	if r.msg.Code != "" {
		closeFD(r.fd)
		return -1, &Error{Op: op, Code: r.msg.Code, Msg: r.msg.Err}
	}
	if resp != nil && len(r.msg.Body) > 0 {
		if err := json.Unmarshal(r.msg.Body, resp); err != nil {
			closeFD(r.fd)
			return -1, fmt.Errorf("ctrl: decode %s reply: %w", op, err)
		}
	}
	return r.fd, nil
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// routineReader delivers replies to their callers and notifications to the
// notify function until the connection ends.
func (c *Client) routineReader() {
	for {
		m, fd, err := c.conn.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: irmd went away", ErrClosed)
			} else {
				err = fmt.Errorf("%w: %v", ErrClosed, err)
			}
			c.shutdown(err)
			return
		}
		if m.ID == 0 {
			closeFD(fd)
			if c.notify != nil {
				c.notify(m)
			}
			continue
		}
		c.mu.Lock()
		ch, ok := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if !ok {
			closeFD(fd) // the caller gave up
			continue
		}
		ch <- result{msg: m, fd: fd}
	}
}

func (c *Client) shutdown(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

// Close ends the connection; pending calls fail with ErrClosed.
func (c *Client) Close() error {
	err := c.conn.Close()
	c.shutdown(ErrClosed)
	return err
}
