package resolver_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/resolver"
)

// TestNotAllowedRefused: a client outside Allow gets REFUSED, and for
// what is not a query nothing at all; a client inside is answered.
func TestNotAllowedRefused(t *testing.T) {
	b := startBridge(t, func(c *resolver.Config) {
		c.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	})
	b.names.Add("web", webV4)
	for _, proto := range []string{"udp", "tcp"} {
		r := exchange(t, proto, b.addr, new(dns.Msg).SetQuestion("web.ouro.", dns.TypeA), loopback2)
		if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
			t.Errorf("%s client outside allow: %s with %d answers, want REFUSED", proto, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		r = exchange(t, proto, b.addr, new(dns.Msg).SetQuestion("web.ouro.", dns.TypeA), loopback)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s client inside allow: %s with %d answers", proto, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
	if n := b.names.Lookups("web"); n != 2 {
		t.Errorf("Names asked %d times, want 2: a refused client reaches no lookup", n)
	}
	// Junk from a stranger gets no FORMERR: the next thing it hears is
	// the REFUSED of its next query.
	c := dialFrom(t, b.addr, loopback2)
	junk := []byte{0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff}
	send(t, c, junk)
	q := query(t, 0x1234, "web.ouro.")
	send(t, c, q)
	if r := recv(t, c); r == nil || r.Id != 0x1234 || r.Rcode != dns.RcodeRefused {
		t.Fatalf("after junk from a stranger got %v, want only the REFUSED to query 0x1234", r)
	}
	st := b.Stats()
	if st.NotAllowed != 3 || st.Refused != 3 || st.FormErr != 1 {
		t.Errorf("stats %+v, want 3 not allowed and refused, 1 formerr", st)
	}
}

// TestRateLimitPerClient: a flood from one client is cut to its rate
// while another client is still answered.
func TestRateLimitPerClient(t *testing.T) {
	const rate = 5
	b := startBridge(t, func(c *resolver.Config) { c.Rate = rate })
	b.names.Add("web", webV4)
	flood := dialFrom(t, b.addr, loopback2)
	start := time.Now()
	for i := range 100 {
		send(t, flood, query(t, uint16(i), "web.ouro."))
	}
	r := ask(t, "udp", b.addr, "web.ouro.", dns.TypeA) // from 127.0.0.1
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("the other client during the flood: %v", r)
	}
	answered := 0
	for recvWithin(flood, 300*time.Millisecond) != nil {
		answered++
	}
	// A burst of rate, and rate more a second since.
	most := rate + int(time.Since(start).Seconds()*rate) + 1
	if answered < 1 || answered > most {
		t.Errorf("flooding client answered %d of 100, want 1..%d", answered, most)
	}
	if st := b.Stats(); st.RateLimited < uint64(100-most) {
		t.Errorf("stats %+v, want at least %d rate limited", st, 100-most)
	}
}

// dialFrom is a UDP socket from the address from to addr.
func dialFrom(t *testing.T, addr string, from netip.Addr) *net.UDPConn {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func query(t *testing.T, id uint16, name string) []byte {
	m := new(dns.Msg).SetQuestion(name, dns.TypeA)
	m.Id = id
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func send(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// recv is the next message on c, or nil after 3 s.
func recv(t *testing.T, c *net.UDPConn) *dns.Msg {
	t.Helper()
	return recvWithin(c, 3*time.Second)
}

func recvWithin(c *net.UDPConn, d time.Duration) *dns.Msg {
	buf := make([]byte, 65535)
	c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	m := new(dns.Msg)
	if m.Unpack(buf[:n]) != nil {
		return nil
	}
	return m
}

// TestRateLimitTCP: over TCP a query over the client's rate closes the
// connection.
func TestRateLimitTCP(t *testing.T) {
	b := startBridge(t, func(c *resolver.Config) { c.Rate = 1 })
	b.names.Add("web", webV4)
	c, err := net.DialTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(loopback2, 0)), net.TCPAddrFromAddrPort(netip.MustParseAddrPort(b.addr)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendTCP(t, c, query(t, 1, "web.ouro."))
	if r := recvTCP(t, c); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("first query: %v", r)
	}
	sendTCP(t, c, query(t, 2, "web.ouro."))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(make([]byte, 512)); err == nil {
		t.Fatalf("a query over the rate got %d bytes back, want the connection closed", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a query over the rate left the connection open")
	}
	if st := b.Stats(); st.RateLimited != 1 {
		t.Errorf("stats %+v, want 1 rate limited", st)
	}
}
