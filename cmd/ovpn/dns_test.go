package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/resolver"
)

var (
	ap  = netip.MustParseAddrPort
	pfx = netip.MustParsePrefix
)

// writeResolvConf writes a resolv.conf in a temporary directory.
func writeResolvConf(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dnsTestConfig is testConfig with an empty [dns] section and an IPv6
// address too.
func dnsTestConfig() *config.Link {
	cfg := testConfig()
	cfg.Interface.Address = append(cfg.Interface.Address, pfx("fd77::1/64"))
	cfg.DNS = &config.DNS{OnDemand: true}
	return cfg
}

func TestDNSSettingsDefaults(t *testing.T) {
	cfg := dnsTestConfig()
	rcPath := writeResolvConf(t, "# the host's\nsearch example.com\nnameserver 10.77.0.1\nnameserver 192.0.2.53\nnameserver fd00::53\nnameserver not-an-address\n")
	rc, notes, err := dnsSettings(cfg, cfg.Interface.Address, rcPath)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Domain != "ouro" || !slices.Equal(rc.Listen, []netip.AddrPort{ap("10.77.0.1:53")}) {
		t.Errorf("domain %q, listen %v; want ouro on the first tunnel address, port 53", rc.Domain, rc.Listen)
	}
	if want := []netip.AddrPort{ap("192.0.2.53:53"), ap("[fd00::53]:53")}; !slices.Equal(rc.Upstream, want) {
		t.Errorf("upstream %v; want %v (the bridge's own address left out)", rc.Upstream, want)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"nameserver 10.77.0.1:53 skipped: it is the bridge itself", `nameserver "not-an-address" skipped`} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	want := []netip.Prefix{pfx("10.77.0.0/24"), pfx("fd77::/64"), pfx("10.2.0.0/24"), pfx("10.3.0.0/24"),
		pfx("10.77.0.128/25"), pfx("127.0.0.0/8"), pfx("::1/128")}
	if !samePrefixes(rc.Allow, want) {
		t.Errorf("allow %v; want %v", rc.Allow, want)
	}
	if rc.Rate != 0 {
		t.Errorf("rate %d; want 0 (the resolver's default)", rc.Rate)
	}
}

func TestDNSSettingsExplicit(t *testing.T) {
	cfg := dnsTestConfig()
	cfg.DNS = &config.DNS{Listen: []netip.AddrPort{ap("127.0.0.1:5353")}, Domain: "corp.", Rate: 5,
		Upstream: []netip.AddrPort{ap("192.0.2.1:53")}, Allow: []netip.Prefix{pfx("10.9.0.0/16")}}
	rc, notes, err := dnsSettings(cfg, nil, "/nonexistent/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	if rc.Domain != "corp" || rc.Listen[0] != ap("127.0.0.1:5353") || rc.Upstream[0] != ap("192.0.2.1:53") ||
		!slices.Equal(rc.Allow, []netip.Prefix{pfx("10.9.0.0/16")}) || rc.Rate != 5 || len(notes) != 0 {
		t.Errorf("got %+v, notes %v; want the section as written", rc, notes)
	}
}

func TestDNSSettingsNoAddressYet(t *testing.T) {
	cfg := dnsTestConfig()
	cfg.Interface.Address = nil
	if _, _, err := dnsSettings(cfg, nil, "/nonexistent"); !errors.Is(err, errNoAddress) {
		t.Fatalf("err = %v; want errNoAddress (a client starts the bridge once granted)", err)
	}
	rc, _, err := dnsSettings(cfg, []netip.Prefix{pfx("10.77.0.130/32")}, "/nonexistent")
	if err != nil || rc.Listen[0] != ap("10.77.0.130:53") {
		t.Fatalf("granted: listen %v, %v; want the granted address", rc.Listen, err)
	}
}

func TestDNSSettingsNoResolvConf(t *testing.T) {
	cfg := dnsTestConfig()
	rc, notes, err := dnsSettings(cfg, cfg.Interface.Address, filepath.Join(t.TempDir(), "none"))
	if err != nil || len(rc.Upstream) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "set [dns] upstream") {
		t.Fatalf("upstream %v, notes %v, err %v; want none, and a note saying what to set", rc.Upstream, notes, err)
	}
	path := writeResolvConf(t, "nameserver 0.0.0.0\n")
	cfg.DNS.Listen = []netip.AddrPort{ap("0.0.0.0:53")}
	rc, notes, _ = dnsSettings(cfg, cfg.Interface.Address, path)
	if len(rc.Upstream) != 0 || !strings.Contains(strings.Join(notes, "\n"), "names no upstream resolver besides the bridge") {
		t.Fatalf("upstream %v, notes %v; the bridge on every address is not its own upstream", rc.Upstream, notes)
	}
}

// With the bridge on every address, a nameserver of this host (loopback)
// is the bridge itself and is left out, while a resolver elsewhere, of
// either family, stays the upstream.
func TestDNSSettingsWildcardListen(t *testing.T) {
	cfg := dnsTestConfig()
	cfg.DNS.Listen = []netip.AddrPort{ap("0.0.0.0:53")}
	path := writeResolvConf(t, "nameserver 127.0.0.1\nnameserver ::1\nnameserver 192.0.2.53\nnameserver fd00::53\n")
	rc, notes, err := dnsSettings(cfg, cfg.Interface.Address, path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.AddrPort{ap("192.0.2.53:53"), ap("[fd00::53]:53")}; !slices.Equal(rc.Upstream, want) {
		t.Errorf("upstream %v, notes %v; want %v (only this host's own addresses left out)", rc.Upstream, notes, want)
	}
}

// fakeDNS is a server the bridge tests start instead of the resolver's.
type fakeDNS struct {
	rc     resolver.Config
	closed bool
}

func (f *fakeDNS) Addrs() []net.Addr {
	var as []net.Addr
	for _, l := range f.rc.Listen {
		as = append(as, net.UDPAddrFromAddrPort(l))
	}
	return as
}
func (f *fakeDNS) Stats() resolver.Stats { return resolver.Stats{Queries: 7, Answered: 3} }
func (f *fakeDNS) Close() error          { f.closed = true; return nil }

// bridgeTest is a bridge whose servers are fakeDNS, whose listens fail
// on the addresses in busy (EADDRINUSE) unless freed, and whose split DNS
// records the resolvectl command lines.
type bridgeTest struct {
	b       *dnsBridge
	started []*fakeDNS
	busy    map[netip.AddrPort]bool
	cmds    []string
}

func newBridgeTest(t *testing.T, cfg *config.Link) *bridgeTest {
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	bt := &bridgeTest{busy: map[netip.AddrPort]bool{}}
	b := newDaemon(cfg, t.TempDir(), log).dns
	b.resolvConf = writeResolvConf(t, "nameserver 192.0.2.53\n")
	b.listen = func(rc resolver.Config) (dnsServer, error) {
		for _, l := range rc.Listen {
			if bt.busy[l] || bt.holds(l) {
				return nil, fmt.Errorf("listen udp %s: %w", l, syscall.EADDRINUSE)
			}
		}
		s := &fakeDNS{rc: rc}
		bt.started = append(bt.started, s)
		return s, nil
	}
	b.split.available = func() bool { return true }
	b.split.run = func(_ context.Context, name string, args ...string) ([]byte, error) {
		bt.cmds = append(bt.cmds, name+" "+strings.Join(args, " "))
		return nil, nil
	}
	bt.b = b
	return bt
}

// holds says whether a server not closed listens on l.
func (bt *bridgeTest) holds(l netip.AddrPort) bool {
	for _, s := range bt.started {
		if !s.closed && slices.Contains(s.rc.Listen, l) {
			return true
		}
	}
	return false
}

// running is the server running (nil if none).
func (bt *bridgeTest) running() *fakeDNS {
	s, _ := bt.b.srv.(*fakeDNS)
	return s
}

// takeCmds returns the command lines run since the last call.
func (bt *bridgeTest) takeCmds() []string {
	c := bt.cmds
	bt.cmds = nil
	return c
}

func TestBridgeReloadTransitions(t *testing.T) {
	cfg := dnsTestConfig()
	bt := newBridgeTest(t, cfg)
	b := bt.b
	if err := b.apply(cfg, cfg.Interface.Address); err != nil {
		t.Fatal(err)
	}
	first := bt.running()
	if first == nil || first.rc.Listen[0] != ap("10.77.0.1:53") || first.rc.Names == nil {
		t.Fatalf("up: running %+v; want a server on 10.77.0.1:53 with the link's names", first)
	}
	if got, want := bt.takeCmds(), []string{"resolvectl dns ovpn0 10.77.0.1", "resolvectl domain ovpn0 ~ouro"}; !slices.Equal(got, want) {
		t.Errorf("up ran %q; want %q", got, want)
	}

	// A reload that leaves [dns] as it was leaves the server alone.
	same := dnsTestConfig()
	if err := b.apply(same, nil); err != nil || bt.running() != first || len(bt.started) != 1 {
		t.Fatalf("unchanged [dns]: err %v, %d servers started; want the first kept", err, len(bt.started))
	}

	// A changed section: a new server, on the same address, the old closed.
	changed := dnsTestConfig()
	changed.DNS.Upstream = []netip.AddrPort{ap("192.0.2.99:53")}
	if err := b.apply(changed, nil); err != nil {
		t.Fatal(err)
	}
	second := bt.running()
	if second == first || !first.closed || second.rc.Upstream[0] != ap("192.0.2.99:53") {
		t.Fatalf("changed upstream: first closed %v, running %+v; want a new server with the new upstream", first.closed, second)
	}

	// A new listen address that cannot be bound: the old server stays.
	busy := dnsTestConfig()
	busy.DNS.Listen = []netip.AddrPort{ap("10.77.0.1:5353")}
	bt.busy[ap("10.77.0.1:5353")] = true
	err := b.apply(busy, nil)
	if err == nil || !strings.Contains(err.Error(), "[dns] listen 10.77.0.1:5353") || !strings.Contains(err.Error(), "another program holds port 53") {
		t.Fatalf("busy address: err %v; want the [dns] listen key, the address and the fix named", err)
	}
	if bt.running() != second || second.closed {
		t.Fatalf("busy address: the running server changed (%+v); want the old kept", bt.running())
	}

	// The old server's address and one another program holds: the old
	// is closed first (the new needs its address), then back when the
	// new fails.
	bt.busy[ap("10.77.0.2:53")] = true
	twoAddrs := dnsTestConfig()
	twoAddrs.DNS.Listen = []netip.AddrPort{ap("10.77.0.1:53"), ap("10.77.0.2:53")}
	if err := b.apply(twoAddrs, nil); err == nil || !strings.Contains(err.Error(), "[dns] listen 10.77.0.1:53,10.77.0.2:53") {
		t.Fatalf("listening on a busy address: %v", err)
	}
	if s := bt.running(); s == nil || s == second || !second.closed || s.rc.Upstream[0] != ap("192.0.2.99:53") {
		t.Fatalf("after a failed restart on its own address: running %+v; want the old settings back", s)
	}
	bt.takeCmds()

	// [dns] removed: stopped and withdrawn from systemd-resolved.
	gone := dnsTestConfig()
	gone.DNS = nil
	last := bt.running()
	if err := b.apply(gone, nil); err != nil || bt.b.srv != nil || !last.closed {
		t.Fatalf("[dns] removed: err %v, running %v; want none", err, bt.b.srv)
	}
	if got := bt.takeCmds(); !slices.Equal(got, []string{"resolvectl revert ovpn0"}) {
		t.Errorf("[dns] removed ran %q; want a revert", got)
	}
	if b.status(gone) != nil {
		t.Error("status shows a bridge without [dns]")
	}

	// [dns] added back: started; teardown: stopped, and nothing after.
	if err := b.apply(dnsTestConfig(), nil); err != nil || bt.running() == nil {
		t.Fatalf("[dns] added: err %v; want a server", err)
	}
	b.close()
	if bt.b.srv != nil || !slices.Contains(bt.takeCmds(), "resolvectl revert ovpn0") {
		t.Fatal("teardown left the bridge running or registered")
	}
	if err := b.apply(dnsTestConfig(), nil); err != nil || bt.b.srv != nil {
		t.Fatal("a grant after teardown started the bridge again")
	}
}

func TestBridgeClientStartsOnceGranted(t *testing.T) {
	cfg := dnsTestConfig()
	cfg.Interface.Address = nil
	bt := newBridgeTest(t, cfg)
	if err := bt.b.apply(cfg, nil); err != nil || bt.b.srv != nil {
		t.Fatalf("no address: err %v, running %v; want it waiting", err, bt.b.srv)
	}
	if st := bt.b.status(cfg); st.Running || !strings.Contains(st.Waiting, "once a peer's pool grants one") {
		t.Fatalf("status %+v; want it waiting for a grant", st)
	}
	if err := bt.b.apply(cfg, []netip.Prefix{pfx("10.77.0.130/32")}); err != nil {
		t.Fatal(err)
	}
	if s := bt.running(); s == nil || s.rc.Listen[0] != ap("10.77.0.130:53") {
		t.Fatalf("granted: running %+v; want it on the granted address", s)
	}
	// A later grant of another address moves it.
	if err := bt.b.apply(cfg, []netip.Prefix{pfx("10.77.0.131/32")}); err != nil || bt.running().rc.Listen[0] != ap("10.77.0.131:53") {
		t.Fatalf("new grant: %v, running %+v; want it on the new address", err, bt.running())
	}
}

func TestSplitDNSCommandLines(t *testing.T) {
	var cmds []string
	fail := ""
	s := &splitDNS{log: slog.New(slog.NewTextHandler(testWriter{t}, nil)), available: func() bool { return true },
		run: func(_ context.Context, name string, args ...string) ([]byte, error) {
			line := name + " " + strings.Join(args, " ")
			cmds = append(cmds, line)
			if fail != "" && strings.HasPrefix(line, fail) {
				return []byte("Failed to set DNS configuration: Link ovpn0 not known"), errors.New("exit status 1")
			}
			return nil, nil
		}}
	servers := []netip.AddrPort{ap("10.77.0.1:53"), ap("[fd77::1]:5353"), ap("0.0.0.0:53")}
	if !s.set("ovpn0", servers, "ouro") {
		t.Fatal("set failed")
	}
	want := []string{"resolvectl dns ovpn0 10.77.0.1 [fd77::1]:5353 127.0.0.1", "resolvectl domain ovpn0 ~ouro"}
	if !slices.Equal(cmds, want) {
		t.Fatalf("set ran %q; want %q", cmds, want)
	}
	cmds = nil
	s.revert("ovpn0")
	if !slices.Equal(cmds, []string{"resolvectl revert ovpn0"}) {
		t.Fatalf("revert ran %q", cmds)
	}
	// A failure is not fatal, and leaves nothing half set.
	cmds, fail = nil, "resolvectl domain"
	if s.set("ovpn0", servers[:1], "ouro") {
		t.Fatal("set reported success after resolvectl failed")
	}
	if len(cmds) != 3 || cmds[2] != "resolvectl revert ovpn0" {
		t.Fatalf("after a failure ran %q; want the revert last", cmds)
	}
	// Without systemd-resolved nothing runs.
	cmds, s.available = nil, func() bool { return false }
	if s.set("ovpn0", servers, "ouro") || len(cmds) != 0 {
		t.Fatalf("without systemd-resolved ran %q", cmds)
	}
}

// testDNSStatus is a running bridge with one name on demand and a refusal.
func testDNSStatus() *dnsStatus {
	return &dnsStatus{Running: true, Listen: []netip.AddrPort{ap("10.77.0.1:53")}, Domain: "ouro",
		Upstream: []netip.AddrPort{ap("192.0.2.53:53")}, Allow: []netip.Prefix{pfx("10.77.0.0/24"), pfx("127.0.0.0/8")},
		OnDemand: true, SplitDNS: "ovpn0",
		Stats: resolver.Stats{Queries: 12, Answered: 5, NXDomain: 1, Refused: 2, NotAllowed: 1, RateLimited: 4, Forwarded: 3, CacheHits: 1},
		Names: []dnsEntry{{Name: "web.site-b", Gateway: "gw.site-b", Addrs: []netip.Addr{netip.MustParseAddr("10.2.0.5")},
			Since: t0.Add(-time.Minute)}},
		Refusals: []dnsRefusal{{Name: "gw.x", Reason: "not admitted: no [[peer]] or [accept] names pattern", At: t0.Add(-3 * time.Second)}}}
}

func TestPrintDNSStatus(t *testing.T) {
	ls := testStatus()
	ls.DNS = testDNSStatus()
	var b strings.Builder
	printStatus(&b, ls, t0)
	out := b.String()
	for _, want := range []string{
		"  dns bridge on 10.77.0.1:53 for .ouro (on demand), upstream 192.0.2.53:53\n",
		"    allow 10.77.0.0/24,127.0.0.0/8; split DNS: systemd-resolved sends .ouro to it on ovpn0\n",
		"queries 12: answered 5, nxdomain 1, refused 2 (client not allowed 1), rate-limited 4, forwarded 3 (cache hits 1), servfail 0, formerr 0",
		"web.site-b", "gw.site-b", "10.2.0.5", "1m0s ago",
		"    refused gw.x: not admitted: no [[peer]] or [accept] names pattern (3s ago)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	ls.DNS = &dnsStatus{Domain: "ouro", Waiting: errNoAddress.Error()}
	b.Reset()
	printStatus(&b, ls, t0)
	if !strings.Contains(b.String(), "dns bridge for .ouro: not running: no tunnel address yet") {
		t.Errorf("a waiting bridge:\n%s", b.String())
	}
	ls.DNS = nil
	b.Reset()
	printStatus(&b, ls, t0)
	if strings.Contains(b.String(), "dns") {
		t.Errorf("a link without [dns] shows a bridge:\n%s", b.String())
	}
}

// TestDNSStatusJSONFields pins the JSON field names docs/ovpn.md lists.
func TestDNSStatusJSONFields(t *testing.T) {
	ls := testStatus()
	ls.DNS = testDNSStatus()
	b, err := json.Marshal(ls)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"dns":{"running":true`, `"listen":["10.77.0.1:53"]`, `"domain":"ouro"`,
		`"upstream":["192.0.2.53:53"]`, `"allow":["10.77.0.0/24","127.0.0.0/8"]`, `"on_demand":true`, `"split_dns":"ovpn0"`,
		`"stats":{"queries":12,"answered":5,"nxdomain":1,"refused":2,"not_allowed":1,"rate_limited":4,"forwarded":3,"cache_hits":1,"servfail":0,"formerr":0}`,
		`"names":[{"name":"web.site-b","gateway":"gw.site-b","addresses":["10.2.0.5"]`,
		`"refusals":[{"name":"gw.x","reason":"not admitted`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s:\n%s", key, b)
		}
	}
	var back linkStatus
	if err := json.Unmarshal(b, &back); err != nil || back.DNS == nil || back.DNS.Stats.RateLimited != 4 || back.DNS.Listen[0] != ap("10.77.0.1:53") {
		t.Fatalf("round trip: %v, %+v", err, back.DNS)
	}
	ls.DNS = nil
	if b, _ := json.Marshal(ls); bytes.Contains(b, []byte(`"dns"`)) {
		t.Errorf("a link without [dns] has a dns field: %s", b)
	}
}

// freePort returns a UDP and TCP port free on 127.0.0.1 just now.
func freePort(t *testing.T) uint16 {
	t.Helper()
	for range 20 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(u.LocalAddr().(*net.UDPAddr).Port)
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestBridgeRestartsRealServer runs the resolver itself: a restart on the
// same address (the old must let go of it first) serves the new settings,
// and an address another socket holds fails with the key, the address and
// the fix named, the old server answering on.
func TestBridgeRestartsRealServer(t *testing.T) {
	port := freePort(t)
	cfg := dnsTestConfig()
	listen := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	cfg.DNS.Listen = []netip.AddrPort{listen}
	b := newDaemon(cfg, t.TempDir(), slog.New(slog.NewTextHandler(testWriter{t}, nil))).dns
	b.split.available = func() bool { return false }
	b.resolvConf = writeResolvConf(t, "nameserver 192.0.2.53\n")
	if err := b.apply(cfg, cfg.Interface.Address); err != nil {
		t.Fatal(err)
	}
	defer b.close()
	first := b.srv
	changed := dnsTestConfig()
	changed.DNS.Listen, changed.DNS.Rate = cfg.DNS.Listen, 7
	if err := b.apply(changed, nil); err != nil {
		t.Fatalf("restart on the same address: %v", err)
	}
	if b.srv == first || b.running.Rate != 7 {
		t.Fatalf("restart: the server or its settings did not change (%+v)", b.running)
	}
	st := b.status(changed)
	if !st.Running || len(st.Listen) != 1 || st.Listen[0] != listen {
		t.Fatalf("status %+v; want it running on %s", st, listen)
	}

	busyPort := freePort(t)
	hold, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(busyPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	busy := dnsTestConfig()
	busy.DNS.Listen = []netip.AddrPort{netip.AddrPortFrom(listen.Addr(), busyPort)}
	err = b.apply(busy, nil)
	if err == nil || !strings.Contains(err.Error(), "[dns] listen "+busy.DNS.Listen[0].String()) ||
		!strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "127.0.0.53 only") {
		t.Fatalf("busy address: %v; want the key, the address, the cause and the fix", err)
	}
	if st := b.status(changed); !st.Running || st.Listen[0] != listen {
		t.Fatalf("after the failed restart: %+v; want the old server on %s", st, listen)
	}
}
