package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/overlay/mac"
	"o7s.dev/ouroboros/overlay/pool"
	"o7s.dev/ouroboros/overlay/wire"
)

// example is the example file, the contract of the format.
const example = `
name  = "gw.site-a"        # this endpoint's Ouroboros name; registered in layer, accepts flows
layer = "corp"

[interface]
device  = "ovpn0"
mode    = "tun"
address = ["10.77.0.1/24", "fd77::1/64"]
mtu     = 0

[[peer]]
name   = "gw.site-b"
routes = ["10.2.0.0/24"]

[accept]
names = ["laptop.*"]
pool  = "10.77.0.128/25"
`

// write puts text in dir/name and returns its path.
func write(t testing.TB, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// load loads text as the file gw.toml.
func load(t testing.TB, text string) (*Link, error) {
	t.Helper()
	return Load(write(t, "gw.toml", text))
}

func mustLoad(t testing.TB, text string) *Link {
	t.Helper()
	l, err := load(t, text)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return l
}

func prefixList(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func TestLoadExample(t *testing.T) {
	l := mustLoad(t, example)
	if l.Link != "gw" || l.Name != "gw.site-a" || l.Layer != "corp" || !l.Authenticate || l.StateDir != StateDir {
		t.Errorf("top level: %+v", l)
	}
	in := l.Interface
	if in.Device != "ovpn0" || in.Mode != wire.Tun || in.MTU != 0 || in.MSSClamp || in.AllowMove || in.MACAge != mac.DefaultAge {
		t.Errorf("interface: %+v", in)
	}
	if !slices.Equal(in.Address, prefixList("10.77.0.1/24", "fd77::1/64")) {
		t.Errorf("address %v", in.Address)
	}
	if len(l.Peers) != 1 || l.Peers[0].Name != "gw.site-b" || !slices.Equal(l.Peers[0].Routes, prefixList("10.2.0.0/24")) || l.Peers[0].Fingerprint != "" {
		t.Errorf("peers: %+v", l.Peers)
	}
	if l.Peer("gw.site-b") != &l.Peers[0] || l.Peer("x") != nil {
		t.Error("Peer does not find the entry by name")
	}
	a := l.Accept
	if !slices.Equal(a.Names, []string{"laptop.*"}) || !slices.Equal(a.Pool, prefixList("10.77.0.128/25")) || a.Lease != pool.DefaultLease {
		t.Errorf("accept: %+v", a)
	}
	if got := l.LeaseFile(); got != filepath.Join(StateDir, "gw.leases") {
		t.Errorf("LeaseFile %q", got)
	}
	if w := l.Warnings(); len(w) != 0 {
		t.Errorf("warnings for the example: %q", w)
	}
}

// TestLoadDefaults checks the defaults of a minimal client file: the device
// is the link's name, tun, no address (from the pool), authenticated.
func TestLoadDefaults(t *testing.T) {
	l := mustLoad(t, "name = \"laptop.alice\"\nlayer = \"corp\"\n[[peer]]\nname = \"gw.office\"\n")
	in := l.Interface
	if in.Device != "gw" || in.Mode != wire.Tun || len(in.Address) != 0 || in.MTU != 0 || in.MACAge != mac.DefaultAge {
		t.Errorf("interface defaults: %+v", in)
	}
	if !l.Authenticate || l.StateDir != StateDir || l.Accept.Lease != pool.DefaultLease || len(l.Accept.Names) != 0 {
		t.Errorf("defaults: %+v", l)
	}
}

// TestLoadFull sets every key to a value other than its default.
func TestLoadFull(t *testing.T) {
	fp := strings.Repeat("ab:", 31) + "ab"
	l := mustLoad(t, `
name = "a"
layer = "l"
authenticate = true
state_dir = "/tmp/x/../state"
[interface]
device = "tap9"
mode = "tap"
address = ["10.0.0.1/24"]
mtu = 1400
mss_clamp = true
allow_move = true
mac_age = "90s"
[[peer]]
name = "b"
fingerprint = "`+fp+`"
[[peer]]
name = "c"
[accept]
names = ["x.*", "y?"]
pool = ["10.0.0.128/25"]
lease = "1h"
`)
	want := Link{File: l.File, Link: "gw", Name: "a", Layer: "l", Authenticate: true, StateDir: "/tmp/state",
		Interface: Interface{Device: "tap9", Mode: wire.Tap, Address: prefixList("10.0.0.1/24"), MTU: 1400, MSSClamp: true, AllowMove: true, MACAge: 90 * time.Second},
		Peers:     []Peer{{Name: "b", Fingerprint: strings.ToUpper(fp)}, {Name: "c"}},
		Accept:    Accept{Names: []string{"x.*", "y?"}, Pool: prefixList("10.0.0.128/25"), Lease: time.Hour}}
	if !equalLinks(l, &want) {
		t.Errorf("got  %+v\nwant %+v", *l, want)
	}
}

func equalLinks(a, b *Link) bool {
	return a.File == b.File && a.Link == b.Link && a.Name == b.Name && a.Layer == b.Layer &&
		a.Authenticate == b.Authenticate && a.StateDir == b.StateDir &&
		slices.Equal(a.Interface.Address, b.Interface.Address) &&
		a.Interface.Device == b.Interface.Device && a.Interface.Mode == b.Interface.Mode &&
		a.Interface.MTU == b.Interface.MTU && a.Interface.MSSClamp == b.Interface.MSSClamp &&
		a.Interface.AllowMove == b.Interface.AllowMove && a.Interface.MACAge == b.Interface.MACAge &&
		slices.EqualFunc(a.Peers, b.Peers, func(p, q Peer) bool {
			return p.Name == q.Name && p.Fingerprint == q.Fingerprint && slices.Equal(p.Routes, q.Routes)
		}) &&
		slices.Equal(a.Accept.Names, b.Accept.Names) && slices.Equal(a.Accept.Pool, b.Accept.Pool) &&
		a.Accept.Lease == b.Accept.Lease
}

func TestPath(t *testing.T) {
	for arg, want := range map[string]string{
		"gw":            Dir + "/gw.toml",
		"gw.site-a":     Dir + "/gw.site-a.toml",
		"gw.toml":       "gw.toml",
		"./gw":          "./gw",
		"/etc/x/y.toml": "/etc/x/y.toml",
		"":              "",
	} {
		if got := Path(arg); got != want {
			t.Errorf("Path(%q) = %q, want %q", arg, got, want)
		}
	}
}

func TestCheckLink(t *testing.T) {
	for _, ok := range []string{"gw", "gw.site-a", "a_b-c.1", "0", strings.Repeat("a", maxLink)} {
		if err := CheckLink(ok); err != nil {
			t.Errorf("CheckLink(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".x", "-x", "_x", "a b", "a/b", "ä", strings.Repeat("a", maxLink+1)} {
		if err := CheckLink(bad); err == nil {
			t.Errorf("CheckLink(%q) accepted it", bad)
		}
	}
}

// TestLoadFile checks the errors about the file itself: each names it.
func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	big := write(t, "big.toml", "# "+strings.Repeat("x", maxFile))
	cases := map[string]string{
		filepath.Join(dir, "none.toml"): "no such file",
		write(t, "gw.conf", example):    "NAME.toml",
		write(t, "-gw.toml", example):   "does not begin",
		write(t, "gw.toml", "name = "):  "line 1",
		big:                             "larger than",
		dir + "/":                       "NAME.toml",
	}
	for path, want := range cases {
		_, err := Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v, want an error naming the file and %q", path, err, want)
		}
	}
}

// TestDeviceDefault checks that the device defaults to the link's name,
// and that a link name too long for an interface asks for a device.
func TestDeviceDefault(t *testing.T) {
	const client = "name = \"a\"\nlayer = \"l\"\n[[peer]]\nname = \"b\"\n"
	path := write(t, "site-a-to-site-b.toml", client)
	_, err := Load(path)
	want := path + `: [interface] device: not set, and the link's name "site-a-to-site-b" is not an interface name (at most 15 bytes); set it`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	l, err := Load(write(t, "site-a-to-site-b.toml", client+"[interface]\ndevice = \"ovpn1\"\n"))
	if err != nil || l.Interface.Device != "ovpn1" || l.Link != "site-a-to-site-b" {
		t.Errorf("with a device: %v %+v", err, l)
	}
}

// TestOwner checks that a file every user may write, or that another user
// owns, is refused: it says who may dial in.
func TestOwner(t *testing.T) {
	path := write(t, "gw.toml", example)
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": writable by every user (mode -rw-rw-rw-)") {
		t.Errorf("world-writable file: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("mode 0644: %v", err)
	}
	if os.Geteuid() != 0 {
		return // only root can give the file to another user
	}
	if err := os.Chown(path, 4242, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": owned by uid 4242, who could change it") {
		t.Errorf("file of another user: %v", err)
	}
}
