package resolver_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/resolver"
	"o7s.dev/ouroboros/resolver/resolvertest"
)

// benchUDP asks name over real UDP on loopback from parallel clients
// (one socket each, one query in flight per socket) and reports
// queries/s.
func benchUDP(b *testing.B, edit func(*resolver.Config), name string) {
	br := startBridge(b, func(c *resolver.Config) {
		c.Rate = 1 << 30
		if edit != nil {
			edit(c)
		}
	})
	br.names.Add("web", webV4, webV6)
	ask(b, "udp", br.addr, name, dns.TypeA) // fills the cache
	to, err := net.ResolveUDPAddr("udp", br.addr)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.DialUDP("udp", nil, to)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		m := new(dns.Msg).SetQuestion(name, dns.TypeA)
		q, _ := m.Pack()
		buf := make([]byte, 1500)
		for pb.Next() {
			c.SetDeadline(time.Now().Add(3 * time.Second))
			if _, err := c.Write(q); err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Read(buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkDomainUDP: a name in the domain, answered from Names.
func BenchmarkDomainUDP(b *testing.B) { benchUDP(b, nil, "web.ouro.") }

// BenchmarkCachedUDP: a name outside the domain, answered from the cache.
func BenchmarkCachedUDP(b *testing.B) {
	up := startUpstream(b)
	benchUDP(b, func(c *resolver.Config) { c.Upstream = []netip.AddrPort{up.addr} }, "www.example.")
	if n := up.udp.Load(); n != 1 {
		b.Errorf("upstream asked %d times, want once", n)
	}
}

// BenchmarkHandler: the handler alone, a name in the domain, no sockets.
func BenchmarkHandler(b *testing.B) {
	names := &resolvertest.Names{}
	names.Add("web", webV4, webV6)
	h, err := resolver.NewHandler(resolver.Config{Domain: "ouro", Allow: allowLo, Names: names})
	if err != nil {
		b.Fatal(err)
	}
	req := new(dns.Msg).SetQuestion("web.ouro.", dns.TypeA)
	w := &fakeWriter{}
	b.ReportAllocs()
	for b.Loop() {
		w.out = w.out[:0]
		h.ServeDNS(w, req)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
