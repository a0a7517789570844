package resolver

import (
	"context"
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
