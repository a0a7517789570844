package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The control socket of a link is RUNDIR/ovpn/LINK.sock, mode 0600 in a
// 0700 directory: only root (or the daemon's user) talks to it. A client
// connects, writes one request as a JSON line, and reads one response line.
const (
	sockSuffix      = ".sock"
	requestTimeout  = 5 * time.Second  // to read a request, or to answer status and reload
	downWaitTimeout = 60 * time.Second // for a link to be down after "down"
)

// request is what a client asks: "status", "reload" or "down".
type request struct {
	Op string `json:"op"`
}

// response is the answer: OK, or Error saying why not; Status for "status".
type response struct {
	OK     bool        `json:"ok"`
	Error  string      `json:"error,omitempty"`
	Status *linkStatus `json:"status,omitempty"`
}

// sockDir is where the control sockets of the links are.
func sockDir(rundir string) string { return filepath.Join(rundir, "ovpn") }

// sockPath is the control socket of the link called name.
func sockPath(rundir, name string) string {
	return filepath.Join(sockDir(rundir), name+sockSuffix)
}

// control is a link's control socket, served by the daemon.
type control struct {
	rundir, name string
	serve        func(request) response
	path         string
	busy         sync.WaitGroup // requests being served

	mu     sync.Mutex
	ln     *net.UnixListener
	closed bool
}

// listenControl creates the link's control socket (replacing a stale one)
// and serves each connection's request with serve.
func listenControl(rundir, name string, serve func(request) response) (*control, error) {
	c := &control{rundir: rundir, name: name, serve: serve, path: sockPath(rundir, name)}
	ln, err := c.listen()
	if err != nil {
		return nil, err
	}
	c.ln = ln
	go c.acceptLoop(ln)
	return c, nil
}

func (c *control) listen() (*net.UnixListener, error) {
	if err := os.MkdirAll(sockDir(c.rundir), 0o700); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stale control socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(c.path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// renew makes the socket again if its file is gone: a service manager
// that restarts irmd may remove the whole run directory with it.
func (c *control) renew() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if _, err := os.Stat(c.path); err == nil {
		return nil
	}
	c.ln.SetUnlinkOnClose(false) // the path is not ours any more
	c.ln.Close()
	ln, err := c.listen()
	if err != nil {
		return err
	}
	c.ln = ln
	go c.acceptLoop(ln)
	return nil
}

func (c *control) acceptLoop(ln *net.UnixListener) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			return // closed
		}
		c.busy.Add(1)
		go func() {
			defer c.busy.Done()
			handle(conn, c.serve)
		}()
	}
}

// handle serves one connection: one request, one response.
func handle(conn *net.UnixConn, serve func(request) response) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return
	}
	b, _ := json.Marshal(answer(line, serve))
	conn.SetWriteDeadline(time.Now().Add(requestTimeout))
	conn.Write(append(b, '\n'))
}

// answer decodes one request line and serves it; anything but a JSON
// request gets "bad request".
func answer(line []byte, serve func(request) response) response {
	var req request
	if json.Unmarshal(line, &req) != nil {
		return response{Error: "bad request"}
	}
	return serve(req)
}

// close stops serving and removes the socket; requests being served finish.
func (c *control) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.ln.Close() // removes the socket file too (net.UnixListener unlinks it)
	os.Remove(c.path)
}

// drain waits, at most requestTimeout, for the requests being served to be
// answered: the answer to "down" is written after the teardown it asked for,
// and the process must not exit before.
func (c *control) drain() {
	done := make(chan struct{})
	go func() {
		c.busy.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(requestTimeout):
	}
}

// errNotUp says a link has no control socket that answers.
var errNotUp = errors.New("not up")

// call sends req to the link called name and returns its response; an
// error wrapping errNotUp if no daemon answers.
func call(ctx context.Context, rundir, name string, req request, timeout time.Duration) (response, error) {
	path := sockPath(rundir, name)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return response{}, fmt.Errorf("link %s is %w (no daemon answers on %s)", name, errNotUp, path)
		}
		if errors.Is(err, fs.ErrPermission) {
			return response{}, fmt.Errorf("link %s: %w: run ovpn as root", name, err)
		}
		return response{}, fmt.Errorf("link %s: %w", name, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return response{}, fmt.Errorf("link %s: %w", name, err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return response{}, fmt.Errorf("link %s did not answer %s: %w", name, req.Op, err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return response{}, fmt.Errorf("link %s: bad answer: %w", name, err)
	}
	if !resp.OK {
		return resp, fmt.Errorf("link %s: %s", name, resp.Error)
	}
	return resp, nil
}

// refuseIfUp fails if the link called name is up already.
func refuseIfUp(ctx context.Context, rundir, name string) error {
	_, err := call(ctx, rundir, name, request{Op: "status"}, requestTimeout)
	if err == nil {
		return fmt.Errorf("link %s is up already: 'ovpn down %s' first, or 'ovpn reload %s' to apply a changed config", name, name, name)
	}
	return nil
}

// links lists the links whose control socket exists.
func links(rundir string) ([]string, error) {
	ents, err := os.ReadDir(sockDir(rundir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), sockSuffix); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// serve answers one control request.
func (d *daemon) serve(req request) response {
	switch req.Op {
	case "status":
		st := d.status()
		return response{OK: true, Status: &st}
	case "reload":
		if err := d.reload(); err != nil {
			return response{Error: err.Error()}
		}
		return response{OK: true}
	case "down":
		d.stop()
		return response{OK: true}
	}
	return response{Error: fmt.Sprintf("unknown request %q", req.Op)}
}
