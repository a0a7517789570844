package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/link"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// testStatus is gw.a with gw.c up and gw.b connecting.
func testStatus() linkStatus {
	st := link.Status{Device: "ovpn0", Mode: "tun", MTU: 1380, Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")},
		Drops: map[string]uint64{"no-route": 3},
		Peers: []link.PeerStatus{{Name: "gw.c", Proven: true, Dialled: true,
			Addrs:  []netip.Prefix{netip.MustParsePrefix("10.77.0.3/32")},
			Routes: []netip.Prefix{netip.MustParsePrefix("10.3.0.0/24")},
			Since:  t0.Add(-time.Hour), LastRx: t0.Add(-2 * time.Second), RTT: 1234 * time.Microsecond,
			RxBytes: 3 << 20, RxPackets: 2500, TxBytes: 512, TxPackets: 4,
			Drops: map[string]uint64{"spoofed": 7, "malformed": 1}}}}
	return mergeStatus(testConfig(), st, func(name string) (string, time.Time) {
		if name == "gw.b" {
			return "name unreachable", t0.Add(4 * time.Second)
		}
		return "", time.Time{}
	})
}

func TestMergeStatus(t *testing.T) {
	ls := testStatus()
	if len(ls.Peers) != 2 || ls.Peers[0].Name != "gw.b" || ls.Peers[1].Name != "gw.c" {
		t.Fatalf("peers %+v; want gw.b then gw.c", ls.Peers)
	}
	b := ls.Peers[0]
	if b.State != "connecting" || b.LastError != "name unreachable" || prefixes(b.Routes) != "10.2.0.0/24" || b.Proven {
		t.Fatalf("gw.b = %+v", b)
	}
	if c := ls.Peers[1]; c.State != "up" || !c.Proven || c.RxPackets != 2500 {
		t.Fatalf("gw.c = %+v", c)
	}
	if ls.Link != "a" || ls.Name != "gw.a" || ls.Layer != "corp" || ls.Device != "ovpn0" {
		t.Fatalf("link fields %+v", ls)
	}
}

func TestStatusJSONRoundTrip(t *testing.T) {
	ls := testStatus()
	b, err := json.Marshal(ls)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"link":"a"`, `"device":"ovpn0"`, `"state":"connecting"`, `"last_error":"name unreachable"`,
		`"proven":true`, `"rx_bytes":3145728`, `"spoofed":7`, `"rtt_ns":1234000`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	var back linkStatus
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Peers) != 2 || back.Peers[1].RTT != ls.Peers[1].RTT || back.Peers[1].Drops["spoofed"] != 7 {
		t.Fatalf("round trip lost data: %+v", back.Peers)
	}
}

func TestPrintStatus(t *testing.T) {
	var b strings.Builder
	printStatus(&b, testStatus(), t0)
	out := b.String()
	for _, want := range []string{
		"link a: gw.a in layer corp (peers' names proven by certificate)",
		"interface ovpn0 (tun), mtu 1380, addresses 10.77.0.1/24",
		"dropped from the interface: no-route=3",
		"PEER", "gw.c", "up", "yes", "10.77.0.3/32", "10.3.0.0/24", "3.0MiB/2500", "512B/4", "2s ago", "1.23ms",
		"malformed=1,spoofed=7",
		"gw.b: name unreachable (next attempt in 4s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	ls := testStatus()
	ls.Authenticate = false
	b.Reset()
	printStatus(&b, ls, t0)
	if !strings.Contains(b.String(), "authenticate = false") {
		t.Errorf("an unauthenticated link does not say so:\n%s", b.String())
	}
}
