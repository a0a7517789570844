package resolver_test

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/resolver"
	"o7s.dev/ouroboros/resolver/resolvertest"
)

var (
	loopback  = netip.MustParseAddr("127.0.0.1")
	loopback2 = netip.MustParseAddr("127.0.0.2")
	anyPort   = netip.AddrPortFrom(loopback, 0)
	allowLo   = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
)

// bridge is a Server on 127.0.0.1 for a test, with a fake Names.
type bridge struct {
	*resolver.Server
	names *resolvertest.Names
	addr  string // host:port of its UDP and TCP
	logs  *syncBuffer
}

// startBridge starts a server for the domain "ouro" with edit applied to
// its Config; it is closed at the test's end.
func startBridge(t testing.TB, edit func(*resolver.Config)) *bridge {
	t.Helper()
	names := &resolvertest.Names{}
	logs := &syncBuffer{}
	cfg := resolver.Config{
		Domain: "ouro",
		Listen: []netip.AddrPort{anyPort},
		Allow:  allowLo,
		Names:  names,
		Log:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := resolver.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &bridge{Server: s, names: names, addr: s.Addrs()[0].String(), logs: logs}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// ask sends one question to addr over proto ("udp" or "tcp") from
// 127.0.0.1 and returns the answer.
func ask(t testing.TB, proto, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg).SetQuestion(name, qtype)
	return exchange(t, proto, addr, m, loopback)
}

// exchange sends m to addr over proto from the address from.
func exchange(t testing.TB, proto, addr string, m *dns.Msg, from netip.Addr) *dns.Msg {
	t.Helper()
	r, err := tryExchange(proto, addr, m, from, 3*time.Second)
	if err != nil {
		t.Fatalf("%s %s %s: %v", proto, m.Question[0].Name, dns.TypeToString[m.Question[0].Qtype], err)
	}
	if r.Id != m.Id {
		t.Fatalf("answer ID %d, asked with %d", r.Id, m.Id)
	}
	return r
}

func tryExchange(proto, addr string, m *dns.Msg, from netip.Addr, timeout time.Duration) (*dns.Msg, error) {
	var local net.Addr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
	if proto == "tcp" {
		local = net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
	}
	c := &dns.Client{Net: proto, Timeout: timeout, Dialer: &net.Dialer{LocalAddr: local, Timeout: timeout}}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// upstream is a resolver for the bridge to forward to: UDP and TCP on one
// port of 127.0.0.1, answering with answer and counting what it was asked.
type upstream struct {
	addr     netip.AddrPort
	udp, tcp atomic.Int64
	mu       sync.Mutex
	last     *dns.Msg // the last query
}

// upstreamAnswer answers every A question: big.example. with 60
// records, tc.example. likewise but over UDP an empty truncated answer,
// nx.example. NXDOMAIN with a SOA, anything else one address, TTL 60;
// slow.example. after 200 ms; spoof.example. an answer to victim.example.
func upstreamAnswer(r *dns.Msg, tcp bool) *dns.Msg {
	m := new(dns.Msg).SetReply(r)
	m.RecursionAvailable = true
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), opt.Do())
	}
	q := r.Question[0]
	a := func(i int) dns.RR {
		return &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, byte(i))}
	}
	switch q.Name {
	case "tc.example.":
		if !tcp {
			m.Truncated = true
			return m
		}
		fallthrough
	case "big.example.":
		for i := range 60 {
			m.Answer = append(m.Answer, a(i+1))
		}
	case "nx.example.":
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
			Ns: "ns.example.", Mbox: "h.example.", Minttl: 20}}
	default:
		if q.Qtype == dns.TypeA {
			m.Answer = []dns.RR{a(1)}
		}
	}
	return m
}

func startUpstream(t testing.TB) *upstream {
	t.Helper()
	u, l, err := resolver.Bind(anyPort)
	if err != nil {
		t.Fatal(err)
	}
	up := &upstream{addr: u.LocalAddr().(*net.UDPAddr).AddrPort()}
	handler := func(tcp bool) dns.HandlerFunc {
		return func(w dns.ResponseWriter, r *dns.Msg) {
			if tcp {
				up.tcp.Add(1)
			} else {
				up.udp.Add(1)
			}
			up.mu.Lock()
			up.last = r.Copy()
			up.mu.Unlock()
			if r.Question[0].Name == "slow.example." {
				time.Sleep(200 * time.Millisecond)
			}
			m := upstreamAnswer(r, tcp)
			if r.Question[0].Name == "spoof.example." {
				// An answer to another question, as a poisoner sends.
				m.Question[0].Name = "victim.example."
				m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "victim.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600}, A: net.IPv4(203, 0, 113, 66)}}
			}
			w.WriteMsg(m)
		}
	}
	var started sync.WaitGroup
	for _, srv := range []*dns.Server{{PacketConn: u, Handler: handler(false)}, {Listener: l, Handler: handler(true)}} {
		started.Add(1)
		srv.NotifyStartedFunc = started.Done
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	started.Wait()
	return up
}

func (u *upstream) lastQuery() *dns.Msg {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}
