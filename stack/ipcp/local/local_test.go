package local

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"o7s.dev/ouroboros/stack/ctrl"
	"o7s.dev/ouroboros/stack/ipcp"
	"o7s.dev/ouroboros/stack/qos"
	"o7s.dev/ouroboros/stack/seqpkt"
)

// sockPort is irmd's end of an application's flow socket, as irmd's own
// port is: the splice meets the kernel's behaviour at a close.
type sockPort struct {
	*seqpkt.Conn
	down chan ctrl.Reason
}

func (p *sockPort) ID() uint64 { return 1 }
func (p *sockPort) TryWriteBatch(b [][]byte) (int, error) {
	return p.Conn.TryWriteBatch(b)
}
func (p *sockPort) Down(r ctrl.Reason) {
	select {
	case p.down <- r:
		p.Conn.Close()
	default:
	}
}

// sockHost hands every arriving flow a sockPort and gives the test the
// application's end.
type sockHost struct{ app chan *seqpkt.Conn }

func (h *sockHost) Arrived(context.Context, ipcp.IPCP, string, []byte, qos.Spec, []byte) (ipcp.Port, []byte, error) {
	p, app := newSockPort()
	h.app <- app
	return p, nil, nil
}

func newSockPort() (*sockPort, *seqpkt.Conn) {
	irmEnd, app, err := seqpkt.Pair()
	if err != nil {
		panic(err)
	}
	return &sockPort{Conn: irmEnd, down: make(chan ctrl.Reason, 1)}, app
}

// TestSpliceDeliversEverythingWrittenBeforeClose: the allocator writes more
// than the acceptor's socket holds and closes its end with an SDU of the
// acceptor's unread; then (answer) the acceptor answers, which can no
// longer be delivered, and only then reads. Every SDU written before the
// close must arrive, then the end of the flow.
func TestSpliceDeliversEverythingWrittenBeforeClose(t *testing.T) {
	for _, answer := range []bool{false, true} {
		t.Run(map[bool]string{false: "silent", true: "answer"}[answer], func(t *testing.T) {
			testSpliceClose(t, answer)
		})
	}
}

func testSpliceClose(t *testing.T, answer bool) {
	h := &sockHost{app: make(chan *seqpkt.Conn, 1)}
	p := New("lo", h)
	defer p.Close()
	if err := p.Bootstrap(context.Background(), "local", nil); err != nil {
		t.Fatal(err)
	}
	p.Register([]byte("srv"))
	port, a := newSockPort()
	if _, err := p.Alloc(context.Background(), "srv", []byte("srv"), qos.Best, nil, port); err != nil {
		t.Fatal(err)
	}
	b := <-h.app
	defer b.Close()

	if _, err := b.Write([]byte("never read")); err != nil {
		t.Fatal(err)
	}
	// 150 SDUs of 64 KiB: more than the acceptor's socket holds, so that
	// some still wait in the allocator's when it closes.
	const count = 150
	sdu := make([]byte, MaxSDU)
	for i := range count {
		sdu[0] = byte(i)
		a.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := a.Write(sdu); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	// Wait for the splice to read the answer above, so the close leaves it
	// unread in the allocator's socket.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if n := rxQueued(t, a); n > 0 || time.Now().After(deadline) {
			break
		}
	}
	a.Close()
	if answer {
		if _, err := b.Write([]byte("too late")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the splice tries to deliver it to the closed end
	}
	buf := make([]byte, MaxSDU)
	got := 0
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, err := b.Read(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d SDUs: %v", got, err)
		}
		if n != MaxSDU || buf[0] != byte(got) {
			t.Fatalf("SDU %d: %d bytes, first byte %d", got, n, buf[0])
		}
		got++
	}
	if got != count {
		t.Fatalf("the acceptor read %d SDUs, the allocator wrote %d before closing", got, count)
	}
}

func rxQueued(t *testing.T, c *seqpkt.Conn) int {
	t.Helper()
	var v int
	var ierr error
	if err := c.SyscallConn().Control(func(fd uintptr) { v, ierr = ioctlInq(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Fatal(ierr)
	}
	return v
}

func ioctlInq(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.SIOCINQ) }
