package netlab

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

// TestCaptureUDP sends a datagram from a to b and an answer back, and
// checks that a capture on b's interface saw both, each with its
// direction, addresses and payload, and nothing it should not have.
func TestCaptureUDP(t *testing.T) {
	t.Parallel()
	_, a, b, l := pair(t)
	c := l.B.CaptureUDP()
	from := netip.AddrPortFrom(l.A.IP4(), 4001)
	to := netip.AddrPortFrom(l.B.IP4(), 4002)
	var srv *net.UDPConn
	if err := b.Do(func() (err error) {
		srv, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(to))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var cli *net.UDPConn
	if err := a.Do(func() (err error) {
		cli, err = net.DialUDP("udp4", net.UDPAddrFromAddrPort(from), net.UDPAddrFromAddrPort(to))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Write([]byte("ping over the veth")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, peer, err := srv.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WriteToUDPAddrPort(append([]byte("pong: "), buf[:n]...), peer); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Read(buf); err != nil {
		t.Fatal(err)
	}
	a.MustRun("ping", "-c", "1", "-W", "1", to.Addr().String()) // not UDP: not captured
	got, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	want := []Datagram{
		{Out: false, Src: from, Dst: to, Payload: []byte("ping over the veth")},
		{Out: true, Src: to, Dst: from, Payload: []byte("pong: ping over the veth")},
	}
	if len(got) != len(want) {
		t.Fatalf("captured %d datagrams, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Out != w.Out || g.Src != w.Src || g.Dst != w.Dst || !bytes.Equal(g.Payload, w.Payload) || g.At.IsZero() {
			t.Errorf("datagram %d: %+v, want %+v", i, g, w)
		}
	}
	if again, err := c.Stop(); err != nil || len(again) != len(got) {
		t.Errorf("a second Stop: %d datagrams, %v", len(again), err)
	}
}

func TestParseUDP4RejectsBadPackets(t *testing.T) {
	good := []byte{0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2,
		0x0f, 0xa1, 0x0f, 0xa2, 0, 10, 0, 0, 'h', 'i'}
	d, ok := parseUDP4(good)
	if !ok || string(d.Payload) != "hi" || d.Src.Port() != 4001 || d.Dst.Port() != 4002 {
		t.Fatalf("good packet: %+v, %v", d, ok)
	}
	bad := map[string]func(p []byte) []byte{
		"short":         func(p []byte) []byte { return p[:19] },
		"IPv6":          func(p []byte) []byte { p[0] = 0x65; return p },
		"TCP":           func(p []byte) []byte { p[9] = 6; return p },
		"IHL too small": func(p []byte) []byte { p[0] = 0x44; return p },
		"total too big": func(p []byte) []byte { p[3] = 31; return p },
		"UDP too long":  func(p []byte) []byte { p[25] = 11; return p },
		"UDP too short": func(p []byte) []byte { p[25] = 7; return p },
		"fragment":      func(p []byte) []byte { p[6] = 0x20; return p },
		"truncated UDP": func(p []byte) []byte { p[3] = 27; return p[:27] },
	}
	for name, mangle := range bad {
		if d, ok := parseUDP4(mangle(append([]byte(nil), good...))); ok {
			t.Errorf("%s: parsed as %+v", name, d)
		}
	}
}

// FuzzParseUDP4 checks that any packet is either rejected or yields a
// payload that is exactly the UDP length's worth of what follows the
// headers.
func FuzzParseUDP4(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2,
		0x0f, 0xa1, 0x0f, 0xa2, 0, 10, 0, 0, 'h', 'i'})
	f.Add([]byte{0x46, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 1, 0, 2, 1, 1, 0, 0,
		0, 53, 0, 53, 0, 8, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		d, ok := parseUDP4(p)
		if !ok {
			return
		}
		ihl := int(p[0]&0x0f) * 4
		want := p[ihl+8 : ihl+8+len(d.Payload)]
		if !bytes.Equal(d.Payload, want) || int(p[ihl+4])<<8|int(p[ihl+5]) != len(d.Payload)+8 {
			t.Fatalf("payload %x does not match the packet %x", d.Payload, p)
		}
		if d.Src.Addr() != netip.AddrFrom4([4]byte(p[12:16])) || d.Dst.Addr() != netip.AddrFrom4([4]byte(p[16:20])) {
			t.Fatalf("addresses %v -> %v from %x", d.Src, d.Dst, p)
		}
	})
}

// TestCaptureIP pings b from a over IPv4 and IPv6 and checks that a
// capture on b's interface kept each echo request (received) and reply
// (sent) whole, from the IP header on, and that CaptureUDP's list stays
// empty.
func TestCaptureIP(t *testing.T) {
	t.Parallel()
	_, a, _, l := pair(t)
	c := l.B.CaptureIP()
	for _, dst := range []netip.Addr{l.B.IP4(), l.B.IP6()} {
		a.MustRun("ping", "-c", "1", "-W", "2", dst.String())
	}
	udp, err := c.Stop()
	if err != nil || len(udp) != 0 {
		t.Fatalf("Stop: %d datagrams, %v; want none", len(udp), err)
	}
	type seen struct {
		out      bool
		version  byte
		src, dst netip.Addr
	}
	var got []seen
	for _, p := range c.Packets() {
		switch {
		case len(p.Data) >= 28 && p.Data[0]>>4 == 4 && p.Data[9] == 1: // ICMP
			got = append(got, seen{p.Out, 4, netip.AddrFrom4([4]byte(p.Data[12:16])), netip.AddrFrom4([4]byte(p.Data[16:20]))})
		case len(p.Data) >= 48 && p.Data[0]>>4 == 6 && p.Data[6] == 58 && (p.Data[40] == 128 || p.Data[40] == 129): // echo
			got = append(got, seen{p.Out, 6, netip.AddrFrom16([16]byte(p.Data[8:24])), netip.AddrFrom16([16]byte(p.Data[24:40]))})
		}
		if p.At.IsZero() {
			t.Errorf("a packet without its time: %+v", p)
		}
	}
	want := []seen{
		{false, 4, l.A.IP4(), l.B.IP4()}, {true, 4, l.B.IP4(), l.A.IP4()},
		{false, 6, l.A.IP6(), l.B.IP6()}, {true, 6, l.B.IP6(), l.A.IP6()},
	}
	if len(got) != len(want) {
		t.Fatalf("captured echoes %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("echo %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
