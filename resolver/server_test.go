package resolver_test

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/internal/tool/tooltest"
	"o7s.dev/ouroboros/resolver"
	"o7s.dev/ouroboros/resolver/resolvertest"
)

// TestListenErrors: a bad Config and an address in use are refused with
// an error that says which.
func TestListenErrors(t *testing.T) {
	b := startBridge(t, nil)
	busy := netip.MustParseAddrPort(b.addr)
	u, l, err := resolver.Bind(anyPort) // a port free on UDP and TCP, most likely still
	if err != nil {
		t.Fatal(err)
	}
	free := u.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	u.Close()
	l.Close()
	for _, tt := range []struct {
		cfg  resolver.Config
		want string
	}{
		{resolver.Config{Domain: "ouro", Names: &resolvertest.Names{}}, "Listen is empty"},
		{resolver.Config{Listen: []netip.AddrPort{anyPort}, Names: &resolvertest.Names{}}, "Domain is empty"},
		{resolver.Config{Domain: "ouro", Listen: []netip.AddrPort{anyPort}}, "Names is nil"},
		{resolver.Config{Domain: "ouro", Listen: []netip.AddrPort{anyPort, busy}, Names: &resolvertest.Names{}}, busy.String() + "/udp"},
		{resolver.Config{Domain: "ouro", Listen: []netip.AddrPort{netip.AddrPortFrom(loopback, free)}, Upstream: []netip.AddrPort{netip.AddrPortFrom(loopback, free)}, Names: &resolvertest.Names{}}, "would loop"},
		{resolver.Config{Domain: "ouro", Listen: []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), free)}, Upstream: []netip.AddrPort{netip.AddrPortFrom(loopback, free)}, Names: &resolvertest.Names{}}, "would loop"},
	} {
		s, err := resolver.Listen(tt.cfg)
		if err == nil {
			s.Close()
			t.Errorf("Listen(%+v) succeeded", tt.cfg)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Listen error %q does not say %q", err, tt.want)
		}
	}
}

// TestTwoAddresses: every Listen address is served, over UDP and TCP,
// and Addrs lists them in order; after Close none answers.
func TestTwoAddresses(t *testing.T) {
	names := &resolvertest.Names{}
	names.Add("web", webV4)
	s, err := resolver.Listen(resolver.Config{
		Domain: "ouro",
		Listen: []netip.AddrPort{anyPort, netip.AddrPortFrom(loopback2, 0)},
		Allow:  allowLo,
		Names:  names,
		Log:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	addrs := s.Addrs()
	if len(addrs) != 2 || addrs[1].(*net.UDPAddr).IP.String() != "127.0.0.2" {
		t.Fatalf("Addrs %v", addrs)
	}
	for _, a := range addrs {
		for _, proto := range []string{"udp", "tcp"} {
			if r := ask(t, proto, a.String(), "web.ouro.", dns.TypeA); len(r.Answer) != 1 {
				t.Errorf("%s %s: %v", proto, a, r)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"udp", "tcp"} {
		m := new(dns.Msg).SetQuestion("web.ouro.", dns.TypeA)
		if r, err := tryExchange(proto, addrs[0].String(), m, loopback, 300*time.Millisecond); err == nil {
			t.Errorf("%s answered after Close: %v", proto, r)
		}
	}
}

// TestCloseEndsLookups: Close returns promptly with a lookup in flight
// (its context is cancelled), rather than after LookupTimeout.
func TestCloseEndsLookups(t *testing.T) {
	names := &resolvertest.Names{}
	names.Hang("slow")
	s, err := resolver.Listen(resolver.Config{
		Domain: "ouro", Listen: []netip.AddrPort{anyPort}, Allow: allowLo, Names: names,
		LookupTimeout: time.Minute, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	go tryExchange("udp", s.Addrs()[0].String(), new(dns.Msg).SetQuestion("slow.ouro.", dns.TypeA), loopback, 5*time.Second)
	tooltest.WaitFor(t, 5*time.Second, "the lookup to start", func() bool { return names.Lookups("slow") == 1 })
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a lookup in flight", d)
	}
}
