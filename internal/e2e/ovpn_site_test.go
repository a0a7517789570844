package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
)

// serveHTTP runs a small web server on port 8080 of n (IPv4 and IPv6)
// that answers every request with body, until the test ends.
func serveHTTP(t *testing.T, n *netlab.Node, body string) {
	t.Helper()
	var ln net.Listener
	if err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp", "[::]:8080")
		return err
	}); err != nil {
		t.Fatalf("%s: web server: %v", n.Name, err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// iperfAcross runs a 3-second iperf3 TCP test from client to server's
// address and logs the throughput.
func iperfAcross(t *testing.T, client, server *netlab.Node, addr string) {
	t.Helper()
	server.Start("iperf3", "-s", "-B", addr)
	var out string
	waitFor(t, 10*time.Second, "iperf3's server on "+server.Name, func() bool {
		o, err := server.Run("ss", "-Hltn", "sport", "= :5201")
		return err == nil && strings.Contains(o, "5201")
	})
	out = client.MustRun("iperf3", "-c", addr, "-t", "3", "-f", "m")
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "receiver") {
			t.Logf("iperf3 %s -> %s: %s", client.Name, addr, strings.TrimSpace(l))
			return
		}
	}
	t.Fatalf("iperf3 printed no receiver line:\n%s", out)
}

// TestE2EOVPNSiteToSite: two sites joined by ovpn over a unicast layer on
// udp4; plain hosts on each site's LAN reach each other with IPv4 and
// IPv6 (ping both ways, iperf3 TCP, HTTP with curl) through their default
// routes. `ovpn down` and `ovpn down --all` leave no interface, route,
// name registration or flow behind.
func TestE2EOVPNSiteToSite(t *testing.T) {
	s := newOVPNSites(t)
	start := time.Now()
	ovpnUp(t, s.gwA.Node, writeOVPNConf(t, "site", siteConf("a", "")))
	ovpnUp(t, s.gwB.Node, writeOVPNConf(t, "site", siteConf("b", "")))
	waitPeerUp(t, s.gwA.Node, "site", "gw.site-b", 30*time.Second)
	st := waitPeerUp(t, s.gwB.Node, "site", "gw.site-a", 30*time.Second)
	t.Logf("both links up and peered %v after the first ovpn up", time.Since(start).Round(time.Millisecond))
	if st.Device != "ovpn0" {
		t.Errorf("gwB's status names device %q, want ovpn0", st.Device)
	}
	// Both ends have a [[peer]] entry for the other and both dial: exactly
	// one flow results.
	waitFor(t, 30*time.Second, "one flow between the gateways", func() bool {
		return strings.Count(s.gwA.MustRun("irm", "flow", "list"), "gw.site-") == 1
	})

	for _, c := range []struct {
		from *netlab.Node
		to   string
	}{
		{s.hostA, "10.2.0.1"}, {s.hostA, "fd02::1"},
		{s.hostB, "10.1.0.1"}, {s.hostB, "fd01::1"},
	} {
		waitPing(t, c.from, c.to, 10*time.Second)
		pingOK(t, c.from, c.to)
	}
	serveHTTP(t, s.hostB, "hello from site B")
	for _, url := range []string{"http://10.2.0.1:8080/", "http://[fd02::1]:8080/"} {
		mustContain(t, s.hostA.MustRun("curl", "-sS", "--max-time", "10", url), "hello from site B")
	}
	iperfAcross(t, s.hostA, s.hostB, "10.2.0.1")

	a := ovpnStatus(t, s.gwA.Node, "site").peer("gw.site-b")
	if a == nil || a.TxPackets == 0 || a.RxPackets == 0 {
		t.Fatalf("gwA's status does not count the traffic: %+v", a)
	}

	s.gwA.MustRun("ovpn", "down", "site")
	checkNoLeftovers(t, s.gwA.Node, "ovpn0", "gw.site-a", "gw.site-b")
	if pings(s.hostA, "10.2.0.1") {
		t.Error("hostA still reaches hostB with gwA's link down")
	}
	s.gwB.MustRun("ovpn", "down", "--all")
	checkNoLeftovers(t, s.gwB.Node, "ovpn0", "gw.site-b", "gw.site-a")
}
