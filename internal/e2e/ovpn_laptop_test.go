package e2e

import (
	"net/netip"
	"testing"
	"time"
)

// TestE2EOVPNLaptop: two laptops behind a NAT enrol in the office's layer
// over udp4, bring ovpn up with no address and each get a different one
// from the office's pool, with which they reach a server on the office
// LAN; the first, reconnecting (ovpn down, up), gets its old address back.
func TestE2EOVPNLaptop(t *testing.T) {
	o := newOVPNOffice(t, "", "", "")
	ovpnUp(t, o.office.Node, writeOVPNConf(t, "office", officeConf(t.TempDir(), "authenticate = false", "")))
	pool := netip.MustParsePrefix("10.77.0.128/25")
	var got []netip.Prefix
	for i, name := range []string{"laptop.alice", "laptop.bob"} {
		l := o.laptops[i]
		start := time.Now()
		ovpnUp(t, l.Node, writeOVPNConf(t, "office", laptopConf(name, "authenticate = false", "")))
		a := grantedAddr(t, l.Node, "office")
		t.Logf("%s got %v %v after ovpn up", name, a, time.Since(start).Round(time.Millisecond))
		if !pool.Contains(a.Addr()) {
			t.Fatalf("%s got %v, outside the office's pool %v", name, a, pool)
		}
		waitPing(t, l.Node, "10.2.0.1", 10*time.Second)
		pingOK(t, l.Node, "10.2.0.1")
		got = append(got, a)
	}
	if got[0].Addr() == got[1].Addr() {
		t.Fatalf("both laptops got %v", got[0])
	}
	st := ovpnStatus(t, o.office.Node, "office")
	for i, name := range []string{"laptop.alice", "laptop.bob"} {
		p := st.peer(name)
		if p == nil || !containsAddr(p.Addrs, got[i].Addr()) {
			t.Errorf("the office's status shows %s as %+v, want it up with %v", name, p, got[i].Addr())
		}
	}

	alice := o.laptops[0]
	alice.MustRun("ovpn", "down", "office")
	ovpnUp(t, alice.Node, writeOVPNConf(t, "office", laptopConf("laptop.alice", "authenticate = false", "")))
	if again := grantedAddr(t, alice.Node, "office"); again.Addr() != got[0].Addr() {
		t.Fatalf("laptop.alice reconnected with %v, want its lease %v back", again, got[0])
	}
	pingOK(t, alice.Node, "10.2.0.1")
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Addr() == a {
			return true
		}
	}
	return false
}
