package resolver

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"
	"net/netip"
	"testing"
)

// TestReverseAddr parses in-addr.arpa and ip6.arpa names, and only full
// ones.
func TestReverseAddr(t *testing.T) {
	for name, want := range map[string]string{
		"5.0.2.10.in-addr.arpa.":   "10.2.0.5",
		"5.0.2.10.IN-ADDR.ARPA.":   "10.2.0.5",
		"0.2.10.in-addr.arpa.":     "",
		"05.0.2.10.in-addr.arpa.":  "",
		"256.0.2.10.in-addr.arpa.": "",
		"-1.0.2.10.in-addr.arpa.":  "",
		"a.b.c.d.in-addr.arpa.":    "",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.": "::1",
		"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa.": "4321:0:1:2:3:4:567:89ab",
		"1.0.0.ip6.arpa.": "",
		"10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.": "",
		"example.com.": "",
	} {
		a, ok := reverseAddr(name)
		if got := map[bool]string{true: a.String(), false: ""}[ok]; got != want {
			t.Errorf("reverseAddr(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestInDomain: a suffix match on whole labels, in any case.
func TestInDomain(t *testing.T) {
	if _, err := newServer(Config{Domain: ".Ouro.", Names: nil}); err == nil {
		t.Fatal("a server without Names was built")
	}
	s, err := newServer(Config{Domain: ".Ouro.", Names: nopNames{}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"ouro.": true, "OURO.": true, "a.ouro.": true, "a.b.Ouro.": true,
		"xouro.": false, "ouro.com.": false, "a\\.ouro.": false, "a.\\ouro.": false, ".": false,
	} {
		if got := s.inDomain(name); got != want {
			t.Errorf("inDomain(%q) = %v, want %v", name, got, want)
		}
	}
}

type nopNames struct{}

func (nopNames) Lookup(context.Context, string) ([]netip.Addr, error) { return nil, ErrNoName }
func (nopNames) Reverse(netip.Addr) (string, bool)                    { return "", false }

// TestLimiterBucket: a burst of rate, then rate a second; another client
// has its own bucket; an IPv6 client is counted by its /64.
func TestLimiterBucket(t *testing.T) {
	l := newLimiter(10, 100)
	t0 := time.Unix(1000, 0)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for i := range 10 {
		if !l.allow(a, t0) {
			t.Fatalf("query %d of a burst of 10 refused", i)
		}
	}
	if l.allow(a, t0) {
		t.Fatal("the 11th query of a burst of 10 allowed")
	}
	if !l.allow(b, t0) {
		t.Fatal("another client refused")
	}
	if !l.allow(a, t0.Add(100*time.Millisecond)) || l.allow(a, t0.Add(100*time.Millisecond)) {
		t.Fatal("not one token back after 100 ms at 10/s")
	}
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::ffff:2")
	for range 10 {
		l.allow(v6a, t0)
	}
	if l.allow(v6b, t0) {
		t.Fatal("another address of the same /64 has a bucket of its own")
	}
}

// TestLimiterBounded: many clients keep at most max buckets, and a
// drained bucket outlives refilled ones (forgetting it would reset it).
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(10, 4)
	t0 := time.Unix(1000, 0)
	for i := range 1000 {
		l.allow(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), t0.Add(-time.Minute))
		if len(l.clients) > 4 {
			t.Fatalf("%d buckets, want at most 4", len(l.clients))
		}
	}
	x := netip.MustParseAddr("10.9.9.9")
	for l.allow(x, t0) {
	}
	l.allow(netip.MustParseAddr("10.9.9.10"), t0)
	l.allow(netip.MustParseAddr("10.9.9.11"), t0)
	if l.allow(x, t0) {
		t.Fatal("a drained bucket was forgotten while refilled ones were kept")
	}
}

func msgWith(rcode int, answer, ns []dns.RR) *dns.Msg {
	m := new(dns.Msg).SetQuestion("x.example.", dns.TypeA)
	m.Response, m.Rcode, m.Answer, m.Ns = true, rcode, answer, ns
	return m
}

func aRR(ttl uint32) dns.RR {
	return &dns.A{Hdr: dns.RR_Header{Name: "x.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: []byte{192, 0, 2, 1}}
}

func soaRR(ttl, minttl uint32) dns.RR {
	return &dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl}, Ns: "ns.example.", Mbox: "h.example.", Minttl: minttl}
}

// TestCacheTTL: the smallest TTL, the SOA's for negative answers; not
// truncated answers, failures, TTL 0, or negatives without a SOA.
func TestCacheTTL(t *testing.T) {
	trunc := msgWith(dns.RcodeSuccess, []dns.RR{aRR(60)}, nil)
	trunc.Truncated = true
	for name, tt := range map[string]struct {
		m    *dns.Msg
		want time.Duration
	}{
		"smallest":         {msgWith(dns.RcodeSuccess, []dns.RR{aRR(60), aRR(30)}, []dns.RR{soaRR(90, 10)}), 30 * time.Second},
		"nxdomain":         {msgWith(dns.RcodeNameError, nil, []dns.RR{soaRR(300, 20)}), 20 * time.Second},
		"nodata soa ttl":   {msgWith(dns.RcodeSuccess, nil, []dns.RR{soaRR(15, 300)}), 15 * time.Second},
		"capped":           {msgWith(dns.RcodeSuccess, []dns.RR{aRR(1 << 30)}, nil), maxCacheTTL},
		"truncated":        {trunc, 0},
		"servfail":         {msgWith(dns.RcodeServerFailure, nil, []dns.RR{soaRR(300, 20)}), 0},
		"ttl 0":            {msgWith(dns.RcodeSuccess, []dns.RR{aRR(0)}, nil), 0},
		"nxdomain, no soa": {msgWith(dns.RcodeNameError, nil, nil), 0},
	} {
		got, ok := cacheTTL(tt.m)
		if !ok {
			got = 0
		}
		if got != tt.want {
			t.Errorf("%s: %v, want %v", name, got, tt.want)
		}
	}
}

// TestCacheBounded: entries expire, and the cache keeps within its
// bounds of entries and bytes.
func TestCacheBounded(t *testing.T) {
	c := newCache(8, 1<<20)
	t0 := time.Unix(1000, 0)
	m := msgWith(dns.RcodeSuccess, []dns.RR{aRR(60)}, nil)
	for i := range 100 {
		c.put(cacheKey{name: fmt.Sprint(i), qtype: dns.TypeA}, m, t0)
		if len(c.entries) > 8 {
			t.Fatalf("%d entries, want at most 8", len(c.entries))
		}
	}
	k := cacheKey{name: "99", qtype: dns.TypeA}
	if _, age, ok := c.get(k, t0.Add(59*time.Second)); !ok || age != 59*time.Second {
		t.Fatalf("the last entry: found %v, age %v", ok, age)
	}
	if _, _, ok := c.get(k, t0.Add(60*time.Second)); ok {
		t.Fatal("an entry outlived its TTL")
	}
	small := newCache(1000, 16*m.Len()+1)
	for i := range 100 {
		small.put(cacheKey{name: fmt.Sprint(i)}, m, t0)
		if small.bytes > small.maxBytes {
			t.Fatalf("%d bytes cached, bound %d", small.bytes, small.maxBytes)
		}
	}
	if len(small.entries) != 16 {
		t.Errorf("%d entries of %d bytes in %d, want 16", len(small.entries), m.Len(), small.maxBytes)
	}
}

// TestConnLimit: past n open connections Accept waits for one to close;
// Close ends a waiting Accept.
func TestConnLimit(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimit(inner, 2)
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection accepted with two open and a limit of 2")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(3 * time.Second):
		t.Fatal("no connection accepted after one closed")
	}
	second.Close()
	l.Close()
	for range accepted {
	}
}
