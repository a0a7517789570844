package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/overlay/wire"
	"o7s.dev/ouroboros/stack/flow"
)

func TestDiffRefusesKeysThatNeedARestart(t *testing.T) {
	for key, change := range map[string]func(*config.Link){
		"name":                   func(c *config.Link) { c.Name = "gw.z" },
		"layer":                  func(c *config.Link) { c.Layer = "other" },
		"[interface] device":     func(c *config.Link) { c.Interface.Device = "ovpn9" },
		"[interface] mode":       func(c *config.Link) { c.Interface.Mode = wire.Tap },
		"[interface] address":    func(c *config.Link) { c.Interface.Address = nil },
		"[interface] mtu":        func(c *config.Link) { c.Interface.MTU = 1400 },
		"[interface] mss_clamp":  func(c *config.Link) { c.Interface.MSSClamp = true },
		"[interface] allow_move": func(c *config.Link) { c.Interface.AllowMove = true },
		"[interface] mac_age":    func(c *config.Link) { c.Interface.MACAge = time.Minute },
		"[accept] pool":          func(c *config.Link) { c.Accept.Pool = nil },
		"[accept] lease":         func(c *config.Link) { c.Accept.Lease = time.Hour },
		"state_dir":              func(c *config.Link) { c.StateDir = "/tmp" },
	} {
		nw := testConfig()
		change(nw)
		_, err := diffConfigs(testConfig(), nw)
		if err == nil || !strings.Contains(err.Error(), nw.File+": "+key+": cannot change live") {
			t.Errorf("%s changed: %v", key, err)
		}
	}
}

func TestDiffKeepsUnchangedPeers(t *testing.T) {
	old := testConfig()
	nw := testConfig()
	nw.Accept.Names = nil // accept rules change live
	nw.Authenticate = false
	plan, err := diffConfigs(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Removed)+len(plan.Added)+len(plan.Update) != 0 || plan.Routes {
		t.Fatalf("plan = %+v; want nothing to do for the peers", plan)
	}
}

func TestDiffPeers(t *testing.T) {
	old := testConfig()
	nw := testConfig()
	// gw.b: routes change; gw.c: removed; gw.d: added; its route moves from gw.c.
	nw.Peers = []config.Peer{
		{Name: "gw.b", Routes: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}, Fingerprint: fpB},
		{Name: "gw.d", Routes: []netip.Prefix{netip.MustParsePrefix("10.3.0.0/24")}},
	}
	plan, err := diffConfigs(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(plan.Removed, ",") != "gw.c" || strings.Join(plan.Added, ",") != "gw.d" {
		t.Fatalf("removed %v, added %v", plan.Removed, plan.Added)
	}
	if len(plan.Update) != 1 || plan.Update[0].Name != "gw.b" || prefixes(plan.Update[0].Routes) != "10.2.0.0/16" || !plan.Update[0].Lease {
		t.Fatalf("update %+v", plan.Update)
	}
	if !plan.Routes {
		t.Fatal("kernel routes changed but the plan keeps them")
	}
}

// Routes that only change order or move between peers leave the kernel's
// routes as they are; in tap mode there are none to change.
func TestDiffKernelRoutes(t *testing.T) {
	old := testConfig()
	nw := testConfig()
	nw.Peers[0].Routes, nw.Peers[1].Routes = nw.Peers[1].Routes, nw.Peers[0].Routes
	plan, err := diffConfigs(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Routes || len(plan.Update) != 2 {
		t.Fatalf("plan = %+v; want two updates and the same kernel routes", plan)
	}
	old.Interface.Mode, nw.Interface.Mode = wire.Tap, wire.Tap
	nw.Peers[0].Routes = nil
	if plan, _ := diffConfigs(old, nw); plan.Routes {
		t.Fatal("tap mode: the plan changes kernel routes")
	}
}

func TestRevoked(t *testing.T) {
	admitted := map[string]*admission{
		"laptop.alice": {Proof: flow.Peer{Name: "laptop.alice"}, Hello: "laptop.alice"},
		"gw.b":         {Dialled: true, Proof: flow.Peer{Fingerprint: fpB}, Hello: "gw.b"},
		"gw.c":         {Dialled: true, Proof: flow.Peer{Name: "gw.c"}, Hello: "gw.c"},
		"lab.x":        {Hello: "lab.x"}, // admitted while authenticate was off
	}
	cfg := testConfig()
	cfg.Accept.Names = []string{"lab.*"} // laptops no longer accepted
	cfg.Peers[0].Fingerprint = fpOther   // gw.b's pin changed
	cfg.Peers = cfg.Peers[:1]            // gw.c removed: the plan ends it, not revoked
	got := revoked(cfg, admitted)
	if len(got) != 3 || got["laptop.alice"] == nil || got["gw.b"] == nil || got["lab.x"] == nil {
		t.Fatalf("revoked = %v; want laptop.alice, gw.b and lab.x", got)
	}
	cfg.Authenticate = false
	if got := revoked(cfg, admitted); len(got) != 1 || got["laptop.alice"] == nil {
		t.Fatalf("authenticate off: revoked = %v; want laptop.alice only", got)
	}
}

// [[publish]] entries added and removed are registered and withdrawn; a
// changed address needs neither.
func TestDiffPublished(t *testing.T) {
	old := testConfig()
	old.Publish = []config.Publish{{Name: "web.a", Address: []netip.Addr{netip.MustParseAddr("10.1.0.5")}},
		{Name: "print.a", Address: []netip.Addr{netip.MustParseAddr("10.1.0.6")}}}
	nw := testConfig()
	nw.Publish = []config.Publish{{Name: "web.a", Address: []netip.Addr{netip.MustParseAddr("10.1.0.7")}},
		{Name: "nas.a", Address: []netip.Addr{netip.MustParseAddr("10.1.0.8")}}}
	plan, err := diffConfigs(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(plan.Published, ",") != "nas.a" || strings.Join(plan.Withdrawn, ",") != "print.a" {
		t.Fatalf("published %v, withdrawn %v; want nas.a, print.a", plan.Published, plan.Withdrawn)
	}
}
