package mmsg

import (
	"net"
	"net/netip"
	"testing"
)

// BenchmarkUDPBatch moves batches of 32 datagrams of 1400 bytes between
// two UDP sockets on the loopback, sendmmsg then recvmmsg in one
// goroutine, as the udp layers send and receive: the cost per batch of
// the system calls and the kernel's UDP path, without GSO or GRO.
func BenchmarkUDPBatch(b *testing.B) {
	const batch, size = 32, 1400
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	tx, rx := listen(), listen()
	txc, err := tx.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	rxc, err := rx.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	send, recv := New(Send, batch), New(Recv, batch)
	out, in := make([]byte, size), make([][]byte, batch)
	for i := range in {
		in[i] = make([]byte, 2048)
	}
	b.SetBytes(batch * size)
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			send.Set(i, out, false)
			send.SetAddrPort(i, dst, false)
		}
		// A UDP socket's send does not wait for the receiver: the whole
		// batch goes in one call.
		if n, err := send.Wait(txc, batch); n != batch || err != nil {
			b.Fatalf("sendmmsg: %d of %d sent, %v", n, batch, err)
		}
		for got := 0; got < batch; {
			for i := range batch - got {
				recv.Set(i, in[i], false)
			}
			n, err := recv.Wait(rxc, batch-got)
			if err != nil {
				b.Fatalf("recvmmsg: %v", err)
			}
			got += n
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "pkts/s")
}
