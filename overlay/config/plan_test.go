package config

import (
	"slices"
	"strings"
	"testing"
)

func TestPlanExample(t *testing.T) {
	l := mustLoad(t, example)
	want := []string{
		"link gw, from " + l.File,
		"interface ovpn0: tun, addresses 10.77.0.1/24 fd77::1/64, mtu derived from the flows' MaxSDU",
		`register name "gw.site-a" in layer "corp" and accept flows for it`,
		`peer "gw.site-b": dial it (raw QoS, encrypted), routes 10.2.0.0/24; authenticated by a name certificate from a CA irmd trusts`,
		`accept, besides the peers above, names proven by a CA irmd trusts that match "laptop.*"`,
		"hand out addresses from 10.77.0.128/25 to peers that ask, leases of 24h kept in " + StateDir + "/gw.leases",
	}
	if got := l.Plan(); !slices.Equal(got, want) {
		t.Errorf("Plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPlanClientTap checks the lines of a tap client with a pinned peer.
func TestPlanClientTap(t *testing.T) {
	l := mustLoad(t, `name = "laptop.alice"
layer = "corp"
[interface]
mode = "tap"
mtu = 1400
mss_clamp = true
allow_move = true
mac_age = "90s"
[[peer]]
name = "gw.office"
fingerprint = "`+strings.ToLower(fp)+`"
`)
	want := []string{
		"link gw, from " + l.File,
		"interface gw: tap, addresses from a peer's pool, mtu 1400, TCP MSS clamped, MACs age after 1m30s and may move between peers",
		`register name "laptop.alice" in layer "corp" and accept flows for it`,
		`peer "gw.office": dial it (raw QoS, encrypted); authenticated by the pinned certificate fingerprint ` + fp,
		"accept only the peers above",
	}
	if got := l.Plan(); !slices.Equal(got, want) {
		t.Errorf("Plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWarnings checks the warnings: authenticate = false (and the pins it
// makes void), and a default route through a peer.
func TestWarnings(t *testing.T) {
	l := mustLoad(t, `name = "a"
layer = "l"
authenticate = false
[interface]
address = ["10.0.0.1/24"]
[[peer]]
name = "b"
fingerprint = "`+fp+`"
routes = ["0.0.0.0/0"]
[[peer]]
name = "c"
[accept]
names = ["*"]
`)
	w := l.Warnings()
	if len(w) != 3 || !strings.HasPrefix(w[0], "authenticate = false: ") ||
		w[1] != "[[peer]] 1 fingerprint: ignored, as authenticate = false" ||
		!strings.HasPrefix(w[2], `[[peer]] 1 routes: 0.0.0.0/0 sends all IPv4 traffic to "b"`) {
		t.Errorf("warnings: %q", w)
	}
	plan := strings.Join(l.Plan(), "\n")
	for _, s := range []string{
		`peer "b": dial it (raw QoS, encrypted), routes 0.0.0.0/0; not authenticated (authenticate = false; its pinned fingerprint is ignored)`,
		`peer "c": dial it (raw QoS, encrypted); not authenticated (authenticate = false)`,
		`accept, besides the peers above, names claimed (not proven) that match "*"`,
	} {
		if !strings.Contains(plan, s) {
			t.Errorf("Plan lacks %q:\n%s", s, plan)
		}
	}
}
