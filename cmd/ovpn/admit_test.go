package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/link"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/stack/flow"
)

const (
	fpB     = "SHA256:bbbb"
	fpOther = "SHA256:ffff"
)

// testConfig is gw.a with two [[peer]]s (gw.b pinned, gw.c by CA), laptops
// accepted by pattern, and a pool.
func testConfig() *config.Link {
	return &config.Link{
		File: "/etc/ouroboros/ovpn/a.toml", Link: "a", Name: "gw.a", Layer: "corp", Authenticate: true,
		Interface: config.Interface{Device: "ovpn0", Mode: wire.Tun, Address: []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}},
		Peers: []config.Peer{
			{Name: "gw.b", Routes: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")}, Fingerprint: fpB},
			{Name: "gw.c", Routes: []netip.Prefix{netip.MustParsePrefix("10.3.0.0/24")}},
		},
		Accept: config.Accept{Names: []string{"laptop.*"}, Pool: []netip.Prefix{netip.MustParsePrefix("10.77.0.128/25")}},
	}
}

func TestAdmit(t *testing.T) {
	routesB := []netip.Prefix{netip.MustParsePrefix("10.2.0.0/24")}
	routesC := []netip.Prefix{netip.MustParsePrefix("10.3.0.0/24")}
	for _, tc := range []struct {
		desc    string
		auth    bool
		dialled string
		proof   flow.Peer
		claim   string
		want    link.PeerConfig
		err     string // a part of the refusal; "" when admitted
	}{
		{desc: "dialled, CA proves the name", auth: true, dialled: "gw.c", proof: flow.Peer{Name: "gw.c", Fingerprint: fpOther}, claim: "gw.c",
			want: link.PeerConfig{Name: "gw.c", Routes: routesC, Lease: true, Proven: true}},
		{desc: "dialled, pin matches without CA", auth: true, dialled: "gw.b", proof: flow.Peer{Fingerprint: fpB, CertName: "gw.b"}, claim: "gw.b",
			want: link.PeerConfig{Name: "gw.b", Routes: routesB, Lease: true, Proven: true}},
		{desc: "dialled, pin differs", auth: true, dialled: "gw.b", proof: flow.Peer{Fingerprint: fpOther}, claim: "gw.b",
			err: "gw.b presented a certificate with fingerprint SHA256:ffff, not the pinned SHA256:bbbb"},
		{desc: "dialled, no certificate", auth: true, dialled: "gw.c", claim: "gw.c",
			err: "gw.c presented no certificate (or none a CA of this host trusts, and no pinned fingerprint matches)"},
		{desc: "dialled, CA proves another name", auth: true, dialled: "gw.c", proof: flow.Peer{Name: "gw.x"}, claim: "gw.c",
			err: "gw.c presented no certificate"},
		{desc: "dialled, hello names another peer", auth: true, dialled: "gw.c", proof: flow.Peer{Name: "gw.c"}, claim: "gw.b",
			err: "dialled gw.c, but the peer says it is gw.b"},
		{desc: "dialled, no longer a [[peer]]", auth: true, dialled: "gw.x", proof: flow.Peer{Name: "gw.x"}, claim: "gw.x",
			err: "gw.x is no longer a [[peer]] of this link"},
		{desc: "accepted [[peer]] proven by CA", auth: true, proof: flow.Peer{Name: "gw.c"}, claim: "gw.c",
			want: link.PeerConfig{Name: "gw.c", Routes: routesC, Lease: true, Proven: true}},
		{desc: "accepted [[peer]] proven by pin", auth: true, proof: flow.Peer{Fingerprint: fpB}, claim: "gw.b",
			want: link.PeerConfig{Name: "gw.b", Routes: routesB, Lease: true, Proven: true}},
		{desc: "accepted laptop by pattern", auth: true, proof: flow.Peer{Name: "laptop.alice"}, claim: "laptop.alice",
			want: link.PeerConfig{Name: "laptop.alice", Lease: true, Proven: true}},
		{desc: "accepted, certificate names another", auth: true, proof: flow.Peer{Name: "laptop.bob"}, claim: "laptop.alice",
			err: "the peer claims laptop.alice, but its certificate names laptop.bob"},
		{desc: "accepted, pin of gw.b used to claim gw.c", auth: true, proof: flow.Peer{Fingerprint: fpB}, claim: "gw.c",
			err: "the peer claims gw.c, but its certificate names gw.b"},
		{desc: "accepted, no certificate", auth: true, claim: "laptop.alice",
			err: "laptop.alice presented no certificate"},
		{desc: "accepted, unpinned certificate no CA trusts", auth: true, proof: flow.Peer{Fingerprint: fpOther, CertName: "laptop.alice"}, claim: "laptop.alice",
			err: "laptop.alice presented no certificate"},
		{desc: "accepted, proven but no rule", auth: true, proof: flow.Peer{Name: "printer.x"}, claim: "printer.x",
			err: "no [[peer]] entry and no [accept] names pattern matches printer.x"},
		{desc: "no name in hello", auth: true, proof: flow.Peer{Name: "gw.c"}, claim: "",
			err: "no name"},
		{desc: "authenticate off: dialled, as claimed", dialled: "gw.c", claim: "gw.c",
			want: link.PeerConfig{Name: "gw.c", Routes: routesC, Lease: true}},
		{desc: "authenticate off: dialled, still the name dialled", dialled: "gw.c", claim: "gw.b",
			err: "dialled gw.c, but the peer says it is gw.b"},
		{desc: "authenticate off: accepted by pattern", claim: "laptop.eve",
			want: link.PeerConfig{Name: "laptop.eve", Lease: true}},
		{desc: "authenticate off: proof still shown", proof: flow.Peer{Name: "laptop.eve"}, claim: "laptop.eve",
			want: link.PeerConfig{Name: "laptop.eve", Lease: true, Proven: true}},
		{desc: "authenticate off: rules still apply", claim: "printer.x",
			err: "no [[peer]] entry and no [accept] names pattern matches printer.x"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := testConfig()
			cfg.Authenticate = tc.auth
			got, err := admit(cfg, tc.dialled, tc.proof, link.Hello{Name: tc.claim})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("admit = %+v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("admit: %v", err)
			}
			if got.Name != tc.want.Name || got.Proven != tc.want.Proven || got.Lease != tc.want.Lease ||
				prefixes(got.Routes) != prefixes(tc.want.Routes) {
				t.Fatalf("admit = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// An accepted peer gets its [[peer]] routes only, whatever it claims, and
// a peer accepted by pattern none; no pool means no lease.
func TestAdmitRoutesComeFromTheConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Accept.Pool = nil
	h := link.Hello{Name: "laptop.alice", Routes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}
	pc, err := admit(cfg, "", flow.Peer{Name: "laptop.alice"}, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(pc.Routes) != 0 || pc.Lease {
		t.Fatalf("admit = %+v; want no routes and no lease", pc)
	}
}

// Refusals of different peers (or reasons) fall in different rate-limit
// causes, mostly; the same refusal always in the same one; and there are at
// most acceptCauses of them.
func TestAcceptCause(t *testing.T) {
	bob := errors.New("link ovpn0: peer laptop.bob: not admitted: laptop.bob presented no certificate")
	carol := errors.New("link ovpn0: peer laptop.carol: not admitted: the peer claims laptop.carol, but its certificate names laptop.alice")
	again := errors.New(bob.Error())
	if acceptCause(bob) != acceptCause(again) {
		t.Error("one refusal, two causes")
	}
	if acceptCause(bob) == acceptCause(carol) {
		t.Errorf("bob's and carol's refusals share the cause %q", acceptCause(bob))
	}
	seen := map[string]bool{}
	for i := range 1000 {
		seen[acceptCause(fmt.Errorf("peer n%d: not admitted", i))] = true
	}
	if len(seen) != acceptCauses {
		t.Errorf("1000 names gave %d causes, want %d", len(seen), acceptCauses)
	}
}
