package resolver_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/resolver"
)

// withUpstream is a Config edit that forwards to up.
func withUpstream(up *upstream) func(*resolver.Config) {
	return func(c *resolver.Config) { c.Upstream = []netip.AddrPort{up.addr} }
}

// TestForward: a name outside the domain goes upstream and its answer
// comes back with the client's ID, over UDP and TCP; a query over TCP
// goes upstream over TCP.
func TestForward(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	r := ask(t, "udp", b.addr, "www.example.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Authoritative {
		t.Fatalf("forwarded answer %v", r)
	}
	if up.udp.Load() != 1 || up.tcp.Load() != 0 {
		t.Errorf("upstream asked %d times over UDP, %d over TCP; want 1, 0", up.udp.Load(), up.tcp.Load())
	}
	r = ask(t, "tcp", b.addr, "tcp.example.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("forwarded answer over TCP %v", r)
	}
	if up.tcp.Load() != 1 {
		t.Errorf("a TCP query went upstream over TCP %d times, want 1", up.tcp.Load())
	}
	r = ask(t, "udp", b.addr, "nx.example.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
		t.Fatalf("forwarded NXDOMAIN %v", r)
	}
	if st := b.Stats(); st.Forwarded != 3 {
		t.Errorf("stats %+v, want 3 forwarded", st)
	}
}

// TestForwardTruncatedRetriedOverTCP: an upstream answer with TC set over
// UDP is asked again over TCP, and the client gets the whole answer.
func TestForwardTruncatedRetriedOverTCP(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	m := new(dns.Msg).SetQuestion("tc.example.", dns.TypeA)
	m.SetEdns0(4096, false)
	r := exchange(t, "udp", b.addr, m, loopback)
	if r.Truncated || len(r.Answer) != 60 {
		t.Fatalf("answer: TC %v, %d records; want the 60 records of the TCP answer", r.Truncated, len(r.Answer))
	}
	if up.udp.Load() != 1 || up.tcp.Load() != 1 {
		t.Errorf("upstream asked %d times over UDP, %d over TCP; want 1, 1", up.udp.Load(), up.tcp.Load())
	}
}

// TestTruncatedToSmallUDPClient: an answer larger than a UDP client's
// buffer reaches it cut, with TC set; over TCP it gets all of it (from
// the cache).
func TestTruncatedToSmallUDPClient(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	m := new(dns.Msg).SetQuestion("big.example.", dns.TypeA) // no EDNS0: 512 bytes
	r := exchange(t, "udp", b.addr, m, loopback)
	if !r.Truncated || len(r.Answer) >= 60 {
		t.Fatalf("answer to a 512-byte client: TC %v, %d records; want TC and fewer than 60", r.Truncated, len(r.Answer))
	}
	r.Compress = true // as it came
	if n := r.Len(); n > dns.MinMsgSize {
		t.Errorf("UDP answer of %d bytes to a client without EDNS0", n)
	}
	r = exchange(t, "tcp", b.addr, m, loopback)
	if r.Truncated || len(r.Answer) != 60 {
		t.Fatalf("answer over TCP: TC %v, %d records; want 60", r.Truncated, len(r.Answer))
	}
	if got := up.udp.Load() + up.tcp.Load(); got != 1 {
		t.Errorf("upstream asked %d times, want once (the TCP query from the cache)", got)
	}
}

// TestEDNS0PassThrough: the client's EDNS0 buffer size and DO bit reach
// upstream; a client without EDNS0 sends none upstream and gets none back.
func TestEDNS0PassThrough(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	m := new(dns.Msg).SetQuestion("edns.example.", dns.TypeA)
	m.SetEdns0(1400, true)
	r := exchange(t, "udp", b.addr, m, loopback)
	opt := up.lastQuery().IsEdns0()
	if opt == nil || opt.UDPSize() != 1400 || !opt.Do() {
		t.Fatalf("upstream got OPT %v, want size 1400 with DO", opt)
	}
	if r.IsEdns0() == nil {
		t.Error("no OPT in the answer to a client that sent one")
	}
	r = ask(t, "udp", b.addr, "plain.example.", dns.TypeA)
	if opt := up.lastQuery().IsEdns0(); opt != nil {
		t.Errorf("upstream got OPT %v for a client without EDNS0", opt)
	}
	if r.IsEdns0() != nil {
		t.Error("OPT in the answer to a client without EDNS0")
	}
}

// TestCache: a second query (in another case) is answered from the
// cache, upstream sees one; DO is part of the key; a negative answer is
// cached too.
func TestCache(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	ask(t, "udp", b.addr, "cached.example.", dns.TypeA)
	r := ask(t, "udp", b.addr, "CACHED.example.", dns.TypeA)
	if len(r.Answer) != 1 || r.Question[0].Name != "CACHED.example." {
		t.Fatalf("cached answer %v", r)
	}
	if ttl := r.Answer[0].Header().Ttl; ttl > 60 || ttl < 58 {
		t.Errorf("cached TTL %d, want about 60", ttl)
	}
	if n := up.udp.Load(); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	m := new(dns.Msg).SetQuestion("cached.example.", dns.TypeA)
	m.SetEdns0(1232, true)
	exchange(t, "udp", b.addr, m, loopback)
	if n := up.udp.Load(); n != 2 {
		t.Errorf("upstream asked %d times, want 2: DO is another key", n)
	}
	ask(t, "udp", b.addr, "nx.example.", dns.TypeA)
	ask(t, "udp", b.addr, "nx.example.", dns.TypeA)
	if n := up.udp.Load(); n != 3 {
		t.Errorf("upstream asked %d times, want 3: NXDOMAIN is cached", n)
	}
	if st := b.Stats(); st.CacheHits != 2 || st.Forwarded != 3 {
		t.Errorf("stats %+v, want 2 cache hits, 3 forwarded", st)
	}
}

// TestCacheCheckingDisabled: an answer to a query with CD set (which a
// validating upstream gives unvalidated) is not served from the cache to
// a client that did not set CD: that one goes upstream, to be validated.
func TestCacheCheckingDisabled(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	m := new(dns.Msg).SetQuestion("cd.example.", dns.TypeA)
	m.CheckingDisabled = true
	exchange(t, "udp", b.addr, m, loopback)
	if q := up.lastQuery(); q == nil || !q.CheckingDisabled {
		t.Fatalf("upstream got %v, want CD set", q)
	}
	ask(t, "udp", b.addr, "cd.example.", dns.TypeA)
	if n := up.udp.Load(); n != 2 {
		t.Fatalf("upstream asked %d times, want 2: a CD answer is no answer for a client without CD", n)
	}
	if q := up.lastQuery(); q.CheckingDisabled {
		t.Error("the second query went upstream with CD set")
	}
}

// TestUpstreamMissingOrDown: with no upstream a name outside the domain is
// REFUSED; with an upstream that does not answer, SERVFAIL.
func TestUpstreamMissingOrDown(t *testing.T) {
	b := startBridge(t, nil)
	if r := ask(t, "udp", b.addr, "www.example.", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Errorf("no upstream: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	// A bound UDP port where nothing answers, and a closed TCP port.
	down := startBridge(t, func(c *resolver.Config) {
		c.Upstream = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1")}
	})
	if r := ask(t, "udp", down.addr, "www.example.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("upstream down: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if st := down.Stats(); st.ServFail != 1 {
		t.Errorf("stats %+v, want 1 servfail", st)
	}
}

// TestForwardNextUpstream: an upstream that does not answer is passed
// over for the next one.
func TestForwardNextUpstream(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, func(c *resolver.Config) {
		c.Upstream = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1"), up.addr}
	})
	if r := ask(t, "udp", b.addr, "www.example.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("answer %v", r)
	}
}

// TestForwardShared: concurrent identical queries share one upstream
// exchange.
func TestForwardShared(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			m := new(dns.Msg).SetQuestion("slow.example.", dns.TypeA)
			if r, err := tryExchange("udp", b.addr, m, loopback, 3*time.Second); err != nil || len(r.Answer) != 1 {
				t.Errorf("answer %v, %v", r, err)
			}
		})
	}
	wg.Wait()
	if n := up.udp.Load(); n != 1 {
		t.Errorf("upstream asked %d times for 10 concurrent queries, want 1", n)
	}
}

// TestForwardOtherQuestion: an upstream answer to another question than
// the one asked is not relayed nor cached (SERVFAIL).
func TestForwardOtherQuestion(t *testing.T) {
	up := startUpstream(t)
	b := startBridge(t, withUpstream(up))
	if r := ask(t, "udp", b.addr, "spoof.example.", dns.TypeA); r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 {
		t.Fatalf("answer to another question relayed: %v", r)
	}
	r := ask(t, "udp", b.addr, "victim.example.", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() == "203.0.113.66" {
		t.Fatalf("the spoofed record was cached: %v", r)
	}
}

// TestUDPAnswerCapped: a client asking for a 64 KiB UDP buffer gets no
// more than the bridge advertises (4096 bytes), with TC set: a forged
// source cannot have the bridge reflect a huge answer.
func TestUDPAnswerCapped(t *testing.T) {
	b := startBridge(t, nil)
	var many []netip.Addr
	for i := range 400 {
		many = append(many, netip.AddrFrom4([4]byte{10, 9, byte(i / 256), byte(i)}))
	}
	b.names.Add("many", many...)
	m := new(dns.Msg).SetQuestion("many.ouro.", dns.TypeA)
	m.SetEdns0(65535, false)
	r := exchange(t, "udp", b.addr, m, loopback)
	r.Compress = true // as it came
	if !r.Truncated || r.Len() > 4096 {
		t.Fatalf("UDP answer of %d bytes (TC %v) to a client asking for 65535; want at most 4096 with TC", r.Len(), r.Truncated)
	}
}
