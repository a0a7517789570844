package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEnv checks that OVPN_* variables override the file, lists from
// comma-separated strings, and that they supply keys the file lacks.
func TestEnv(t *testing.T) {
	t.Setenv("OVPN_LAYER", "other")
	t.Setenv("OVPN_AUTHENTICATE", "false")
	t.Setenv("OVPN_STATE_DIR", "/srv/ovpn")
	t.Setenv("OVPN_INTERFACE_MTU", "1300")
	t.Setenv("OVPN_INTERFACE_MSS_CLAMP", "true")
	t.Setenv("OVPN_INTERFACE_ADDRESS", "10.9.0.1/24, fd09::1/64")
	t.Setenv("OVPN_ACCEPT_NAMES", "a.*,,b.*")
	t.Setenv("OVPN_ACCEPT_POOL", "10.9.0.128/25")
	t.Setenv("OVPN_ACCEPT_LEASE", "2h")
	t.Setenv("OVPN_INTERFACE_DEVICE", "") // empty: unset, as in viper
	l := mustLoad(t, example)
	if l.Layer != "other" || l.Authenticate || l.StateDir != "/srv/ovpn" || l.Interface.MTU != 1300 || !l.Interface.MSSClamp {
		t.Errorf("scalars not overridden: %+v", l)
	}
	if l.Interface.Device != "ovpn0" {
		t.Errorf("an empty variable overrode device: %q", l.Interface.Device)
	}
	if !slices.Equal(l.Interface.Address, prefixList("10.9.0.1/24", "fd09::1/64")) || !slices.Equal(l.Accept.Pool, prefixList("10.9.0.128/25")) {
		t.Errorf("lists of prefixes not overridden: %v %v", l.Interface.Address, l.Accept.Pool)
	}
	if !slices.Equal(l.Accept.Names, []string{"a.*", "b.*"}) || l.Accept.Lease != 2*time.Hour {
		t.Errorf("accept not overridden: %+v", l.Accept)
	}
	if l.Name != "gw.site-a" || len(l.Peers) != 1 {
		t.Errorf("keys without a variable changed: %+v", l)
	}

	t.Setenv("OVPN_NAME", "from.env")
	l = mustLoad(t, "layer = \"l\"\n[[peer]]\nname = \"b\"\n")
	if l.Name != "from.env" {
		t.Errorf("name from the environment: %q", l.Name)
	}
}

// TestEnvErrors checks that a bad variable's error names the file, the key
// and the variable.
func TestEnvErrors(t *testing.T) {
	for env, want := range map[string]string{
		"OVPN_INTERFACE_MTU":     `[interface] mtu (from $OVPN_INTERFACE_MTU): "abc": want a whole number`,
		"OVPN_AUTHENTICATE":      `authenticate (from $OVPN_AUTHENTICATE): "abc": want true or false`,
		"OVPN_INTERFACE_MODE":    `[interface] mode (from $OVPN_INTERFACE_MODE): "abc": want tun or tap`,
		"OVPN_INTERFACE_ADDRESS": `[interface] address (from $OVPN_INTERFACE_ADDRESS): "abc": not an address`,
		"OVPN_ACCEPT_LEASE":      `[accept] lease (from $OVPN_ACCEPT_LEASE): "abc": want a duration`,
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "abc")
			_, err := load(t, example)
			if err == nil || !strings.Contains(err.Error(), "/gw.toml: "+want) {
				t.Errorf("got %v\nwant FILE: %s", err, want)
			}
		})
	}
}

// TestEnvNames checks the variables' names: OVPN_ and the key's path.
func TestEnvNames(t *testing.T) {
	for _, o := range Options() {
		want := map[string]string{SectionTop: "OVPN_", SectionInterface: "OVPN_INTERFACE_", SectionAccept: "OVPN_ACCEPT_", SectionDNS: "OVPN_DNS_", SectionPeer: "", SectionPublish: ""}[o.Section]
		if want != "" {
			want += strings.ToUpper(o.Key)
		}
		if got := o.Env(); got != want {
			t.Errorf("%s: Env() = %q, want %q", o.Ref(), got, want)
		}
	}
}
