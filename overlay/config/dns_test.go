package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/resolver"
)

func addrPortList(s ...string) []netip.AddrPort {
	out := make([]netip.AddrPort, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddrPort(a)
	}
	return out
}

// TestDNSAbsent checks that a file without [dns] runs no bridge.
func TestDNSAbsent(t *testing.T) {
	if l := mustLoad(t, example); l.DNS != nil || len(l.Publish) != 0 {
		t.Errorf("DNS %+v, Publish %+v without [dns] and [[publish]]", l.DNS, l.Publish)
	}
}

// TestDNSEmptyTable checks that an empty [dns] table (viper gives an
// empty map for it, and no key) runs the bridge with the defaults, as
// does an empty inline table.
func TestDNSEmptyTable(t *testing.T) {
	for _, text := range []string{example + "[dns]\n", strings.Replace(example, "\n[interface]", "\ndns = {}\n[interface]", 1)} {
		l := mustLoad(t, text)
		want := DNS{Domain: DefaultDomain, OnDemand: true, Idle: DefaultIdle, Rate: DefaultRate}
		if l.DNS == nil || !equalDNS(l.DNS, &want) {
			t.Errorf("empty [dns]: got %+v, want %+v", l.DNS, want)
		}
	}
}

// TestDNSFull checks every [dns] key of base, bare addresses meaning port
// 53, and [[publish]] addresses given as a list and as one string.
func TestDNSFull(t *testing.T) {
	l := mustLoad(t, base)
	want := DNS{
		Listen:   addrPortList("10.77.0.1:53", "[fd77::1]:5353", "127.0.0.1:53"),
		Domain:   "corp.ouro",
		Upstream: addrPortList("192.0.2.53:53", "[2001:db8::53]:53"),
		Allow:    prefixList("10.77.0.0/24", "10.2.0.0/24"),
		Idle:     time.Hour,
		Rate:     50,
	}
	if l.DNS == nil || !equalDNS(l.DNS, &want) {
		t.Errorf("got %+v\nwant %+v", l.DNS, want)
	}
	pub := []Publish{
		{Name: "web.a", Address: []netip.Addr{netip.MustParseAddr("10.1.0.5"), netip.MustParseAddr("fd01::5")}},
		{Name: "db.a", Address: []netip.Addr{netip.MustParseAddr("10.1.0.6")}},
	}
	if !slices.EqualFunc(l.Publish, pub, func(a, b Publish) bool { return a.Name == b.Name && slices.Equal(a.Address, b.Address) }) {
		t.Errorf("publish %+v, want %+v", l.Publish, pub)
	}
}

func equalDNS(a, b *DNS) bool {
	return slices.Equal(a.Listen, b.Listen) && a.Domain == b.Domain && slices.Equal(a.Upstream, b.Upstream) &&
		a.OnDemand == b.OnDemand && slices.Equal(a.Allow, b.Allow) && a.Idle == b.Idle && a.Rate == b.Rate
}

// TestDNSEnv checks that OVPN_DNS_* change the [dns] keys of a file with
// a [dns] table, and that without one they start no bridge and are
// warned of.
func TestDNSEnv(t *testing.T) {
	t.Setenv("OVPN_DNS_LISTEN", "10.77.0.1, [fd77::1]:5353")
	t.Setenv("OVPN_DNS_DOMAIN", "vpn.example.org")
	t.Setenv("OVPN_DNS_UPSTREAM", "192.0.2.1:5300")
	t.Setenv("OVPN_DNS_ON_DEMAND", "false")
	t.Setenv("OVPN_DNS_ALLOW", "10.0.0.0/8")
	t.Setenv("OVPN_DNS_IDLE", "30s")
	t.Setenv("OVPN_DNS_RATE", "7")
	l := mustLoad(t, example+"[dns]\ndomain = \"x\"\n")
	want := DNS{Listen: addrPortList("10.77.0.1:53", "[fd77::1]:5353"), Domain: "vpn.example.org",
		Upstream: addrPortList("192.0.2.1:5300"), Allow: prefixList("10.0.0.0/8"), Idle: 30 * time.Second, Rate: 7}
	if l.DNS == nil || !equalDNS(l.DNS, &want) {
		t.Errorf("with [dns]: got %+v\nwant %+v", l.DNS, want)
	}
	if w := l.Warnings(); len(w) != 0 {
		t.Errorf("warnings with [dns]: %q", w)
	}

	l = mustLoad(t, example)
	if l.DNS != nil {
		t.Errorf("the variables alone started the bridge: %+v", l.DNS)
	}
	w := l.Warnings()
	if len(w) != 7 || w[0] != "$OVPN_DNS_ALLOW is set, but the file has no [dns] table: ignored; add [dns] to run the DNS bridge" {
		t.Errorf("warnings without [dns]: %q", w)
	}

	t.Setenv("OVPN_DNS_RATE", "0")
	if _, err := load(t, example+"[dns]\n"); err == nil || !strings.Contains(err.Error(), "/gw.toml: [dns] rate (from $OVPN_DNS_RATE): 0: want 1 to 100000") {
		t.Errorf("bad variable: %v", err)
	}
	if _, err := load(t, example); err != nil {
		t.Errorf("a bad variable of a [dns] key refused a file without [dns]: %v", err)
	}
}

// TestDNSPlan checks the plan's lines for [dns] and [[publish]], with the
// defaults and with base's values, and the open resolver's warning.
func TestDNSPlan(t *testing.T) {
	l := mustLoad(t, example+"[dns]\n[[publish]]\nname = \"web.site-a\"\naddress = [\"10.1.0.5\", \"fd01::5\"]\n")
	plan := l.Plan()
	want := []string{
		`publish host 10.1.0.5 fd01::5 as "web.site-a": register the name in layer "corp" and answer flows for it with the host's addresses`,
		"DNS bridge for NAME.ouro: listen on the first tunnel address, port 53; forward other names to the nameservers of /etc/resolv.conf; answer clients in the link's subnets, its peers' routes, its pool and loopback, at most 200 queries/s each",
		"DNS bridge: a name queried with no flow gets one on demand, closed after 10m without data",
	}
	if got := plan[len(plan)-3:]; !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	plan = mustLoad(t, base).Plan()
	want = []string{
		"DNS bridge for NAME.corp.ouro: listen on 10.77.0.1:53 [fd77::1]:5353 127.0.0.1:53; forward other names to 192.0.2.53:53 [2001:db8::53]:53; answer clients in 10.77.0.0/24 10.2.0.0/24, at most 50 queries/s each",
		"DNS bridge: answer only peers that are up; other names are refused (on_demand = false)",
	}
	if got := plan[len(plan)-2:]; !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	w := mustLoad(t, example+"[dns]\nallow = [\"10.0.0.0/8\", \"::/0\"]\n").Warnings()
	if len(w) != 1 || w[0] != "[dns] allow: ::/0 lets every IPv6 address use the bridge: an open resolver wherever listen is reachable" {
		t.Errorf("warnings: %q", w)
	}
	w = mustLoad(t, example+"[[publish]]\nname = \"web.a\"\naddress = \"10.1.0.5\"\n[[publish]]\nname = \"Web Server\"\naddress = \"10.1.0.6\"\n").Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], `[[publish]] 2 name: "Web Server" is not a DNS host name`) {
		t.Errorf("warnings: %q", w)
	}
}

// TestDNSDefaults checks that the defaults are those of the bridge
// (package resolver) where both have one.
func TestDNSDefaults(t *testing.T) {
	if DefaultRate != resolver.DefaultRate {
		t.Errorf("[dns] rate defaults to %d, the resolver to %d", DefaultRate, resolver.DefaultRate)
	}
}
