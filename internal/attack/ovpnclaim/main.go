// Command ovpnclaim plays a malicious ovpn peer: it allocates a flow to an
// ovpn link's name (-to), says hello as -name with the routes -claim that
// the link's configuration does not give it, then sends -n IPv4 echo
// requests from -src (inside a claimed route) to -dst through the flow,
// and keeps the flow open for -hold. It prints what it sent and what the
// far end answered:
//
//	ovpnclaim: hello as gw.site-b claiming [0.0.0.0/0 10.1.0.0/24]; peer said hello; sent 20 packets from 192.0.2.7
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

func main() {
	to := flag.String("to", "", "the ovpn link's `name` to dial")
	name := flag.String("name", "", "the `name` the hello claims")
	addr := flag.String("addr", "", "the tunnel `address` the hello claims, with its length")
	claim := flag.String("claim", "", "comma-separated `prefixes` the hello claims are behind it")
	src := flag.String("src", "", "the source `address` of the packets sent")
	dst := flag.String("dst", "", "the destination `address` of the packets sent")
	n := flag.Int("n", 20, "packets to send")
	holdFor := flag.Duration("hold", 0, "how long to keep the flow open after sending")
	flag.Parse()
	hold, cancel := context.WithTimeout(context.Background(), *holdFor)
	defer cancel()
	if err := run(hold, *to, *name, *addr, *claim, *src, *dst, *n); err != nil {
		fmt.Fprintln(os.Stderr, "ovpnclaim:", err)
		cancel()
		os.Exit(1)
	}
}

func run(hold context.Context, to, name, addr, claim, src, dst string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hello := &wire.Msg{Type: wire.Hello, Name: name, Mode: wire.Tun}
	if addr != "" {
		p, err := netip.ParsePrefix(addr)
		if err != nil {
			return err
		}
		hello.Addrs = []netip.Prefix{p}
	}
	for _, c := range strings.Split(claim, ",") {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return err
		}
		hello.Routes = append(hello.Routes, p)
	}
	s, err := netip.ParseAddr(src)
	if err != nil {
		return err
	}
	d, err := netip.ParseAddr(dst)
	if err != nil {
		return err
	}
	proc, err := flow.Attach(ctx, flow.Config{})
	if err != nil {
		return err
	}
	defer proc.Close()
	f, err := proc.Alloc(ctx, to, qos.Raw)
	if err != nil {
		return fmt.Errorf("allocating a flow to %s: %w", to, err)
	}
	defer f.Close()
	sdu, err := wire.Append(nil, hello)
	if err != nil {
		return err
	}
	fmt.Printf("ovpnclaim: hello as %s claiming %v; ", name, hello.Routes)
	m, err := awaitHello(f, sdu)
	if err != nil {
		return err
	}
	fmt.Printf("peer said %v; ", m.Type)
	for i := range n {
		if _, err := f.Write(echoRequest(s, d, uint16(i))); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("sent %d packets from %v\n", n, s)
	// Hold the flow, so that the far end keeps the peer (and its
	// counters) up while the test reads them.
	<-hold.Done()
	return nil
}

// awaitHello sends hello and reads the far end's control messages until
// its hello (an echo may come first) or a refusal. Like ovpn, it sends its
// hello again while no answer comes: the flow is raw, and the far end's
// first hello may be lost.
func awaitHello(f *flow.Flow, hello []byte) (wire.Msg, error) {
	buf := make([]byte, 65536)
	for range 60 {
		if _, err := f.Write(hello); err != nil {
			return wire.Msg{}, err
		}
		f.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		got, err := f.Read(buf)
		if errors.Is(err, flow.ErrTimeout) {
			continue
		}
		if err != nil {
			return wire.Msg{}, fmt.Errorf("reading the peer's hello: %w", err)
		}
		if wire.Classify(buf[:got]) != wire.Control {
			continue
		}
		m, err := wire.Parse(buf[:got])
		switch {
		case err != nil:
			return wire.Msg{}, fmt.Errorf("a message from the peer: %w", err)
		case m.Type == wire.Refuse:
			return wire.Msg{}, fmt.Errorf("refused: %s", m.Reason)
		case m.Type == wire.Hello:
			return m, nil
		}
	}
	return wire.Msg{}, fmt.Errorf("no hello among the peer's answers to 60 hellos")
}

// echoRequest is an IPv4 ICMP echo request from src to dst.
func echoRequest(src, dst netip.Addr, seq uint16) []byte {
	p := make([]byte, 28)
	p[0], p[8], p[9] = 0x45, 64, 1 // version 4, IHL 5; TTL; ICMP
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], checksum(p[:20]))
	icmp := p[20:]
	icmp[0] = 8 // echo request
	binary.BigEndian.PutUint16(icmp[6:], seq)
	binary.BigEndian.PutUint16(icmp[2:], checksum(icmp))
	return p
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
