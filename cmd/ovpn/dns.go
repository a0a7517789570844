package main

// The DNS bridge's life inside a link: started from the [dns] section
// once the interface has its addresses (at up, or at the first grant for
// a client without [interface] address), restarted by a reload that
// changes the section or by a grant that changes the address it listens
// on by default, stopped at teardown. The server itself is package
// resolver; the names it answers from are dnsNames (names.go).

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/overlay/config"
	"o7s.dev/ouroboros/resolver"
)

// Defaults of the [dns] section that the bridge fills in itself.
const (
	defaultResolvConf = "/etc/resolv.conf" // upstream resolvers by default
	defaultDNSDomain  = "ouro"
	dnsPort           = 53
)

// dnsBridge is a link's DNS bridge: the server running, if any, and what
// it was started from. Its mutex orders starts and stops (up, a grant, a
// reload, teardown).
type dnsBridge struct {
	resolvConf string    // where the default upstream comes from
	split      *splitDNS // registers the bridge with systemd-resolved
	names      *dnsNames // the link's names, kept across restarts
	listen     listenFunc
	log        *slog.Logger

	mu      sync.Mutex
	addrs   []netip.Prefix  // the interface's addresses, last known
	srv     dnsServer       // nil: not running
	running resolver.Config // what srv was started with
	dev     string          // the device split DNS was set on; "" if none
	waiting string          // why the configured bridge is not running
	closed  bool            // teardown: start nothing any more
}

// newDNSBridge returns the bridge of d's link, not running.
func newDNSBridge(d *daemon) *dnsBridge {
	return &dnsBridge{resolvConf: defaultResolvConf, split: newSplitDNS(d.log), names: newDNSNames(d),
		listen: listenResolver, log: d.log}
}

// errNoAddress says the bridge has no address to listen on by default yet.
var errNoAddress = errors.New("no tunnel address yet (listen defaults to the first one): the bridge starts once a peer's pool grants one")

// dnsSettings turns the [dns] section of cfg into the server's
// configuration, given the interface's addresses (addrs) and the
// resolv.conf to read the default upstream from. Notes say what it chose
// that an admin should know (resolvers skipped, none found).
func dnsSettings(cfg *config.Link, addrs []netip.Prefix, resolvConf string) (rc resolver.Config, notes []string, err error) {
	sec := cfg.DNS
	rc = resolver.Config{Domain: strings.Trim(sec.Domain, "."), Listen: sec.Listen, Upstream: sec.Upstream,
		Allow: sec.Allow, Rate: sec.Rate}
	if rc.Domain == "" {
		rc.Domain = defaultDNSDomain
	}
	if len(rc.Listen) == 0 {
		if len(addrs) == 0 {
			return rc, nil, errNoAddress
		}
		rc.Listen = []netip.AddrPort{netip.AddrPortFrom(addrs[0].Addr(), dnsPort)}
	}
	if len(rc.Upstream) == 0 {
		rc.Upstream, notes = resolvConfUpstream(resolvConf, rc.Listen)
	}
	if len(rc.Allow) == 0 {
		rc.Allow = defaultAllow(cfg, addrs)
	}
	return rc, notes, nil
}

// resolvConfUpstream reads the nameservers of a resolv.conf file, less
// any the bridge listens on itself (forwarding to itself would loop).
func resolvConfUpstream(path string, listen []netip.AddrPort) (up []netip.AddrPort, notes []string) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, []string{fmt.Sprintf("no upstream resolvers: %v; set [dns] upstream, or queries outside the domain are refused", err)}
	}
	port := uint16(dnsPort)
	if p, err := netip.ParseAddrPort("0.0.0.0:" + cc.Port); err == nil {
		port = p.Port()
	}
	for _, s := range cc.Servers {
		a, err := netip.ParseAddr(s)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: nameserver %q skipped: %v", path, s, err))
			continue
		}
		ap := netip.AddrPortFrom(a.Unmap(), port)
		if listensOn(listen, ap) {
			notes = append(notes, fmt.Sprintf("%s: nameserver %s skipped: it is the bridge itself", path, ap))
			continue
		}
		up = append(up, ap)
	}
	if len(up) == 0 {
		notes = append(notes, fmt.Sprintf("%s names no upstream resolver besides the bridge: set [dns] upstream, or queries outside the domain are refused", path))
	}
	return up, notes
}

// listensOn says whether a query to ap would reach a server listening on
// listen. An unspecified address listens on every address of this host
// (of both families: Go binds a wildcard dual-stack), and no other: a
// resolver elsewhere on that port is not the bridge.
func listensOn(listen []netip.AddrPort, ap netip.AddrPort) bool {
	for _, l := range listen {
		if l.Port() != ap.Port() {
			continue
		}
		if l.Addr() == ap.Addr() || l.Addr().IsUnspecified() && isHostAddr(ap.Addr()) {
			return true
		}
	}
	return false
}

// isHostAddr says whether a is an address of this host: unspecified,
// loopback, or on one of its interfaces.
func isHostAddr(a netip.Addr) bool {
	if a.IsUnspecified() || a.IsLoopback() {
		return true
	}
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ifa := range ifas {
		if n, ok := ifa.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// defaultAllow is who the bridge serves when [dns] allow is not set: the
// link's subnets (its addresses masked), every [[peer]]'s routes, the
// [accept] pool, and this host (loopback).
func defaultAllow(cfg *config.Link, addrs []netip.Prefix) []netip.Prefix {
	var allow []netip.Prefix
	for _, a := range addrs {
		allow = append(allow, a.Masked())
	}
	allow = append(allow, peerRoutes(cfg)...)
	allow = append(allow, cfg.Accept.Pool...)
	allow = append(allow, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	return slices.CompactFunc(allow, func(a, b netip.Prefix) bool { return a == b })
}

// sameConfig says whether two server configurations serve alike (Names
// and Log aside).
func sameConfig(a, b resolver.Config) bool {
	return a.Domain == b.Domain && slices.Equal(a.Listen, b.Listen) && slices.Equal(a.Upstream, b.Upstream) &&
		samePrefixes(a.Allow, b.Allow) && a.Rate == b.Rate && a.TTL == b.TTL && a.LookupTimeout == b.LookupTimeout
}

// listenFunc starts a server; resolver.Listen, or a test's.
type listenFunc func(resolver.Config) (dnsServer, error)

// dnsServer is what the bridge uses of a resolver.Server.
type dnsServer interface {
	Addrs() []net.Addr
	Stats() resolver.Stats
	Close() error
}

// listenResolver is resolver.Listen.
func listenResolver(rc resolver.Config) (dnsServer, error) {
	s, err := resolver.Listen(rc)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// apply makes the bridge run as cfg's [dns] section says, on the
// interface addresses addrs (nil: the last known): start it, restart it
// if its settings changed, stop it if the section is gone. A server that
// cannot start leaves the one running as it was, and the error says why.
func (b *dnsBridge) apply(cfg *config.Link, addrs []netip.Prefix) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if addrs != nil {
		b.addrs = slices.Clone(addrs)
	}
	if b.closed {
		return nil
	}
	if cfg.DNS == nil {
		b.stopLocked()
		b.waiting = ""
		return nil
	}
	rc, notes, err := dnsSettings(cfg, b.addrs, b.resolvConf)
	if errors.Is(err, errNoAddress) {
		b.stopLocked()
		b.waiting = err.Error()
		b.log.Info("DNS bridge: waiting for an address", "why", err)
		return nil
	}
	if b.srv != nil && sameConfig(b.running, rc) {
		return nil
	}
	for _, n := range notes {
		b.log.Warn("DNS bridge: " + n)
	}
	rc.Names, rc.Log = b.names, b.log.With("part", "dns")
	if err := b.restartLocked(rc); err != nil {
		if b.srv == nil {
			b.waiting = err.Error()
		}
		return err
	}
	b.waiting = ""
	b.log.Info("DNS bridge listening", "listen", rc.Listen, "domain", rc.Domain,
		"upstream", rc.Upstream, "allow", rc.Allow, "on_demand", cfg.DNS.OnDemand)
	b.registerLocked(cfg.Interface.Device, rc)
	return nil
}

// restartLocked replaces the running server (if any) with one for rc. A
// new server on an address the old holds can bind only once the old is
// closed: then the old goes first, and comes back if the new fails.
func (b *dnsBridge) restartLocked(rc resolver.Config) error {
	old, oldCfg := b.srv, b.running
	overlap := old != nil && slices.ContainsFunc(rc.Listen, func(ap netip.AddrPort) bool {
		return slices.ContainsFunc(oldCfg.Listen, func(o netip.AddrPort) bool { return o.Port() == ap.Port() })
	})
	if overlap {
		old.Close()
		b.srv = nil
	}
	srv, err := b.listen(rc)
	if err != nil {
		err = listenError(rc, err)
		if overlap {
			if back, berr := b.listen(oldCfg); berr == nil {
				b.srv = back
			} else {
				b.log.Error("DNS bridge: the old settings cannot listen again either; no bridge runs", "err", berr)
			}
		}
		return err
	}
	if old != nil && !overlap {
		old.Close()
	}
	b.srv, b.running = srv, rc
	return nil
}

// listenError names the [dns] key, the address and the likely fix of a
// bridge that cannot listen.
func listenError(rc resolver.Config, err error) error {
	fix := "set [dns] listen to an address this host has"
	if errors.Is(err, syscall.EADDRINUSE) {
		fix = "another program holds port 53 there (a resolver such as dnsmasq or unbound listening on every address? " +
			"systemd-resolved's stub listens on 127.0.0.53 only, and does not clash): stop it, make it listen elsewhere, or set [dns] listen to another address or port"
	}
	return fmt.Errorf("[dns] listen %s: the DNS bridge cannot listen: %w; %s", addrPorts(rc.Listen), err, fix)
}

// stopLocked closes the server, if any, and withdraws it from
// systemd-resolved.
func (b *dnsBridge) stopLocked() {
	if b.srv != nil {
		if err := b.srv.Close(); err != nil {
			b.log.Warn("DNS bridge: closing", "err", err)
		}
		b.srv = nil
		b.log.Info("DNS bridge stopped")
	}
	if b.dev != "" {
		b.split.revert(b.dev)
		b.dev = ""
	}
}

// registerLocked tells systemd-resolved (if it runs) to send the domain's
// queries to the bridge on dev.
func (b *dnsBridge) registerLocked(dev string, rc resolver.Config) {
	if b.split.set(dev, rc.Listen, rc.Domain) {
		b.dev = dev
	}
}

// close stops the bridge for good (teardown).
func (b *dnsBridge) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.stopLocked()
}

// addrPorts is "a:p,b:p".
func addrPorts(aps []netip.AddrPort) string {
	s := make([]string, len(aps))
	for i, ap := range aps {
		s[i] = ap.String()
	}
	return strings.Join(s, ",")
}
