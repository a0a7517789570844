package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"o7s.dev/ouroboros/internal/netlab"
	"o7s.dev/ouroboros/stack/flow"
	"o7s.dev/ouroboros/stack/qos"
)

// TestE2EAllocFromProvesName runs what ovpn does through real irmds: a
// process registers and binds names through the flow API, and allocates
// as laptop.alice, whose certificate b's irmd.conf holds. a trusts the
// CA and sees laptop.alice proven; c trusts none and sees the
// fingerprint irm cert show prints, for pinning. A certificate from
// another CA is refused by a with the reason at both ends, and nobody
// allocates as a name it is not bound to.
func TestE2EAllocFromProvesName(t *testing.T) {
	dir := t.TempDir()
	irmCert(t, dir,
		"cert ca name corp.ca dir ca",
		"cert issue name laptop.alice ca ca/corp.ca dir certs",
		"cert ca name rogue.ca dir rogue",
		"cert issue name laptop.mallory ca rogue/rogue.ca dir rogue")
	file := func(f string) string { return filepath.Join(dir, f) }

	lab := netlab.New(t, bin)
	a, b, c := lab.Node("a"), lab.Node("b"), lab.Node("c")
	sw := lab.Switch("sw", a, b, c).Subnet("10.1.0.0/24")
	udp := func(i int) string {
		return "\n[udp4.wan]\nbootstrap = \"wan\"\nip = \"" + sw.Ends[i].IP4().String() + "\"\n"
	}
	b.Hosts(map[string]string{"gw": sw.Ends[0].IP4().String(), "gw.c": sw.Ends[2].IP4().String()})
	irmdA := a.StartIRMd("--config", writeConfig(t, "[irmd]\nca = [\""+file("ca/corp.ca.crt")+"\"]\n"+udp(0)))
	b.StartIRMd("--config", writeConfig(t, `
[name."laptop.alice"]
cert = "`+file("certs/laptop.alice.crt")+`"
key = "`+file("certs/laptop.alice.key")+`"

[name."laptop.mallory"]
cert = "`+file("rogue/laptop.mallory.crt")+`"
key = "`+file("rogue/laptop.mallory.key")+`"
`+udp(1)))
	c.StartIRMd("--config", writeConfig(t, udp(2)))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pa, pb, pc := attachNode(t, a), attachNode(t, b), attachNode(t, c)
	for p, name := range map[*flow.Process]string{pa: "gw", pc: "gw.c"} {
		if err := p.Register(ctx, name, "wan"); err != nil {
			t.Fatal(err)
		}
		if err := p.Bind(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"laptop.alice", "laptop.mallory"} {
		if err := pb.Bind(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	fp := fingerprint(t, file("certs/laptop.alice.crt"))
	from := func(srv *flow.Process, dst, name string) (*flow.Flow, *flow.Flow) {
		return flowPairBy(t, ctx, srv, func() (*flow.Flow, error) { return pb.AllocFrom(ctx, dst, name, qos.Raw) })
	}

	w, r := from(pa, "gw", "laptop.alice")
	if got, want := r.Peer(), (flow.Peer{Name: "laptop.alice", Fingerprint: fp, CertName: "laptop.alice"}); got != want {
		t.Errorf("a sees %+v, want %+v", got, want)
	}
	if got := w.Peer(); got != (flow.Peer{}) {
		t.Errorf("b sees gw, which has no certificate, as %+v", got)
	}
	mustContain(t, flowRow(a.MustRun("irm", "flow", "list"), "accept", "gw"), "laptop.alice")

	_, r = from(pc, "gw.c", "laptop.alice")
	if got, want := r.Peer(), (flow.Peer{Fingerprint: fp, CertName: "laptop.alice"}); got != want {
		t.Errorf("c, without a CA, sees %+v, want %+v", got, want)
	}
	mustContain(t, flowRow(c.MustRun("irm", "flow", "list"), "accept", "gw.c"), "fp:"+fp[:len("00:00:00:00")])

	_, err := pb.AllocFrom(ctx, "gw", "laptop.mallory", qos.Raw)
	if !errors.Is(err, flow.ErrNotAllowed) || !strings.Contains(err.Error(), `unknown CA "rogue.ca"`) {
		t.Errorf("allocating as laptop.mallory, of another CA: %v, want refused for its CA", err)
	}
	waitFor(t, 5*time.Second, "a's irmd to log the refusal", func() bool {
		return strings.Contains(irmdA.Output(), "rogue.ca")
	})
	_, err = pb.AllocFrom(ctx, "gw", "laptop.bob", qos.Raw)
	if !errors.Is(err, flow.ErrNotAllowed) || !strings.Contains(err.Error(), "is not bound to laptop.bob: bind it first") {
		t.Errorf("allocating as an unbound name: %v, want refused", err)
	}
}
