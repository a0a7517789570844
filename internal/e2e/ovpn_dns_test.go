package e2e

import (
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// The on-demand names and published hosts of the DNS bridge, in the
// site-to-site lab: gwA dials nobody by itself and answers DNS for its
// LAN; gwB publishes host B (web.site-b) and routes site A back; plain
// hosts resolve and reach each other by name through the bridge.

// lanBridge is where gwA's bridge listens: its LAN address.
const lanBridge = "10.1.0.2"

// onDemandA is gwA's link: no [[peer]] (it accepts only gw.site-z, so
// gwB's own dials are refused and no flow exists until a lookup), the
// bridge on its LAN for the LAN, closing idle flows after idle.
func onDemandA(idle string) string {
	return `name  = "gw.site-a"
layer = "corp"
authenticate = false

[interface]
device  = "ovpn0"
address = ["10.77.0.1/24", "fd77::1/64"]

[accept]
names = ["gw.site-z"]

[dns]
listen = ["` + lanBridge + `"]
allow  = ["10.1.0.0/24"]
idle   = "` + idle + `"
`
}

// publishingB is gwB's link: site A behind gw.site-a, and host B
// published as web.site-b.
const publishingB = `name  = "gw.site-b"
layer = "corp"
authenticate = false

[interface]
device  = "ovpn0"
address = ["10.77.0.2/24", "fd77::2/64"]

[[peer]]
name   = "gw.site-a"
routes = ["10.1.0.0/24", "fd01::/64"]

[[publish]]
name    = "web.site-b"
address = ["10.2.0.1", "fd02::1"]
`

// closedB is a second link on gwB, gw.closed, which admits no gateway.
const closedB = `name  = "gw.closed"
layer = "corp"
authenticate = false

[interface]
device  = "ovpn1"
address = ["10.78.0.1/24"]

[accept]
names = ["laptop.*"]
`

// digAt runs dig on n against server (at most 2 s, one try).
func digAt(n *netlab.Node, server string, args ...string) string {
	out, _ := n.Run("dig", append([]string{"+time=2", "+tries=1", "@" + server}, args...)...)
	return out
}

// dnsNamesStatus is what the test reads of the bridge's on-demand names
// and refusals in `ovpn status --json`.
type dnsNamesStatus struct {
	Peers []struct {
		Name  string    `json:"name"`
		State string    `json:"state"`
		Since time.Time `json:"since"`
	} `json:"peers"`
	DNS struct {
		Names []struct {
			Name    string       `json:"name"`
			Gateway string       `json:"gateway"`
			Addrs   []netip.Addr `json:"addresses"`
			Since   time.Time    `json:"since"`
		} `json:"names"`
		Refusals []struct {
			Name   string `json:"name"`
			Reason string `json:"reason"`
		} `json:"refusals"`
	} `json:"dns"`
}

func onDemandStatus(t *testing.T, n *netlab.Node) dnsNamesStatus {
	t.Helper()
	out := n.MustRun("ovpn", "status", "site", "--json")
	var links []dnsNamesStatus
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("%s: ovpn status site --json: want one link: %v\n%s", n.Name, err, out)
	}
	return links[0]
}

// peerSince is when the named peer came up, zero if it is not up.
func (s dnsNamesStatus) peerSince(name string) time.Time {
	for _, p := range s.Peers {
		if p.Name == name && p.State == "up" {
			return p.Since
		}
	}
	return time.Time{}
}

// TestE2EOvpnDNSLegacyByName: a legacy client on site A whose resolver is
// gwA's bridge reaches, by name, a legacy web server on site B that gwB
// publishes as web.site-b: getent resolves web.site-b.ouro with no flow
// to gwB before the query (it is set up on demand), curl fetches the
// page, and a second query reuses the flows. An ovpn endpoint's name
// (gw.site-b) is answered on demand with its tunnel addresses; a name
// not in the layer is NXDOMAIN within 100 ms; a name that refuses gwA is
// REFUSED and ovpn status says which and why; idle flows close, with
// their routes.
func TestE2EOvpnDNSLegacyByName(t *testing.T) {
	needDNSTools(t)
	s := newOVPNSites(t)
	serveHTTP(t, s.hostB, "hello from web.site-b")
	s.hostA.Etc("resolv.conf", "nameserver "+lanBridge+"\noptions timeout:2 attempts:2\n")
	confB := writeOVPNConf(t, "site", publishingB)
	ovpnUp(t, s.gwB.Node, confB)
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "closed", closedB))
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", onDemandA("3s")))
	if st := onDemandStatus(t, s.gwA.Node); !st.peerSince("gw.site-b").IsZero() {
		t.Fatal("gw.site-b is up at gwA before any query")
	}

	// The name, on demand: gwB's publishing answers, gwA dials gwB.
	start := time.Now()
	var out string
	waitFor(t, 20*time.Second, "host A resolving web.site-b.ouro", func() bool {
		out, _ = s.hostA.Run("getent", "hosts", "web.site-b.ouro")
		return strings.Contains(out, "10.2.0.1") || strings.Contains(out, "fd02::1")
	})
	t.Logf("first resolution of web.site-b.ouro (allocations included): %v\n%s", time.Since(start).Round(time.Millisecond), out)
	page := s.hostA.MustRun("curl", "-sS", "--max-time", "5", "http://web.site-b.ouro:8080/")
	mustContain(t, page, "hello from web.site-b")
	st := onDemandStatus(t, s.gwA.Node)
	since := st.peerSince("gw.site-b")
	if since.IsZero() {
		t.Fatalf("gw.site-b is not up at gwA after the lookup: %+v", st.Peers)
	}
	var learned time.Time
	for _, e := range st.DNS.Names {
		if e.Name == "web.site-b" && e.Gateway == "gw.site-b" {
			learned = e.Since
		}
	}
	if learned.IsZero() {
		t.Fatalf("status does not show web.site-b through gw.site-b: %+v", st.DNS.Names)
	}
	// ssh-like reuse: a second query and fetch set nothing up. (Before
	// anything slower: 3 s without data close the flow.)
	if out := strings.TrimSpace(digAt(s.hostA, lanBridge, "+short", "web.site-b.ouro", "A")); out != "10.2.0.1" {
		t.Fatalf("second query: %q; want 10.2.0.1", out)
	}
	mustContain(t, s.hostA.MustRun("curl", "-sS", "--max-time", "5", "http://web.site-b.ouro:8080/"), "hello from web.site-b")
	mustContain(t, s.gwA.MustRun("ip", "-4", "route", "show", "dev", "ovpn0"), "10.2.0.1 ")
	st = onDemandStatus(t, s.gwA.Node)
	if got := st.peerSince("gw.site-b"); !got.Equal(since) {
		t.Errorf("the second query set gw.site-b up again (since %v, was %v)", got, since)
	}
	for _, e := range st.DNS.Names {
		if e.Name == "web.site-b" && !e.Since.Equal(learned) {
			t.Errorf("the second query resolved web.site-b again (since %v, was %v)", e.Since, learned)
		}
	}

	// Idle: no traffic for 3 s closes the flow to gw.site-b, and the
	// published host's route goes with it.
	waitFor(t, 20*time.Second, "the idle flow to gw.site-b closed", func() bool {
		return onDemandStatus(t, s.gwA.Node).peerSince("gw.site-b").IsZero()
	})
	if r := s.gwA.MustRun("ip", "-4", "route", "show", "dev", "ovpn0"); strings.Contains(r, "10.2.0.1 ") {
		t.Errorf("the route to web.site-b stays after the idle close:\n%s", r)
	}
	if flows := s.gwA.MustRun("irm", "flow", "list"); strings.Contains(flows, "gw.site-b") || strings.Contains(flows, "web.site-b") {
		t.Errorf("a flow stays after the idle close:\n%s", flows)
	}

	// An endpoint's name, on demand again: its tunnel addresses.
	for qtype, want := range map[string]string{"A": "10.77.0.2", "AAAA": "fd77::2"} {
		if got := strings.TrimSpace(digAt(s.hostA, lanBridge, "+short", "gw.site-b.ouro", qtype)); got != want {
			t.Errorf("gw.site-b.ouro %s = %q; want %s", qtype, got, want)
		}
	}

	// No such name: NXDOMAIN from the directory, fast.
	best := time.Hour
	for range 3 {
		out := digAt(s.hostA, lanBridge, "nonexistent.ouro", "A")
		if st := digStatus(out); st != "NXDOMAIN" {
			t.Fatalf("nonexistent.ouro: status %q; want NXDOMAIN\n%s", st, out)
		}
		best = min(best, digQueryTime(out))
	}
	t.Logf("nonexistent.ouro: NXDOMAIN in %v (best of 3)", best)
	if best > 100*time.Millisecond {
		t.Errorf("nonexistent.ouro: NXDOMAIN after %v at best; want under 100 ms", best)
	}

	// A name that exists but refuses gwA: REFUSED, and status says why.
	if out := digAt(s.hostA, lanBridge, "gw.closed.ouro", "A"); digStatus(out) != "REFUSED" {
		t.Errorf("gw.closed.ouro: status %q; want REFUSED\n%s", digStatus(out), out)
	}
	refused := false
	for _, r := range onDemandStatus(t, s.gwA.Node).DNS.Refusals {
		refused = refused || r.Name == "gw.closed" && strings.Contains(r.Reason, "no [[peer]] entry and no [accept] names pattern matches gw.site-a")
	}
	if !refused {
		t.Errorf("status does not show gw.closed's refusal and its reason:\n%s", s.gwA.MustRun("ovpn", "status", "site"))
	}
	mustContain(t, s.gwA.MustRun("ovpn", "status", "site"), "refused gw.closed: ")

	// Reload at gwB: a [[publish]] entry added is registered and
	// answered; removed, it is withdrawn: once gwA's flow to gwB has gone
	// idle, the name is NXDOMAIN.
	nas := "\n[[publish]]\nname    = \"nas.site-b\"\naddress = [\"10.2.0.9\"]\n"
	reloadB := func(text string) {
		t.Helper()
		if err := os.WriteFile(confB, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s.gwB.MustRun("ovpn", "reload", "site")
	}
	reloadB(publishingB + nas)
	waitFor(t, 20*time.Second, "nas.site-b answered after gwB's reload", func() bool {
		return strings.TrimSpace(digAt(s.hostA, lanBridge, "+short", "nas.site-b.ouro", "A")) == "10.2.0.9"
	})
	reloadB(publishingB)
	if names := s.gwB.MustRun("irm", "name", "list"); strings.Contains(names, "nas.site-b") {
		t.Errorf("nas.site-b is still in gwB's irmd after the reload removed it:\n%s", names)
	}
	waitFor(t, 20*time.Second, "nas.site-b NXDOMAIN once withdrawn", func() bool {
		return digStatus(digAt(s.hostA, lanBridge, "nas.site-b.ouro", "A")) == "NXDOMAIN"
	})

	// ovpn down withdraws the published names with its own.
	s.gwB.MustRun("ovpn", "down", "site")
	if names := s.gwB.MustRun("irm", "name", "list"); strings.Contains(names, "web.site-b") {
		t.Errorf("web.site-b is still in gwB's irmd after ovpn down:\n%s", names)
	}
}

// TestE2EOvpnDNSPublishedProven: with authentication on, a published
// name's answer must come with a certificate for that name: gwB's irmd
// holds one for web.site-b (irmd.conf [name."web.site-b"], signed by the
// CA gwA trusts), and host A reaches it by name; print.site-b, which gwB
// publishes too but for which its irmd has only gwB's own certificate,
// is REFUSED, and gwA's status says it is not proven.
func TestE2EOvpnDNSPublishedProven(t *testing.T) {
	needDNSTools(t)
	dir := ovpnCerts(t, "gw.site-a", "gw.site-b", "web.site-b")
	s := buildOVPNSites(t)
	s.gwA.cert = irmdCA(dir) + hostCert(dir, "gw.site-a") + nameCert(dir, "gw.site-a", "gw.site-a")
	s.gwB.cert = irmdCA(dir) + hostCert(dir, "gw.site-b") + nameCert(dir, "gw.site-b", "gw.site-b") +
		nameCert(dir, "web.site-b", "web.site-b")
	startCorp(t, s.gwA, s.gwB)
	serveHTTP(t, s.hostB, "hello from web.site-b")
	s.hostA.Etc("resolv.conf", "nameserver "+lanBridge+"\noptions timeout:2 attempts:2\n")
	authOn := func(conf string) string { return strings.Replace(conf, "authenticate = false\n", "", 1) }
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "site", authOn(publishingB)+
		"\n[[publish]]\nname    = \"print.site-b\"\naddress = [\"10.2.0.9\"]\n"))
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", authOn(onDemandA("10m"))))

	var out string
	waitFor(t, 20*time.Second, "host A resolving web.site-b.ouro", func() bool {
		out, _ = s.hostA.Run("getent", "hosts", "web.site-b.ouro")
		return strings.Contains(out, "10.2.0.1") || strings.Contains(out, "fd02::1")
	})
	mustContain(t, s.hostA.MustRun("curl", "-sS", "--max-time", "5", "http://web.site-b.ouro:8080/"), "hello from web.site-b")
	if p := ovpnStatus(t, s.gwA.Node, "site").peer("gw.site-b"); p == nil || !p.Proven {
		t.Fatalf("gwA shows gw.site-b as %+v; want it up and proven", p)
	}

	if out := digAt(s.hostA, lanBridge, "print.site-b.ouro", "A"); digStatus(out) != "REFUSED" {
		t.Fatalf("print.site-b.ouro (no certificate for it): status %q; want REFUSED\n%s", digStatus(out), out)
	}
	mustContain(t, s.gwA.MustRun("ovpn", "status", "site"), "refused print.site-b: ", "the answer for print.site-b is not proven")
	if r := s.gwA.MustRun("ip", "-4", "route", "show", "dev", "ovpn0"); strings.Contains(r, "10.2.0.9") {
		t.Errorf("a route to the unproven host's address:\n%s", r)
	}

	// gwB's irmd restarts: its ovpn attaches again and announces its
	// published names anew. (Host A reaches web.site-b again once gwA
	// finds its flow to gwB dead, 20 s of silence: too long to wait here.)
	s.gwB.restartIRMd(t)
	registered := func(out, name string) bool {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[0] == name && strings.Contains(l, s.gwB.ipcp) {
				return true
			}
		}
		return false
	}
	var names string
	waitFor(t, 20*time.Second, "web.site-b registered again after gwB's irmd restarted", func() bool {
		names, _ = s.gwB.Run("irm", "name", "list")
		return registered(names, "web.site-b") && registered(names, "print.site-b")
	})
	t.Logf("gwB's names after its irmd restarted:\n%s", names)
}
