package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"o7s.dev/ouroboros/internal/netlab"
)

// The DNS bridge's tests run real clients (dig) against the bridge in
// ovpn, in the site-to-site lab, with dnsmasq on host A as the upstream
// resolver.

// bridgeAddr is where gwA's bridge listens by default: its first tunnel
// address, port 53.
const bridgeAddr = "10.77.0.1"

// bigTXT is how many TXT records the upstream holds for big.example: more
// than fit in 512 bytes, so that an answer without EDNS is truncated.
const bigTXT = 16

// needDNSTools fails the test if dig or dnsmasq is missing.
func needDNSTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"dig", "dnsmasq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install -y dnsutils dnsmasq-base)", tool)
		}
	}
}

// startUpstream runs dnsmasq on n at addr as an upstream resolver with
// no upstream of its own: up.example A 192.0.2.7, and bigTXT TXT records
// of 60 bytes at big.example; extra are more dnsmasq options. It waits
// until dnsmasq answers.
func startUpstream(t testing.TB, n *netlab.Node, addr netip.Addr, extra ...string) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		"--pid-file=" + filepath.Join(dir, "dnsmasq.pid"), "--user=root", "--group=root",
		"--listen-address=" + addr.String(), "--bind-interfaces", "--log-queries=extra", "--log-facility=-",
		"--address=/up.example/192.0.2.7"}
	for i := range bigTXT {
		args = append(args, fmt.Sprintf("--txt-record=big.example,%02d-%s", i, strings.Repeat("x", 57)))
	}
	n.Start("dnsmasq", append(args, extra...)...)
	waitFor(t, 10*time.Second, "dnsmasq answering on "+n.Name, func() bool {
		out, _ := n.Run("dig", "+time=1", "+tries=1", "+short", "@"+addr.String(), "up.example", "A")
		return strings.TrimSpace(out) == "192.0.2.7"
	})
}

// dig runs dig on n against the bridge (at most 2 s, one try) and returns
// its output.
func dig(t testing.TB, n *netlab.Node, args ...string) string {
	t.Helper()
	out, _ := n.Run("dig", append([]string{"+time=2", "+tries=1", "@" + bridgeAddr}, args...)...)
	return out
}

// digShort is dig +short, trimmed.
func digShort(t testing.TB, n *netlab.Node, args ...string) string {
	t.Helper()
	return strings.TrimSpace(dig(t, n, append([]string{"+short"}, args...)...))
}

// digStatus is the status of dig's answer (NOERROR, NXDOMAIN, REFUSED...),
// "" without an answer.
func digStatus(out string) string {
	m := regexp.MustCompile(`status: ([A-Z]+)`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// digQueryTime is dig's "Query time", -1 if absent.
func digQueryTime(out string) time.Duration {
	m := regexp.MustCompile(`Query time: (\d+) msec`).FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	ms, _ := strconv.Atoi(m[1])
	return time.Duration(ms) * time.Millisecond
}

// bridgeStatus is what the tests read of `ovpn status --json`'s dns part.
type bridgeStatus struct {
	Running bool             `json:"running"`
	Listen  []netip.AddrPort `json:"listen"`
	Domain  string           `json:"domain"`
	Stats   struct {
		Queries     uint64 `json:"queries"`
		Answered    uint64 `json:"answered"`
		NXDomain    uint64 `json:"nxdomain"`
		NotAllowed  uint64 `json:"not_allowed"`
		RateLimited uint64 `json:"rate_limited"`
		Forwarded   uint64 `json:"forwarded"`
	} `json:"stats"`
}

// ovpnBridgeStatus returns the link's DNS bridge from `ovpn status --json`.
func ovpnBridgeStatus(t testing.TB, n *netlab.Node, link string) bridgeStatus {
	t.Helper()
	out := n.MustRun("ovpn", "status", link, "--json")
	var links []struct {
		DNS *bridgeStatus `json:"dns"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 || links[0].DNS == nil {
		t.Fatalf("%s: ovpn status %s --json: want one link with a dns part: %v\n%s", n.Name, link, err, out)
	}
	return *links[0].DNS
}

// bridgeSites brings up the site-to-site lab with dnsmasq on host A, gwA's
// resolv.conf naming it (the bridge's default upstream) and the bridge
// itself (to be skipped), gwA's link with a [dns] section holding extra,
// gwB's without, and waits until gwA has gw.site-b up. It returns the lab
// and gwA's configuration file.
func bridgeSites(t *testing.T, extra string) (*ovpnSites, string) {
	t.Helper()
	needDNSTools(t)
	s := newOVPNSites(t)
	startUpstream(t, s.hostA, s.lanA.A.IP4())
	s.gwA.Etc("resolv.conf", fmt.Sprintf("nameserver %s\nnameserver %s\n", bridgeAddr, s.lanA.A.IP4()))
	confA := writeOVPNConf(t, "site", siteConf("a", "")+"\n[dns]\n"+extra)
	ovpnUp(t, s.gwA.Node, confA)
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "site", siteConf("b", "")))
	waitPeerUp(t, s.gwA.Node, "site", "gw.site-b", 30*time.Second)
	return s, confA
}

// TestE2EOvpnDNSBridge: clients at site B ask gwA's bridge for
// gw.site-b.ouro (A, AAAA, over UDP and TCP) and get gwB's tunnel
// addresses, and the PTR of those addresses gives the name back; a name
// not in the layer is NXDOMAIN at once; names outside the domain go to
// the upstream resolver that gwA's resolv.conf names (the bridge's own
// address there is skipped), including an answer too big for 512 bytes,
// which the upstream truncates and the bridge fetches again over TCP; a
// client outside allow (host A) is refused; and ovpn status shows where
// the bridge listens and what it counted.
func TestE2EOvpnDNSBridge(t *testing.T) {
	s, confA := bridgeSites(t, "")
	for _, n := range []*netlab.Node{s.hostB, s.gwB.Node} {
		if got := digShort(t, n, "gw.site-b.ouro", "A"); got != "10.77.0.2" {
			t.Errorf("%s: gw.site-b.ouro A = %q; want 10.77.0.2\n%s", n.Name, got, dig(t, n, "gw.site-b.ouro", "A"))
		}
	}
	if got := digShort(t, s.hostB, "gw.site-b.ouro", "AAAA"); got != "fd77::2" {
		t.Errorf("gw.site-b.ouro AAAA = %q; want fd77::2", got)
	}
	if got := digShort(t, s.hostB, "+tcp", "gw.site-b.ouro", "A"); got != "10.77.0.2" {
		t.Errorf("over TCP: gw.site-b.ouro A = %q; want 10.77.0.2", got)
	}
	for _, addr := range []string{"10.77.0.2", "fd77::2"} {
		if got := digShort(t, s.hostB, "-x", addr); got != "gw.site-b.ouro." {
			t.Errorf("PTR of %s = %q; want gw.site-b.ouro.", addr, got)
		}
	}
	// The bridge's own name answers too.
	if got := digShort(t, s.hostB, "gw.site-a.ouro", "A"); got != "10.77.0.1" {
		t.Errorf("gw.site-a.ouro A = %q; want 10.77.0.1", got)
	}

	// A name the layer does not hold: NXDOMAIN from the directory, fast.
	best := time.Hour
	for range 3 {
		out := dig(t, s.hostB, "nonexistent.ouro", "A")
		if st := digStatus(out); st != "NXDOMAIN" {
			t.Fatalf("nonexistent.ouro: status %q; want NXDOMAIN\n%s", st, out)
		}
		qt := digQueryTime(out)
		if qt < 0 {
			t.Fatalf("nonexistent.ouro: dig shows no query time\n%s", out)
		}
		best = min(best, qt)
	}
	if best > 100*time.Millisecond {
		t.Errorf("nonexistent.ouro: NXDOMAIN after %v at best; want under 100 ms", best)
	}

	// Outside the domain: the upstream answers through the bridge.
	if got := digShort(t, s.hostB, "up.example", "A"); got != "192.0.2.7" {
		t.Errorf("up.example A (forwarded) = %q; want 192.0.2.7", got)
	}
	// Too big for 512 bytes: without EDNS the upstream truncates its UDP
	// answer; the bridge asks again over TCP. Over TCP to the bridge every
	// record comes back; over UDP the bridge truncates in turn and dig
	// asks again over TCP.
	direct, _ := s.hostA.Run("dig", "+time=2", "+tries=1", "+noedns", "+ignore", "@"+s.lanA.A.IP4().String(), "big.example", "TXT")
	if !regexp.MustCompile(`flags:[a-z ]* tc[ ;]`).MatchString(direct) {
		t.Fatalf("the upstream does not truncate big.example TXT without EDNS, so the test proves nothing:\n%s", direct)
	}
	for _, via := range []string{"+tcp", "+notcp"} {
		out := dig(t, s.hostB, "+noedns", via, "big.example", "TXT")
		if n := strings.Count(out, "xxxxxxxxxx\""); n != bigTXT || digStatus(out) != "NOERROR" {
			t.Errorf("big.example TXT without EDNS (%s): %d records; want %d\n%s", via, n, bigTXT, out)
		}
	}

	// Host A's LAN is not in allow (the link's subnets, the [[peer]]
	// routes, loopback): refused.
	if out := dig(t, s.hostA, "gw.site-b.ouro", "A"); digStatus(out) != "REFUSED" {
		t.Errorf("host A (outside allow): status %q; want REFUSED\n%s", digStatus(out), out)
	}

	text := s.gwA.MustRun("ovpn", "status", "site")
	mustContain(t, text, "dns bridge on "+bridgeAddr+":53 for .ouro (on demand), upstream "+s.lanA.A.IP4().String()+":53")
	st := ovpnBridgeStatus(t, s.gwA.Node, "site")
	if !st.Running || len(st.Listen) != 1 || st.Listen[0] != netip.MustParseAddrPort(bridgeAddr+":53") || st.Domain != "ouro" {
		t.Errorf("status: %+v; want running on %s:53 for ouro", st, bridgeAddr)
	}
	if st.Stats.Answered < 5 || st.Stats.NXDomain < 3 || st.Stats.NotAllowed < 1 || st.Stats.Forwarded < 1 {
		t.Errorf("counters %+v; want the answers, NXDOMAINs, refusal and forwards above counted", st.Stats)
	}
	if log := ovpnLog(s.gwA.Node, "site"); !strings.Contains(log, "skipped: it is the bridge itself") {
		t.Errorf("gwA's log does not say it skipped the bridge's own address in resolv.conf:\n%s", log)
	}
	bridgeListenBusy(t, s.gwB)
	bridgeOnDemandStatus(t, s)
	bridgeReload(t, s, confA)
}

// gwLink is an ovpn link on gwB besides site: name on device dev with
// address addr, accepting the names in accept.
func gwLink(name, dev, addr, accept string) string {
	return `name = "` + name + `"
layer = "corp"
authenticate = false

[interface]
device = "` + dev + `"
address = ["` + addr + `"]

[accept]
names = ["` + accept + `"]
`
}

// bridgeOnDemandStatus runs two more links on gwB that gwA does not dial:
// gw.od accepts gw.site-a, gw.no does not. gwA's status then lists gw.od
// among the names answered on demand and gw.no among the refusals, with
// the reason.
func bridgeOnDemandStatus(t *testing.T, s *ovpnSites) {
	t.Helper()
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "od", gwLink("gw.od", "ovpn1", "10.77.0.3/24", "gw.site-a")))
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "no", gwLink("gw.no", "ovpn2", "10.79.0.1/24", "nobody.*")))
	// The names were registered just now: a first lookup may find the
	// layer's directory not knowing them yet (this test is about what the
	// status shows; the on-demand tests time the lookups).
	waitFor(t, 20*time.Second, "gw.od.ouro answered on demand", func() bool {
		return digShort(t, s.hostB, "+time=5", "gw.od.ouro", "A") == "10.77.0.3"
	})
	waitFor(t, 20*time.Second, "gw.no.ouro refused", func() bool {
		return digStatus(dig(t, s.hostB, "+time=5", "gw.no.ouro", "A")) == "REFUSED"
	})
	out := s.gwA.MustRun("ovpn", "status", "site", "--json")
	var links []struct {
		DNS struct {
			Names []struct {
				Name  string       `json:"name"`
				Addrs []netip.Addr `json:"addresses"`
			} `json:"names"`
			Refusals []struct {
				Name   string `json:"name"`
				Reason string `json:"reason"`
			} `json:"refusals"`
		} `json:"dns"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ovpn status --json: %v\n%s", err, out)
	}
	d := links[0].DNS
	if len(d.Names) != 1 || d.Names[0].Name != "gw.od" || len(d.Names[0].Addrs) == 0 || d.Names[0].Addrs[0] != netip.MustParseAddr("10.77.0.3") {
		t.Errorf("names on demand %+v; want gw.od at 10.77.0.3", d.Names)
	}
	if len(d.Refusals) == 0 || d.Refusals[0].Name != "gw.no" || d.Refusals[0].Reason == "" {
		t.Errorf("refusals %+v; want gw.no with its reason", d.Refusals)
	}
	text := s.gwA.MustRun("ovpn", "status", "site")
	mustContain(t, text, "ON DEMAND", "gw.od", "refused gw.no: ")
	t.Logf("gwA's bridge in ovpn status:\n%s", text)
}

// bridgeReload changes gwA's [dns] section and reloads: the bridge serves
// a second address; then removes the section: the bridge stops.
func bridgeReload(t *testing.T, s *ovpnSites, confA string) {
	t.Helper()
	reload := func(text string) {
		t.Helper()
		if err := os.WriteFile(confA, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s.gwA.MustRun("ovpn", "reload", "site")
	}
	reload(siteConf("a", "") + "\n[dns]\nlisten = [\"" + bridgeAddr + "\", \"127.0.0.1:5353\"]\n")
	st := ovpnBridgeStatus(t, s.gwA.Node, "site")
	if len(st.Listen) != 2 || st.Listen[1] != netip.MustParseAddrPort("127.0.0.1:5353") {
		t.Fatalf("after reload: listen %v; want %s:53 and 127.0.0.1:5353", st.Listen, bridgeAddr)
	}
	out, _ := s.gwA.Run("dig", "+time=2", "+tries=1", "+short", "@127.0.0.1", "-p", "5353", "gw.site-b.ouro", "A")
	if strings.TrimSpace(out) != "10.77.0.2" {
		t.Errorf("the reloaded bridge on 127.0.0.1:5353: %q; want 10.77.0.2", out)
	}
	reload(siteConf("a", ""))
	if out := s.gwA.MustRun("ovpn", "status", "site", "--json"); strings.Contains(out, `"dns"`) {
		t.Errorf("[dns] removed, but the status shows a bridge:\n%s", out)
	}
	if out := dig(t, s.hostB, "gw.site-b.ouro", "A"); digStatus(out) != "" {
		t.Errorf("[dns] removed, but the bridge answers:\n%s", out)
	}
}

// bridgeListenBusy checks that `ovpn up` of a link whose bridge cannot
// listen (another resolver holds the address) fails, naming [dns] listen,
// the address and the cause, and leaves no interface behind.
func bridgeListenBusy(t *testing.T, g *ovpnGW) {
	t.Helper()
	lo := netip.MustParseAddr("127.0.0.1")
	startUpstream(t, g.Node, lo)
	conf := writeOVPNConf(t, "busy", `name = "gw.busy"
layer = "corp"
authenticate = false

[interface]
device = "ovpn1"
address = ["10.78.0.1/24"]

[accept]
names = ["nobody.*"]

[dns]
listen = ["127.0.0.1:53"]
`)
	out, err := g.Run("ovpn", "up", conf)
	if err == nil {
		g.Run("ovpn", "down", "busy")
		t.Fatalf("ovpn up with [dns] listen on a busy address worked:\n%s", out)
	}
	out += ovpnLog(g.Node, "busy")
	mustContain(t, out, "[dns] listen 127.0.0.1:53", "address already in use", "another program holds port 53")
	if out, err := g.Run("ip", "link", "show", "dev", "ovpn1"); err == nil {
		t.Errorf("the failed up left ovpn1 behind:\n%s", out)
	}
}

// TestE2EOvpnDNSBridgeRateLimit: one client (gwB) floods the bridge with
// queries, far over `rate`; most are dropped and counted, while another
// client (host B) is still answered during the flood.
func TestE2EOvpnDNSBridgeRateLimit(t *testing.T) {
	const rate = 20
	s, _ := bridgeSites(t, fmt.Sprintf("rate = %d\n", rate))
	var conn *net.UDPConn
	err := s.gwB.Do(func() error {
		var err error
		conn, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(bridgeAddr+":53")))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const flood = 1500 * time.Millisecond
	var sent, answered int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the flood: a query every millisecond
		defer wg.Done()
		q := new(dns.Msg)
		for end := time.Now().Add(flood); time.Now().Before(end); sent++ {
			q.SetQuestion("gw.site-b.ouro.", dns.TypeA)
			q.Id = uint16(sent)
			b, _ := q.Pack()
			conn.Write(b)
			time.Sleep(time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		conn.SetReadDeadline(time.Now().Add(flood + time.Second))
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
			answered++
		}
	}()
	// Host B asks once the bridge is dropping gwB's queries.
	waitFor(t, flood, "gwB's flood rate-limited", func() bool {
		return ovpnBridgeStatus(t, s.gwA.Node, "site").Stats.RateLimited > 0
	})
	other := digShort(t, s.hostB, "gw.site-b.ouro", "A")
	wg.Wait()
	if other != "10.77.0.2" {
		t.Errorf("host B during gwB's flood: %q; want 10.77.0.2", other)
	}
	// A burst of rate, then rate a second, and slack for a loaded machine.
	if limit := rate + int(float64(rate)*(flood.Seconds()+1)) + 10; answered > limit || sent < 5*limit {
		t.Errorf("flood: %d of %d answered; want at most %d", answered, sent, limit)
	}
	st := ovpnBridgeStatus(t, s.gwA.Node, "site")
	if st.Stats.RateLimited == 0 || st.Stats.RateLimited < uint64(sent-answered)/2 {
		t.Errorf("rate_limited = %d; %d of %d queries were not answered", st.Stats.RateLimited, sent-answered, sent)
	}
	t.Logf("flood: %d sent, %d answered; rate_limited %d", sent, answered, st.Stats.RateLimited)
}

// TestE2EOvpnDNSBridgeClient: a laptop without [interface] address starts
// its bridge once the office's pool grants it an address, and listens
// there; it answers the office's name.
func TestE2EOvpnDNSBridgeClient(t *testing.T) {
	needDNSTools(t)
	o := newOVPNOffice(t, "", "")
	ovpnUp(t, o.office.Node, writeOVPNConf(t, "office", officeConf(t.TempDir(), "authenticate = false", "")))
	l := o.laptops[0]
	ovpnUp(t, l.Node, writeOVPNConf(t, "office", laptopConf("laptop.alice", "authenticate = false", "\n[dns]\n")))
	addr := grantedAddr(t, l.Node, "office").Addr()
	var st bridgeStatus
	waitFor(t, 10*time.Second, "the laptop's bridge running", func() bool {
		st = ovpnBridgeStatus(t, l.Node, "office")
		return st.Running
	})
	if want := netip.AddrPortFrom(addr, 53); len(st.Listen) != 1 || st.Listen[0] != want {
		t.Fatalf("the laptop's bridge listens on %v; want %v, its granted address", st.Listen, want)
	}
	out, _ := l.Run("dig", "+time=2", "+tries=1", "+short", "@"+addr.String(), "gw.office.ouro", "A")
	if got := strings.TrimSpace(out); got != "10.77.0.1" {
		t.Errorf("the laptop's bridge: gw.office.ouro A = %q; want 10.77.0.1", got)
	}
}
