package mmsg

import (
	"net/netip"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestPortByteOrder(t *testing.T) {
	for _, port := range []uint16{1, 3435, 0xabcd, 65535} {
		if got := ntohs(htons(port)); got != port {
			t.Fatalf("ntohs(htons(%d)) = %d", port, got)
		}
		v := htons(port)
		b := (*[2]byte)(unsafe.Pointer(&v))
		if b[0] != byte(port>>8) || b[1] != byte(port) {
			t.Fatalf("htons(%d) bytes %x, want network order", port, b[:])
		}
	}
}

// TestAddrPortRoundTrip checks that a destination written for sendmmsg
// reads back as the source recvmmsg would report, in both families.
func TestAddrPortRoundTrip(t *testing.T) {
	b := New(Send, 2)
	for _, c := range []struct {
		a  string
		v6 bool
	}{
		{"192.0.2.1:3435", false},
		{"[2001:db8::1]:65535", true},
		{"[::ffff:192.0.2.7]:1", false}, // a mapped address goes out as IPv4
	} {
		a := netip.MustParseAddrPort(c.a)
		b.Set(1, []byte{1}, false)
		b.SetAddrPort(1, a, c.v6)
		want := netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if got := b.AddrPort(1); got != want {
			t.Errorf("%v: read back as %v", a, got)
		}
		if l := b.hdr[1].Hdr.Namelen; c.v6 != (l == unix.SizeofSockaddrInet6) {
			t.Errorf("%v: address length %d", a, l)
		}
	}
}

// TestBatchOverSocketpair moves a batch through a datagram socket pair
// without allocating, and reports truncation and a full queue.
func TestBatchOverSocketpair(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, bconn := rawConn(t, fds[0]), rawConn(t, fds[1])
	send, recv := New(Send, 4), New(Recv, 4)
	msgs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	bufs := [][]byte{make([]byte, 8), make([]byte, 8), make([]byte, 4)}
	allocs := testing.AllocsPerRun(100, func() {
		for i, m := range msgs {
			send.Set(i, m, false)
		}
		if n, err := send.Wait(a, len(msgs)); n != 3 || err != nil {
			t.Fatalf("send: %d, %v", n, err)
		}
		for i, p := range bufs {
			recv.Set(i, p, false)
		}
		if n, err := recv.Wait(bconn, len(bufs)); n != 3 || err != nil {
			t.Fatalf("recv: %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch", allocs)
	}
	if recv.Len(0) != 3 || string(bufs[1][:recv.Len(1)]) != "two" || recv.Truncated(1) || !recv.Truncated(2) {
		t.Errorf("lengths %d %d, truncated %v %v", recv.Len(0), recv.Len(1), recv.Truncated(1), recv.Truncated(2))
	}
	recv.Set(0, bufs[0], false)
	if n, ok, err := recv.Try(bconn, 1); n != 0 || ok || err != nil {
		t.Errorf("Try on an empty queue: %d, %v, %v", n, ok, err)
	}
}

// rawConn makes fd a file of Go's poller.
func rawConn(t *testing.T, fd int) syscall.RawConn {
	t.Helper()
	f := os.NewFile(uintptr(fd), "socket")
	t.Cleanup(func() { f.Close() })
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}
