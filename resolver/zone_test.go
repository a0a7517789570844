package resolver_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/internal/tool/tooltest"
	"o7s.dev/ouroboros/resolver"
)

var (
	webV4 = netip.MustParseAddr("10.2.0.5")
	webV6 = netip.MustParseAddr("fd02::5")
)

// TestDomainAnswers asks the bridge for names in its domain, over UDP
// and TCP, and checks codes, records, TTLs, the AA bit and the SOA in
// negative answers.
func TestDomainAnswers(t *testing.T) {
	b := startBridge(t, func(c *resolver.Config) { c.TTL = 42 * time.Second })
	b.names.Add("web.site-b", webV4, webV6)
	b.names.Add("v4only", netip.MustParseAddr("10.2.0.6"))
	b.names.Add("bare")
	b.names.Fail("printer.office", fmt.Errorf("admission: %w", resolver.ErrRefused))
	b.names.Fail("broken", errors.New("irmd is gone"))

	type want struct {
		rcode   int
		answer  []string // the records' data, in order
		soaInNs bool
	}
	tests := []struct {
		name  string
		qtype uint16
		want  want
	}{
		{"web.site-b.ouro.", dns.TypeA, want{dns.RcodeSuccess, []string{"10.2.0.5"}, false}},
		{"web.site-b.ouro.", dns.TypeAAAA, want{dns.RcodeSuccess, []string{"fd02::5"}, false}},
		{"v4only.ouro.", dns.TypeAAAA, want{dns.RcodeSuccess, nil, true}},     // NODATA
		{"web.site-b.ouro.", dns.TypeMX, want{dns.RcodeSuccess, nil, true}},   // NODATA
		{"bare.ouro.", dns.TypeA, want{dns.RcodeSuccess, nil, true}},          // NODATA
		{"nonexistent.ouro.", dns.TypeA, want{dns.RcodeNameError, nil, true}}, // NXDOMAIN
		{"nonexistent.ouro.", dns.TypeTXT, want{dns.RcodeNameError, nil, true}},
		{"printer.office.ouro.", dns.TypeA, want{dns.RcodeRefused, nil, false}},
		{"broken.ouro.", dns.TypeA, want{dns.RcodeServerFailure, nil, false}},
		{"ouro.", dns.TypeSOA, want{dns.RcodeSuccess, []string{"ns.ouro. hostmaster.ouro."}, false}},
		{"ouro.", dns.TypeNS, want{dns.RcodeSuccess, []string{"ns.ouro."}, false}},
		{"ouro.", dns.TypeA, want{dns.RcodeSuccess, nil, true}},
		{"ouro.", dns.TypeAXFR, want{dns.RcodeRefused, nil, false}},
		{"ns.ouro.", dns.TypeA, want{dns.RcodeSuccess, []string{"127.0.0.1"}, false}},
		{"ns.ouro.", dns.TypeAAAA, want{dns.RcodeSuccess, nil, true}},
		{"5.0.2.10.in-addr.arpa.", dns.TypePTR, want{dns.RcodeSuccess, []string{"web.site-b.ouro."}, false}},
		{"5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.d.f.ip6.arpa.", dns.TypePTR, want{dns.RcodeSuccess, []string{"web.site-b.ouro."}, false}},
	}
	for _, proto := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(proto+"/"+tt.name+"/"+dns.TypeToString[tt.qtype], func(t *testing.T) {
				r := ask(t, proto, b.addr, tt.name, tt.qtype)
				if r.Rcode != tt.want.rcode {
					t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.want.rcode])
				}
				if r.Rcode == dns.RcodeSuccess || r.Rcode == dns.RcodeNameError {
					if !r.Authoritative {
						t.Error("AA bit not set on an answer in the domain")
					}
				}
				var got []string
				for _, rr := range r.Answer {
					if rr.Header().Ttl != 42 {
						t.Errorf("TTL %d, want 42: %v", rr.Header().Ttl, rr)
					}
					f := strings.Fields(rr.String())
					got = append(got, strings.Join(f[4:min(len(f), 6)], " "))
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want.answer) && !(len(got) == 0 && len(tt.want.answer) == 0) {
					t.Errorf("answer %q, want %q", got, tt.want.answer)
				}
				soa := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
				if soa != tt.want.soaInNs {
					t.Fatalf("SOA in authority: %v, want %v: %v", soa, tt.want.soaInNs, r.Ns)
				}
				if soa && r.Ns[0].(*dns.SOA).Minttl != 42 {
					t.Errorf("SOA minimum %d, want the TTL 42", r.Ns[0].(*dns.SOA).Minttl)
				}
			})
		}
	}
	st := b.Stats()
	if st.NXDomain != 4 || st.Refused != 4 || st.ServFail != 2 || st.Answered != 14 {
		t.Errorf("stats %+v: want 4 NXDOMAIN, 4 refused, 2 servfail, 14 answered", st)
	}
	if !strings.Contains(b.logs.String(), "printer.office") {
		t.Errorf("the refusal is not logged with its name:\n%s", b.logs)
	}
}

// TestDomainCase: the domain matches in any case, the name goes to
// Names in lower case, and the answer echoes the question as asked.
func TestDomainCase(t *testing.T) {
	b := startBridge(t, nil)
	b.names.Add("web.site-b", webV4)
	r := ask(t, "udp", b.addr, "Web.Site-B.OURO.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Name != "Web.Site-B.OURO." {
		t.Fatalf("answer %v", r)
	}
	if r.Question[0].Name != "Web.Site-B.OURO." {
		t.Errorf("question echoed as %q", r.Question[0].Name)
	}
	if n := b.names.Lookups("web.site-b"); n != 1 {
		t.Errorf("Names.Lookup(%q) called %d times, want 1", "web.site-b", n)
	}
}

// TestApexNSGlue: the NS answer carries ns.DOMAIN's address, the bound one.
func TestApexNSGlue(t *testing.T) {
	b := startBridge(t, nil)
	r := ask(t, "udp", b.addr, "ouro.", dns.TypeNS)
	if len(r.Extra) != 1 || r.Extra[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("glue %v, want ns.ouro. A 127.0.0.1", r.Extra)
	}
}

// TestLookupTimeout: a lookup that does not end gives SERVFAIL after
// LookupTimeout, and holds up no other client's lookup.
func TestLookupTimeout(t *testing.T) {
	b := startBridge(t, func(c *resolver.Config) { c.LookupTimeout = 1500 * time.Millisecond })
	b.names.Hang("slow")
	b.names.Add("fast", webV4)
	slow := make(chan *dns.Msg, 1)
	start := time.Now()
	go func() {
		r, _ := tryExchange("udp", b.addr, new(dns.Msg).SetQuestion("slow.ouro.", dns.TypeA), loopback, 5*time.Second)
		slow <- r
	}()
	tooltest.WaitFor(t, 5*time.Second, "the slow lookup to start", func() bool { return b.names.Lookups("slow") == 1 })
	r := ask(t, "udp", b.addr, "fast.ouro.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("fast name while another lookup hangs: %v", r)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the fast name took %v with a lookup hanging", d)
	}
	if r := <-slow; r == nil || r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("hung lookup answered %v, want SERVFAIL", r)
	}
	if d := time.Since(start); d < 1400*time.Millisecond || d > 4*time.Second {
		t.Errorf("SERVFAIL after %v, want about LookupTimeout (1.5s)", d)
	}
}
