package ctrl

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeIRMd answers each request with serve's result on a socket in a
// temporary run directory.
func fakeIRMd(t *testing.T, serve func(c *Conn, m *Msg)) string {
	t.Helper()
	dir := t.TempDir()
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: SocketPath(dir), Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			uc, err := l.AcceptUnix()
			if err != nil {
				return
			}
			go func() {
				c := NewConn(uc)
				defer c.Close()
				for {
					m, fd, err := c.Recv()
					if err != nil {
						return
					}
					if fd >= 0 {
						unix.Close(fd)
					}
					serve(c, m)
				}
			}()
		}
	}()
	return dir
}

func TestClientCallsRepliesAndDescriptors(t *testing.T) {
	dir := fakeIRMd(t, func(c *Conn, m *Msg) {
		switch m.Op {
		case OpHello:
			r, _ := Reply(m, HelloReply{PID: 42, Version: "test"})
			c.Send(r, -1)
		case OpFlowAlloc:
			f, _ := os.Open(os.DevNull)
			defer f.Close()
			r, _ := Reply(m, FlowInfo{ID: 7, Name: "x"})
			c.Send(r, int(f.Fd()))
		default:
			c.Send(ErrorReply(m, Errorf(CodeNotFound, "no such thing")), -1)
		}
	})
	cl, err := Connect(context.Background(), dir, RoleApp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if cl.PID() != 42 {
		t.Fatalf("PID = %d", cl.PID())
	}
	var info FlowInfo
	fd, err := cl.Call(context.Background(), OpFlowAlloc, FlowAlloc{Name: "x"}, &info)
	if err != nil || fd < 0 || info.ID != 7 {
		t.Fatalf("Call = %d, %v, %+v", fd, err, info)
	}
	unix.Close(fd)
	_, err = cl.Call(context.Background(), OpNameList, NameFilter{}, nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != CodeNotFound || ce.Op != OpNameList {
		t.Fatalf("error reply = %#v", err)
	}
}

func TestClientCallHonoursContext(t *testing.T) {
	dir := fakeIRMd(t, func(c *Conn, m *Msg) {
		if m.Op == OpHello {
			r, _ := Reply(m, HelloReply{PID: 1})
			c.Send(r, -1)
		} // everything else goes unanswered
	})
	cl, err := Connect(context.Background(), dir, RoleMgmt, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := cl.Call(ctx, OpIPCPList, IPCPFilter{}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want the context's error", err)
	}
}

func TestClientSeesIRMdGo(t *testing.T) {
	var conns = make(chan *Conn, 1)
	dir := fakeIRMd(t, func(c *Conn, m *Msg) {
		r, _ := Reply(m, HelloReply{PID: 1})
		c.Send(r, -1)
		conns <- c
	})
	notified := make(chan *Msg, 1)
	cl, err := Connect(context.Background(), dir, RoleApp, func(m *Msg) { notified <- m })
	if err != nil {
		t.Fatal(err)
	}
	c := <-conns
	b, _ := json.Marshal(FlowDown{ID: 3, Reason: ReasonPeer})
	c.Send(&Msg{Op: OpFlowDown, Body: b}, -1)
	if m := <-notified; m.Op != OpFlowDown {
		t.Fatalf("notification %+v", m)
	}
	c.Close()
	select {
	case <-cl.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("client did not notice irmd leaving")
	}
	if _, err := cl.Call(context.Background(), OpIPCPList, nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Call after irmd left = %v, want ErrClosed", err)
	}
}

func TestDialErrorSaysWhatToDo(t *testing.T) {
	_, err := Dial(filepath.Join(t.TempDir(), "none"))
	var de *DialError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "is irmd running") || !strings.Contains(err.Error(), EnvRunDir) {
		t.Fatalf("Dial error = %v", err)
	}
}

func TestRunDirFromEnvironment(t *testing.T) {
	t.Setenv(EnvRunDir, "/tmp/x")
	if SocketPath("") != "/tmp/x/irmd.sock" {
		t.Fatalf("SocketPath = %s", SocketPath(""))
	}
	t.Setenv(EnvRunDir, "")
	if RunDir() != DefaultRunDir {
		t.Fatalf("RunDir = %s", RunDir())
	}
}

// FuzzDecode feeds arbitrary bytes to a Conn as one control message: bad
// input must give an error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":1,"op":"flow.alloc","body":{"name":"x"}}`))
	f.Add([]byte(`{"id":0,"op":"flow.down","body":{"id":3,"reason":"peer"}}`))
	f.Add([]byte(`{"op":`))
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		wf, c := rawAndConn(t)
		if len(data) == 0 {
			return
		}
		if _, err := wf.Write(data); err != nil {
			return
		}
		m, fd, err := c.Recv()
		if err == nil && m == nil {
			t.Fatal("nil message without an error")
		}
		if fd >= 0 {
			unix.Close(fd)
		}
	})
}

// Recv sizes its buffer by the message: a small one, then a large one,
// then one over MaxMsg (refused), each on the same connection.
func TestRecvSizesByMessage(t *testing.T) {
	wf, c := rawAndConn(t)
	if err := unix.SetsockoptInt(int(wf.Fd()), unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20); err != nil {
		t.Fatal(err)
	}
	big := `{"id":2,"op":"x","body":"` + strings.Repeat("a", MaxMsg-64) + `"}`
	for _, msg := range []string{`{"id":1,"op":"hello"}`, big} {
		go wf.Write([]byte(msg))
		m, _, err := c.Recv()
		if err != nil {
			t.Fatalf("message of %d bytes: %v", len(msg), err)
		}
		if len(c.buf) > MaxMsg+1 || len(msg) < 100 && len(c.buf) > 100 {
			t.Fatalf("message %d of %d bytes: buffer of %d", m.ID, len(msg), len(c.buf))
		}
	}
	go wf.Write([]byte(big + strings.Repeat(" ", 64)))
	if _, _, err := c.Recv(); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("message over MaxMsg: %v", err)
	}
}

// Send fits a large message, such as the flow list of thousands of flows,
// in the socket's send buffer: a SOCK_SEQPACKET message over the default
// buffer would fail with EMSGSIZE.
func TestSendGrowsBufferForLargeMessages(t *testing.T) {
	fds := seqpacketPair(t)
	conns := make([]*Conn, 2)
	for i, fd := range fds {
		conns[i] = connOf(t, fd)
		defer conns[i].Close()
	}
	rc, err := conns[0].uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 64<<10) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	body, _ := json.Marshal(strings.Repeat("f", MaxMsg-1024))
	sent := make(chan error, 1)
	go func() { sent <- conns[0].Send(&Msg{ID: 7, Op: "x", Body: body}, -1) }()
	_ = conns[1].SetReadDeadline(time.Now().Add(10 * time.Second)) // a failed send sends nothing
	m, _, err := conns[1].Recv()
	if serr := <-sent; serr != nil {
		t.Fatalf("send of %d bytes: %v", len(body), serr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 7 || len(m.Body) != len(body) {
		t.Fatalf("received message %d of %d bytes, want 7 of %d", m.ID, len(m.Body), len(body))
	}
}

// seqpacketPair returns a connected pair of SOCK_SEQPACKET sockets.
func seqpacketPair(t testing.TB) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return [2]int{fds[0], fds[1]}
}

// connOf makes a Conn of the socket fd, which it takes over.
func connOf(t testing.TB, fd int) *Conn {
	t.Helper()
	f := os.NewFile(uintptr(fd), "conn")
	fc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	return NewConn(fc.(*net.UnixConn))
}

// rawAndConn returns the two ends of a socket pair: a raw file, to write
// anything into, and a Conn reading it. Both are closed at the test's end.
func rawAndConn(t testing.TB) (*os.File, *Conn) {
	t.Helper()
	fds := seqpacketPair(t)
	raw := os.NewFile(uintptr(fds[0]), "raw")
	c := connOf(t, fds[1])
	t.Cleanup(func() { raw.Close(); c.Close() })
	return raw, c
}
